//! Reading reviewed snapshots, and showing how a rendering differs from one.
//!
//! Snapshots are insta's `.snap` files: a `---`-fenced header of metadata, then the rendering.
//! Certification reads them here instead of through insta's assertion macros, because it judges
//! another implementation against them and must never write one.

use std::path::{Path, PathBuf};

use similar::{ChangeTag, TextDiff};

/// Why a snapshot could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error(
        "{path}: no reviewed snapshot; run `cargo test` and review it with `cargo insta review`"
    )]
    Missing { path: String },
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not an insta snapshot: the `---` header is missing")]
    Malformed { path: String },
}

/// Where the snapshot of a scenario lives.
pub fn path(dir: &Path, scenario: &str) -> PathBuf {
    dir.join(format!("{scenario}.snap"))
}

/// The rendering stored in a snapshot file, without its header.
pub fn read(path: &Path) -> Result<String, SnapshotError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => SnapshotError::Missing { path: shown.clone() },
        _ => SnapshotError::Io { path: shown.clone(), source },
    })?;
    let text = text.replace("\r\n", "\n");
    let body = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(_header, body)| body.to_owned())
        .ok_or(SnapshotError::Malformed { path: shown })?;
    Ok(body)
}

/// Whether a rendering matches a snapshot; trailing white space does not count.
pub fn matches(expected: &str, actual: &str) -> bool {
    expected.trim_end() == actual.trim_end()
}

/// One line of a diff between the snapshot and what the target produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffLine<'a> {
    /// A hunk header such as `@@ -3,7 +3,7 @@`.
    Hunk(&'a str),
    Same(&'a str),
    /// In the snapshot, not in the target's result.
    Expected(&'a str),
    /// In the target's result, not in the snapshot.
    Actual(&'a str),
}

/// A unified diff, snapshot (`-`) first, with three lines of context around each change.
pub fn diff(expected: &str, actual: &str) -> String {
    let (expected, actual) = (expected.trim_end(), actual.trim_end());
    let diff = TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for group in diff.grouped_ops(3) {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old = first.old_range().start..last.old_range().end;
        let new = first.new_range().start..last.new_range().end;
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            old.start + 1,
            old.len(),
            new.start + 1,
            new.len()
        ));
        for op in &group {
            for change in diff.iter_changes(op) {
                let sign = match change.tag() {
                    ChangeTag::Equal => ' ',
                    ChangeTag::Delete => '-',
                    ChangeTag::Insert => '+',
                };
                out.push(sign);
                out.push_str(change.value().trim_end_matches('\n'));
                out.push('\n');
            }
        }
    }
    out
}

/// Classifies a line of [`diff`]'s output, for colouring.
pub fn classify(line: &str) -> DiffLine<'_> {
    match line.as_bytes().first() {
        Some(b'@') => DiffLine::Hunk(line),
        Some(b'-') => DiffLine::Expected(line),
        Some(b'+') => DiffLine::Actual(line),
        _ => DiffLine::Same(line),
    }
}

/// Writes a snapshot in insta's format for a rendering nobody has reviewed yet, such as the
/// reference's result on a simulated scenario, so that certification can judge targets against it
/// before a person moves it into `snapshots/`.
pub fn write_pending(
    path: &Path,
    source: &str,
    description: &str,
    rendering: &str,
) -> std::io::Result<()> {
    // A JSON string is a valid YAML scalar, whatever the description holds.
    let description = serde_json::to_string(description).expect("a string always serialises");
    let rendering = rendering.trim_end();
    std::fs::write(
        path,
        format!("---\nsource: {source}\ndescription: {description}\n---\n{rendering}\n"),
    )
}
