//! The reference implementation of Kana's Segment destination.
//!
//! Segment forwards a customer's Identify and Track messages to Kana; this crate turns them into
//! users and feature usage exactly as the specification in `docs/` describes. It has two layers:
//!
//! - [`engine`]: a pure, deterministic model of one Kana workspace. Its state is a function of the
//!   commands applied to it and nothing else, so it can be snapshotted and compared.
//! - [`service`]: the HTTP face of the engine, speaking Segment's partner protocol on
//!   `/segment/events` and the conformance API on `/conformance`.
//!
//! The engine favours clarity over cleverness, but it is indexed so that the cost of each command
//! grows with the work it does, not with the number of stored events.

pub mod engine;
pub mod service;

pub use engine::{CanonicalState, Workspace};
