//! Reading a Markdown document the way a documentation checker needs it: the JavaScript code
//! blocks with the line each starts on, the headings links can point at, the in-document links,
//! and the field tables.
//!
//! Real documentation is rarely plain CommonMark. Before parsing, markup that other tools add is
//! blanked out line for line (so line numbers stay true): Liquid tags (`{% … %}`), kramdown
//! attribute lists on their own line (`{: .note}`), and HackMD container fences (`:::info`).
//! YAML front matter and `{#id}` heading attributes are understood by the parser itself.

use std::collections::BTreeSet;

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// A fenced code block in a language that can call analytics.js.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeBlock {
    /// The code, as the parser hands it over (blockquote markers removed).
    pub code: String,
    /// For each byte of `code`, where it sits in the document: pieces of (code offset, source
    /// offset), sorted, so a position in the code maps back to a document line.
    pieces: Vec<(usize, usize)>,
}

/// A link to a heading of the same document: `[text](#anchor)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub anchor: String,
    pub line: usize,
}

/// Where a field table row names a field: a trait, a property, or a top-level field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FieldKind {
    Trait,
    Property,
    TopLevel,
}

/// A field named in the first column of a field table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ListedField {
    pub kind: FieldKind,
    pub name: String,
    pub line: usize,
}

/// What the checker needs from one document.
#[derive(Debug, Clone, Default)]
pub struct Document {
    pub code_blocks: Vec<CodeBlock>,
    pub anchors: BTreeSet<String>,
    pub links: Vec<Link>,
    pub fields: Vec<ListedField>,
    line_starts: Vec<usize>,
}

const CODE_LANGUAGES: &[&str] =
    &["js", "javascript", "jsx", "mjs", "cjs", "ts", "typescript", "tsx", "html"];

impl Document {
    pub fn parse(source: &str) -> Self {
        let text = blank_foreign_markup(source);
        let mut document = Self { line_starts: line_starts(&text), ..Self::default() };
        document.anchors = html_anchors(&text);

        let options = Options::ENABLE_TABLES
            | Options::ENABLE_HEADING_ATTRIBUTES
            | Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
            | Options::ENABLE_STRIKETHROUGH;
        let mut walker = Walker::default();
        for (event, range) in Parser::new_ext(&text, options).into_offset_iter() {
            walker.event(&mut document, event, range.start);
        }
        document
    }

    /// The 1-based line of a byte offset in the document.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// The document line of a byte offset inside a code block's code.
    pub fn line_in_block(&self, block: &CodeBlock, offset: usize) -> usize {
        let index = block.pieces.partition_point(|&(code, _)| code <= offset).saturating_sub(1);
        let (code_start, source_start) = block.pieces.get(index).copied().unwrap_or_default();
        self.line_of(source_start + (offset - code_start))
    }
}

/// Walks parser events, keeping the little context each construct needs.
#[derive(Debug, Default)]
struct Walker {
    code: Option<CodeBlock>,
    heading: Option<(String, Option<String>)>,
    used_slugs: BTreeSet<String>,
    table: Option<TableState>,
}

#[derive(Debug, Default)]
struct TableState {
    in_head: bool,
    header_first: String,
    row_cell: usize,
    first_cell: String,
    row_line: usize,
}

impl Walker {
    fn event(&mut self, document: &mut Document, event: Event<'_>, offset: usize) {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                let language = info.split([' ', '{', '=']).next().unwrap_or("").to_lowercase();
                if CODE_LANGUAGES.contains(&language.as_str()) {
                    self.code = Some(CodeBlock { code: String::new(), pieces: Vec::new() });
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(block) = self.code.take() {
                    document.code_blocks.push(block);
                }
            }
            Event::Start(Tag::Heading { id, .. }) => {
                self.heading = Some((String::new(), id.map(|id| id.to_string())));
            }
            Event::End(TagEnd::Heading(level)) => self.end_heading(document, level),
            Event::Start(Tag::Link { dest_url, .. }) => {
                if let Some(anchor) = dest_url.strip_prefix('#') {
                    let line = document.line_of(offset);
                    document.links.push(Link { anchor: anchor.to_owned(), line });
                }
            }
            Event::Start(Tag::Table(_)) => self.table = Some(TableState::default()),
            Event::End(TagEnd::Table) => self.table = None,
            Event::Start(Tag::TableHead) => self.with_table(|table| table.in_head = true),
            Event::End(TagEnd::TableHead) => self.with_table(|table| table.in_head = false),
            Event::Start(Tag::TableRow) => {
                let line = document.line_of(offset);
                self.with_table(|table| {
                    table.row_cell = 0;
                    table.first_cell.clear();
                    table.row_line = line;
                });
            }
            Event::Start(Tag::TableCell) => self.with_table(|table| table.row_cell += 1),
            Event::End(TagEnd::TableRow) => self.end_row(document),
            Event::Text(text) | Event::Code(text) => self.text(&text, offset),
            _ => {}
        }
    }

    fn with_table(&mut self, change: impl FnOnce(&mut TableState)) {
        if let Some(table) = &mut self.table {
            change(table);
        }
    }

    fn text(&mut self, text: &str, offset: usize) {
        if let Some(block) = &mut self.code {
            block.pieces.push((block.code.len(), offset));
            block.code.push_str(text);
        }
        if let Some((heading, _)) = &mut self.heading {
            heading.push_str(text);
        }
        if let Some(table) = &mut self.table {
            match (table.in_head, table.row_cell) {
                (true, 1) => table.header_first.push_str(text),
                (false, 1) => table.first_cell.push_str(text),
                _ => {}
            }
        }
    }

    fn end_heading(&mut self, document: &mut Document, _level: HeadingLevel) {
        let Some((text, explicit)) = self.heading.take() else { return };
        if let Some(id) = explicit {
            document.anchors.insert(id);
        }
        // GitHub's rule: repeated headings get `-1`, `-2`, … after the first.
        let slug = slug(&text);
        let mut candidate = slug.clone();
        let mut n = 0;
        while !self.used_slugs.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
        document.anchors.insert(candidate);
    }

    fn end_row(&mut self, document: &mut Document) {
        let Some(table) = &self.table else { return };
        let header = table.header_first.to_lowercase();
        let context = if header.contains("trait") {
            FieldKind::Trait
        } else if header.contains("propert") {
            FieldKind::Property
        } else if header.contains("field") {
            FieldKind::TopLevel
        } else {
            return;
        };
        if let Some(field) = listed_field(&table.first_cell, context, table.row_line) {
            document.fields.push(field);
        }
    }
}

/// `traits.email` → (trait, `email`); `properties.plan.tier` → (property, `plan`); a bare name
/// takes the table's kind. Anything that is not a field name (prose, empty) is skipped.
fn listed_field(cell: &str, context: FieldKind, line: usize) -> Option<ListedField> {
    let cell = cell.trim().trim_matches('`').trim();
    let valid = |name: &str| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-$".contains(c))
    };
    if !valid(cell) {
        return None;
    }
    let (kind, rest) = if let Some(rest) = cell.strip_prefix("traits.") {
        (FieldKind::Trait, rest)
    } else if let Some(rest) = cell.strip_prefix("properties.") {
        (FieldKind::Property, rest)
    } else {
        (context, cell)
    };
    let name = rest.split('.').next().unwrap_or(rest).to_owned();
    Some(ListedField { kind, name, line })
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// `id="…"` and `name="…"` attributes of raw HTML, which links may point at too.
fn html_anchors(text: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    for attribute in [" id=\"", " name=\""] {
        for (start, _) in text.match_indices(attribute) {
            let rest = &text[start + attribute.len()..];
            if let Some(end) = rest.find('"') {
                anchors.insert(rest[..end].to_owned());
            }
        }
    }
    anchors
}

/// Replaces markup CommonMark does not know with spaces, keeping every line where it was.
fn blank_foreign_markup(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim();
        let kramdown = trimmed.starts_with("{:") && trimmed.ends_with('}');
        let hackmd = trimmed.starts_with(":::");
        if kramdown || hackmd {
            out.push_str(&blank(line));
        } else {
            out.push_str(&blank_liquid(line));
        }
    }
    out
}

/// Blanks `{% … %}` and `{{ … }}` within a line.
fn blank_liquid(line: &str) -> String {
    let mut out = line.to_owned();
    for (open, close) in [("{%", "%}"), ("{{", "}}")] {
        while let Some(start) = out.find(open) {
            let Some(length) = out[start..].find(close) else { break };
            let end = start + length + close.len();
            out.replace_range(start..end, &" ".repeat(end - start));
        }
    }
    out
}

fn blank(line: &str) -> String {
    line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect()
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}
