//! Finding `analytics.identify(…)` and `analytics.track(…)` calls in JavaScript and reading
//! their arguments.
//!
//! Documentation examples are JavaScript, not JSON: keys go unquoted, strings take single quotes,
//! lists end with a trailing comma, and comments sit between fields. A small scanner finds each
//! call and its top-level arguments, skipping strings and comments; each argument is then read by
//! a JSON5 parser, which accepts exactly that dialect of object literals. An argument that is not
//! a literal (a variable, a function call) cannot be run, and is reported as such.

use serde_json::Value;

/// The analytics.js methods the destination receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Identify,
    Track,
}

/// One call found in a code block.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: Method,
    /// Byte offset of `analytics` in the code.
    pub offset: usize,
    /// The call as written, from `analytics` to the closing parenthesis.
    pub source: String,
    /// The arguments, callbacks left out, or why one of them cannot be read.
    pub arguments: Result<Vec<Value>, String>,
}

/// Every identify and track call in `code`, in order.
pub fn calls(code: &str) -> Vec<Call> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if let Some(skip) = skip_literal_or_comment(code, index) {
            index = skip;
            continue;
        }
        match call_at(code, index) {
            Some((call, end)) => {
                found.push(call);
                index = end;
            }
            None => index += 1,
        }
    }
    found
}

/// Recognises `analytics . identify|track (` at `start`, and reads the call up to its `)`.
fn call_at(code: &str, start: usize) -> Option<(Call, usize)> {
    let rest = code.get(start..)?;
    let preceded_by_word = code[..start].chars().next_back().is_some_and(is_identifier);
    if preceded_by_word || !rest.starts_with("analytics") {
        return None;
    }
    let mut cursor = start + "analytics".len();
    cursor = skip_space(code, cursor);
    cursor = code[cursor..].starts_with('.').then_some(cursor + 1)?;
    cursor = skip_space(code, cursor);
    let (method, name) = [(Method::Identify, "identify"), (Method::Track, "track")]
        .into_iter()
        .find(|(_, name)| code[cursor..].starts_with(name))?;
    cursor = skip_space(code, cursor + name.len());
    cursor = code[cursor..].starts_with('(').then_some(cursor + 1)?;

    let (pieces, end) = split_arguments(code, cursor)?;
    let arguments = pieces
        .iter()
        .enumerate()
        .filter(|(_, piece)| !is_callback(piece))
        .map(|(position, piece)| argument(piece, position + 1))
        .collect();
    let call = Call { method, offset: start, source: code[start..end].to_owned(), arguments };
    Some((call, end))
}

/// Splits the text after `(` into top-level arguments; returns them and the offset after `)`.
fn split_arguments(code: &str, open: usize) -> Option<(Vec<String>, usize)> {
    let mut depth = 0usize;
    let mut pieces = Vec::new();
    let mut piece_start = open;
    let mut index = open;
    while index < code.len() {
        if let Some(skip) = skip_literal_or_comment(code, index) {
            index = skip;
            continue;
        }
        match code.as_bytes()[index] {
            b'(' | b'{' | b'[' => depth += 1,
            b')' if depth == 0 => {
                pieces.push(code[piece_start..index].to_owned());
                pieces.retain(|piece| !piece.trim().is_empty());
                return Some((pieces, index + 1));
            }
            b')' | b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                pieces.push(code[piece_start..index].to_owned());
                piece_start = index + 1;
            }
            _ => {}
        }
        index += 1;
    }
    None
}

fn argument(piece: &str, position: usize) -> Result<Value, String> {
    let text = piece.trim();
    if text == "undefined" {
        return Ok(Value::Null);
    }
    if let Some(inner) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        if !inner.contains("${") {
            return Ok(Value::String(inner.to_owned()));
        }
    }
    json5::from_str::<Value>(text).map_err(|_| {
        let shown: String = text.chars().take(40).collect();
        format!(
            "argument {position} (`{shown}`) is not a literal, so the example cannot run as written"
        )
    })
}

fn is_callback(piece: &str) -> bool {
    let text = piece.trim();
    text.starts_with("function") || text.starts_with("async") || arrow_at_top(text)
}

fn arrow_at_top(text: &str) -> bool {
    text.starts_with('(') && text.contains("=>")
        || text.split_once("=>").is_some_and(|(head, _)| head.trim().chars().all(is_identifier))
}

/// If `index` opens a string, template literal or comment, the offset just after it.
fn skip_literal_or_comment(code: &str, index: usize) -> Option<usize> {
    let bytes = code.as_bytes();
    match bytes[index] {
        quote @ (b'\'' | b'"' | b'`') => {
            let mut cursor = index + 1;
            while cursor < bytes.len() && bytes[cursor] != quote {
                cursor += if bytes[cursor] == b'\\' { 2 } else { 1 };
            }
            Some((cursor + 1).min(bytes.len()))
        }
        b'/' if bytes.get(index + 1) == Some(&b'/') => {
            Some(code[index..].find('\n').map_or(bytes.len(), |end| index + end))
        }
        b'/' if bytes.get(index + 1) == Some(&b'*') => {
            Some(code[index + 2..].find("*/").map_or(bytes.len(), |end| index + 2 + end + 2))
        }
        _ => None,
    }
}

fn skip_space(code: &str, mut index: usize) -> usize {
    while code[index..].starts_with(char::is_whitespace) {
        index += code[index..].chars().next().map_or(1, char::len_utf8);
    }
    index
}

fn is_identifier(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}
