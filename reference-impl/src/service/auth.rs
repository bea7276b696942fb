//! Reading credentials: the workspace API key on ingest, the admin token on the conformance API.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::Refusal;

/// The API key from an ingest request. Segment sends `Basic base64(key + ":")`; Kana's older
/// webhook setup sent the bare key as the whole header value. Both are accepted.
pub(crate) fn api_key(authorization: Option<&str>) -> Result<String, Refusal> {
    let Some(value) = authorization else {
        return Err(unauthorized(
            "missing `Authorization` header: send the workspace API key as the Basic auth user \
             name with an empty password",
        ));
    };
    let value = value.trim();

    let key = match strip_scheme(value, "Basic") {
        Some(encoded) => {
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    unauthorized("`Authorization` header: Basic credentials are not valid base64")
                })?;
            match decoded.split_once(':') {
                Some((user, _password)) => user.to_owned(),
                None => decoded,
            }
        }
        None => value.to_owned(),
    };
    if key.is_empty() {
        return Err(unauthorized("`Authorization` header holds an empty API key"));
    }
    Ok(key)
}

/// Checks `Authorization: Bearer <admin token>` on a conformance request.
pub(crate) fn check_admin(authorization: Option<&str>, expected: &str) -> Result<(), Refusal> {
    let presented =
        authorization.and_then(|value| strip_scheme(value.trim(), "Bearer")).map(str::trim);
    match presented {
        None => Err(unauthorized(
            "missing admin credential: send `Authorization: Bearer <admin token>`",
        )),
        Some(token) if constant_time_eq(token.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(unauthorized("admin token does not match")),
    }
}

fn unauthorized(message: &str) -> Refusal {
    Refusal::new(401, message)
}

/// Strips an auth scheme such as `Basic` case-insensitively, with the space after it.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (head, rest) = value.split_once(' ')?;
    head.eq_ignore_ascii_case(scheme).then_some(rest)
}

/// Compares secrets without stopping at the first differing byte.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0, |acc, (a, b)| acc | (a ^ b)) == 0
}
