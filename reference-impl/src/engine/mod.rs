//! One Kana workspace as a deterministic state machine.
//!
//! A [`Workspace`] accepts four commands: ingest a Segment message, create a feature, create a
//! mapping rule, and import billing customers. Each command either changes the workspace and
//! reports what it did, or is rejected with a reason and changes nothing. There is no clock and no
//! randomness here, so replaying the same commands always yields the same [`CanonicalState`].

mod error;
mod faults;
mod message;
mod rule;
mod state;
mod track;
mod users;
mod workspace;

pub use error::{CommandError, IngestError};
pub use faults::Faults;
pub use message::{
    Identify, MAX_MESSAGE_BYTES, MAX_MESSAGE_ID_CHARS, Message, Track, parse_message,
};
pub use rule::{Condition, RuleSpec};
pub use state::{
    CanonicalState, EventCounts, Flags, SharedEmail, UnmappedEvent, UnmappedReason, UserState,
};
pub use track::TrackOutcome;
pub use users::{BillingCustomer, IdentifyOutcome};
pub use workspace::{FeatureCreated, ImportSummary, Ingested, RuleCreated, Workspace};
