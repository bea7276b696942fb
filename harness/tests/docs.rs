//! `kana-harness docs`: the project's own documents run clean and match their snapshots, and a
//! document seeded with one of each problem yields each finding at the right line.

use std::path::Path;

use kana_harness::docs::{self, DocumentReport, FindingKind};
use kana_harness::repository_root;
use kana_harness::target::InProcess;
use serde_json::json;

fn check(relative: &str) -> DocumentReport {
    let path = repository_root().join(relative);
    docs::check(&InProcess::new(), &path, relative, 7).expect("the document can be checked")
}

#[test]
fn every_document_in_docs_runs_clean_and_matches_its_snapshot() {
    let mut documents: Vec<_> = std::fs::read_dir(repository_root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .collect();
    documents.sort();
    let mut with_examples = 0;

    for path in documents {
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let report = check(&format!("docs/{name}.md"));
        let findings: Vec<String> =
            report.all_findings().iter().map(|f| format!("{}: {}", f.line, f.message)).collect();
        assert!(findings.is_empty(), "docs/{name}.md has findings:\n{}", findings.join("\n"));
        if report.examples.is_empty() {
            continue;
        }
        with_examples += 1;
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(repository_root().join("snapshots"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.set_input_file(&path);
        settings
            .set_description(format!("the analytics.js examples of docs/{name}.md, run in order"));
        settings.bind(|| insta::assert_snapshot!(format!("docs--{name}"), docs::render(&report)));
    }
    assert!(with_examples > 0, "some document in docs/ has analytics.js examples");
}

#[test]
fn a_document_seeded_with_each_problem_yields_each_finding_at_its_line() {
    let report = check("harness/tests/fixtures/docs-with-problems.md");

    let found: Vec<(FindingKind, usize)> =
        report.all_findings().iter().map(|finding| (finding.kind, finding.line)).collect();
    assert_eq!(
        found,
        vec![
            (FindingKind::BrokenLink, 12),
            (FindingKind::UnmappedField, 24),
            (FindingKind::UnlistedField, 30),
            (FindingKind::RejectedExample, 46),
            (FindingKind::NotLiteral, 47),
        ]
    );
    let messages: Vec<&str> = report.all_findings().iter().map(|f| f.message.as_str()).collect();
    assert!(messages[0].contains("`#billing-setup`"), "{}", messages[0]);
    assert!(messages[1].contains("`traits.phone`"), "{}", messages[1]);
    assert!(messages[2].contains("`traits.company`"), "{}", messages[2]);
    assert!(
        messages[3].contains("400: `properties.delta` must be a whole number, got 1.5"),
        "{}",
        messages[3]
    );
    assert!(messages[4].contains("argument 2 (`{ featureId: user.feature }`)"), "{}", messages[4]);
}

#[test]
fn front_matter_liquid_kramdown_and_hackmd_markup_hide_no_example_and_break_no_anchor() {
    let report = check("harness/tests/fixtures/docs-with-problems.md");

    let lines: Vec<usize> = report.examples.iter().map(|example| example.line).collect();
    assert_eq!(lines, vec![30, 45, 46, 47]);
    // `#sending` comes from a kramdown `{#sending}` attribute, `#tracking-usage` from the heading.
    assert!(report.findings.iter().all(|finding| !finding.message.contains("#sending")));
    assert!(report.findings.iter().all(|finding| !finding.message.contains("#tracking-usage")));
}

#[test]
fn analytics_js_forms_and_page_memory_become_the_messages_analytics_js_sends() {
    let report = check("harness/tests/fixtures/docs-analytics-forms.md");

    let statuses: Vec<Option<u16>> = report.examples.iter().map(|example| example.status).collect();
    assert_eq!(
        statuses,
        vec![Some(400), Some(200), Some(200), Some(200), Some(200), Some(200), Some(200)]
    );
    let refusal = report.examples[0].message.as_deref().unwrap();
    assert!(refusal.contains("only an `anonymousId`"), "{refusal}");

    let state = report.examples.last().unwrap().state.clone().unwrap();
    let users = serde_json::to_value(&state.users).unwrap();
    assert_eq!(
        users,
        json!([
            { "id": "ada", "name": "Ada", "email": "ada@example.com", "billingId": null },
            { "id": "grace", "name": "Grace", "email": null, "billingId": null },
        ])
    );
    assert_eq!(state.usage["ada"]["messages"], 3);
    assert_eq!(state.unmapped.len(), 1, "the bare `Message Sent` waits for a rule");
}

#[test]
fn the_command_line_reports_findings_with_file_and_line_and_exits_1() {
    let fixture = Path::new("harness/tests/fixtures/docs-with-problems.md");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_kana-harness"))
        .arg("docs")
        .arg(fixture)
        .current_dir(repository_root())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();

    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("finding harness/tests/fixtures/docs-with-problems.md:12: the link"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 5 failed"));
}
