//! The harness of the executable specification of Kana's Segment destination.
//!
//! It reads scenarios (`scenarios/*.yaml`), generates realistic Segment messages for them from a
//! seeded RNG, delivers them to a [`target::Target`] (the reference destination in-process, or any
//! implementation over HTTP), and renders what happened (each step's answer and the final
//! canonical state) as text that is compared with the reviewed snapshots in `snapshots/`.

pub mod certify;
pub mod docs;
pub mod families;
pub mod generate;
mod prepare;
pub mod render;
pub mod run;
pub mod scenario;
pub mod simulate;
pub mod snapshot;
pub mod target;

use std::path::PathBuf;

/// The repository's root folder, where `scenarios/` and `snapshots/` live.
pub fn repository_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the harness sits in the repository")
        .to_owned()
}
