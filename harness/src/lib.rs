//! The harness placeholder; see `main.rs`.
