//! Reading a Segment message into the two shapes the destination understands.
//!
//! Validation walks a parsed JSON value by hand rather than deriving a typed struct: that costs a
//! little speed but lets every refusal name the exact field and describe what was found there,
//! which is what a customer reading Segment's delivery debugger needs. Fields the destination does
//! not use are ignored, whatever their type, and an explicit `null` always means "not given".
//! Identifiers (`messageId`, `userId`, `event`, `featureId`) are taken exactly as sent, never
//! trimmed, but must not be blank; mapped traits are display values and are trimmed.

use serde_json::{Map, Value};

use super::error::IngestError;

/// Segment never sends a message larger than this; anything bigger is refused with 413.
pub const MAX_MESSAGE_BYTES: usize = 32 * 1024;

/// Segment's own limit on the length of a `messageId`.
pub const MAX_MESSAGE_ID_CHARS: usize = 100;

/// A validated message of a supported type.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Identify(Identify),
    Track(Track),
}

impl Message {
    /// The delivery identity Segment keeps across retries.
    pub fn message_id(&self) -> &str {
        match self {
            Self::Identify(identify) => &identify.message_id,
            Self::Track(track) => &track.message_id,
        }
    }
}

/// An Identify message, reduced to the fields the destination maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identify {
    pub message_id: String,
    pub user_id: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub billing_id: Option<String>,
}

/// A Track message, reduced to what usage recording and mapping rules need.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub message_id: String,
    pub user_id: String,
    pub event: String,
    pub feature_id: Option<String>,
    pub delta: i64,
    pub properties: Map<String, Value>,
}

/// Checks the size, parses the JSON and validates one Segment message.
pub fn parse_message(body: &[u8]) -> Result<Message, IngestError> {
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(IngestError::TooLarge { limit: MAX_MESSAGE_BYTES });
    }
    let value: Value = serde_json::from_slice(body).map_err(|error| {
        tracing::debug!(%error, "refused a body that is not JSON");
        IngestError::InvalidJson
    })?;
    let Value::Object(mut fields) = value else {
        return Err(IngestError::NotAnObject(describe(&value)));
    };

    // The type decides everything else, and an unsupported type is answered 501 whatever the rest
    // of the message holds, so Segment stops sending that type rather than retrying it.
    let kind = required_string(&fields, "type", "type")?;
    if kind.trim().is_empty() {
        return Err(IngestError::field("type", "must not be blank"));
    }
    match kind.as_str() {
        "identify" => parse_identify(&mut fields).map(Message::Identify),
        "track" => parse_track(&mut fields).map(Message::Track),
        _ => Err(IngestError::UnsupportedType(kind)),
    }
}

fn parse_identify(fields: &mut Map<String, Value>) -> Result<Identify, IngestError> {
    let message_id = message_id(fields)?;
    let user_id = user_id(fields, "an identify")?;
    let traits = optional_object(fields, "traits", "traits")?;
    let trait_field = |key: &str| -> Result<Option<String>, IngestError> {
        let Some(traits) = &traits else { return Ok(None) };
        optional_trimmed(traits.get(key), &format!("traits.{key}"))
    };
    Ok(Identify {
        message_id,
        user_id,
        name: trait_field("name")?,
        email: trait_field("email")?,
        billing_id: trait_field("billingUserId")?,
    })
}

fn parse_track(fields: &mut Map<String, Value>) -> Result<Track, IngestError> {
    let message_id = message_id(fields)?;
    let user_id = user_id(fields, "a track")?;
    let event = required_string(fields, "event", "event")?;
    if event.trim().is_empty() {
        return Err(IngestError::field("event", "must not be blank"));
    }
    let properties = optional_object(fields, "properties", "properties")?.unwrap_or_default();
    let feature_id = feature_id(properties.get("featureId"))?;
    let delta = delta(properties.get("delta"))?;
    Ok(Track { message_id, user_id, event, feature_id, delta, properties })
}

fn message_id(fields: &Map<String, Value>) -> Result<String, IngestError> {
    let id = required_string(fields, "messageId", "messageId")?;
    let chars = id.chars().count();
    if id.trim().is_empty() {
        return Err(IngestError::field("messageId", "must not be blank"));
    }
    if chars > MAX_MESSAGE_ID_CHARS {
        return Err(IngestError::field(
            "messageId",
            format!("must be at most {MAX_MESSAGE_ID_CHARS} characters, got {chars}"),
        ));
    }
    Ok(id)
}

/// Both supported types need a known user: anonymous traffic has nobody to bill.
fn user_id(fields: &Map<String, Value>, what: &str) -> Result<String, IngestError> {
    let anonymous = !is_absent(fields.get("anonymousId"));
    match fields.get("userId") {
        None | Some(Value::Null) if anonymous => Err(IngestError::field(
            "userId",
            format!(
                "is required: {what} with only an `anonymousId` cannot be attributed to a user, \
                 so it is not stored"
            ),
        )),
        None | Some(Value::Null) => Err(IngestError::field("userId", "is required")),
        Some(Value::String(id)) if id.trim().is_empty() => {
            Err(IngestError::field("userId", "must not be blank"))
        }
        Some(Value::String(id)) => Ok(id.clone()),
        Some(other) => Err(must_be("userId", "a string", other)),
    }
}

fn feature_id(value: Option<&Value>) -> Result<Option<String>, IngestError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(id)) if id.trim().is_empty() => {
            Err(IngestError::field("properties.featureId", "must not be blank"))
        }
        Some(Value::String(id)) => Ok(Some(id.clone())),
        Some(other) => Err(must_be("properties.featureId", "a string", other)),
    }
}

/// Usage is counted in whole units, as Kana's usage API takes them. A whole number is accepted as
/// a JSON integer, as a JSON number with a zero fraction (`2.0`), or as a string holding digits
/// with an optional sign and zero fraction (`"3"`, `" -2 "`, `"2.0"`). A fraction would have to be
/// rounded into a different bill, so it is refused, and so is anything the 64-bit usage counter
/// cannot hold.
fn delta(value: Option<&Value>) -> Result<i64, IngestError> {
    const FIELD: &str = "properties.delta";
    let out_of_range =
        || IngestError::field(FIELD, format!("must be between {} and {}", i64::MIN, i64::MAX));
    let not_whole =
        |shown: String| IngestError::field(FIELD, format!("must be a whole number, got {shown}"));
    match value {
        None | Some(Value::Null) => Ok(1),
        Some(Value::Number(number)) => {
            if let Some(whole) = number.as_i64() {
                return Ok(whole);
            }
            let float = number.as_f64().unwrap_or(f64::NAN);
            if !float.is_finite() || float.fract() != 0.0 {
                return Err(not_whole(number.to_string()));
            }
            // Both bounds are exclusive: `i64::MAX as f64` rounds up to 2^63, out of range, and
            // a float at -2^63 may be a value from below the range, rounded.
            let in_range = float > i64::MIN as f64 && float < i64::MAX as f64;
            if in_range { Ok(float as i64) } else { Err(out_of_range()) }
        }
        Some(Value::String(text)) => match whole_number_text(text.trim()) {
            Some(Some(whole)) => Ok(whole),
            Some(None) => Err(out_of_range()),
            None => Err(not_whole(describe(value.unwrap_or(&Value::Null)))),
        },
        Some(other) => Err(must_be(FIELD, "a whole number", other)),
    }
}

/// Reads `-12`, `+4` or `2.000` exactly, without going through a float: `Some(None)` for a whole
/// number too large for 64 bits, `None` for anything that is not a whole number written out.
fn whole_number_text(text: &str) -> Option<Option<i64>> {
    let (integer, fraction) = match text.split_once('.') {
        Some((integer, fraction)) => (integer, Some(fraction)),
        None => (text, None),
    };
    let digits = integer.strip_prefix(['+', '-']).unwrap_or(integer);
    let whole_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let zero_fraction = fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b == b'0'));
    (whole_digits && zero_fraction).then(|| integer.parse::<i64>().ok())
}

fn required_string(
    fields: &Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<String, IngestError> {
    match fields.get(key) {
        None | Some(Value::Null) => Err(IngestError::field(field, "is required")),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(other) => Err(must_be(field, "a string", other)),
    }
}

fn optional_object(
    fields: &mut Map<String, Value>,
    key: &str,
    field: &str,
) -> Result<Option<Map<String, Value>>, IngestError> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(object)) => Ok(Some(object)),
        Some(other) => Err(must_be(field, "an object", &other)),
    }
}

/// A mapped trait: a string, trimmed; blank or `null` means the trait was not given.
fn optional_trimmed(value: Option<&Value>, field: &str) -> Result<Option<String>, IngestError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let trimmed = text.trim();
            Ok((!trimmed.is_empty()).then(|| trimmed.to_owned()))
        }
        Some(other) => Err(must_be(field, "a string", other)),
    }
}

fn is_absent(value: Option<&Value>) -> bool {
    matches!(value, None | Some(Value::Null))
}

fn must_be(field: &str, expected: &str, found: &Value) -> IngestError {
    IngestError::field(field, format!("must be {expected}, got {}", describe(found)))
}

/// Describes a JSON value for an error message: its kind, and the value itself when short.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) if text.chars().count() <= 40 => {
            format!("the string {}", Value::from(text.as_str()))
        }
        Value::String(_) => "a long string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}
