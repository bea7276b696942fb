//! Why a command was refused.
//!
//! Every refusal names the field at fault and the reason, in a sentence fragment that Segment can
//! show verbatim in its delivery debugger. Each error also knows the HTTP status it is answered
//! with, because that status decides whether Segment retries the message.

use thiserror::Error;

/// Why a Segment message was refused. A refused message changes nothing in the workspace.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IngestError {
    /// The body is larger than Segment's own limit for one message.
    #[error("message is over the limit of {limit} bytes")]
    TooLarge { limit: usize },

    /// The body is not JSON at all. The parser's own account of where it failed is logged, not
    /// answered: it differs from one JSON library to the next, and the answer is a contract.
    #[error("body is not valid JSON")]
    InvalidJson,

    /// The body is JSON, but not an object.
    #[error("body must be a JSON object, got {0}")]
    NotAnObject(String),

    /// A field is missing, has the wrong type or an impossible value.
    #[error("`{field}` {problem}")]
    InvalidField { field: String, problem: String },

    /// A well-formed message of a type this destination does not handle.
    #[error("message type `{0}` is not supported: this destination accepts `identify` and `track`")]
    UnsupportedType(String),
}

impl IngestError {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), problem: problem.into() }
    }

    /// The HTTP status Segment's partner protocol prescribes for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::TooLarge { .. } => 413,
            Self::InvalidJson | Self::NotAnObject(_) | Self::InvalidField { .. } => 400,
            Self::UnsupportedType(_) => 501,
        }
    }
}

/// Why a conformance command (feature, rule, billing import) was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CommandError {
    /// A field of the command is missing or invalid.
    #[error("`{field}` {problem}")]
    InvalidField { field: String, problem: String },
}

impl CommandError {
    pub(crate) fn field(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::InvalidField { field: field.into(), problem: problem.into() }
    }
}
