//! Identify through the engine: every row of the decision table (create, adopt, update, merge and
//! the cases that keep users apart), email matching, trait validation and the flags a person
//! resolves by hand.

mod common;

use common::{TestWorkspace, assert_same_state, customer, identify, track, user};
use kana_reference::engine::{IdentifyOutcome, Ingested};
use serde_json::json;

const CREATED: Ingested = Ingested::Identify(IdentifyOutcome::Created);
const UPDATED: Ingested = Ingested::Identify(IdentifyOutcome::Updated);
const ADOPTED: Ingested = Ingested::Identify(IdentifyOutcome::Adopted);
const MERGED: Ingested = Ingested::Identify(IdentifyOutcome::Merged);

/// A workspace holding one imported customer, `cus_1`, known as Ada at `ada@example.com`.
fn with_imported_ada() -> TestWorkspace {
    let mut workspace = TestWorkspace::new();
    workspace.import(&[customer("cus_1", "ada@example.com", "Imported Ada")]);
    workspace
}

// --- A new userId -------------------------------------------------------------------------------

#[test]
fn identify_of_a_new_user_without_email_creates_the_user() {
    let mut workspace = with_imported_ada();

    assert_eq!(workspace.identify("u1", json!({"name": "Ada"})), CREATED);

    let users =
        json!([user("u1", "Ada", "", ""), user("", "Imported Ada", "ada@example.com", "cus_1")]);
    assert_eq!(workspace.users(), users);
}

#[test]
fn identify_of_a_new_user_whose_email_matches_nobody_creates_the_user() {
    let mut workspace = with_imported_ada();

    let outcome = workspace.identify("u1", json!({"email": "grace@example.com", "name": "Grace"}));

    assert_eq!(outcome, CREATED);
    let users = json!([
        user("u1", "Grace", "grace@example.com", ""),
        user("", "Imported Ada", "ada@example.com", "cus_1"),
    ]);
    assert_eq!(workspace.users(), users);
}

#[test]
fn identify_without_billing_id_adopts_the_single_imported_user_with_that_email() {
    let mut workspace = with_imported_ada();

    assert_eq!(workspace.identify("u1", json!({"email": "ada@example.com"})), ADOPTED);

    assert_eq!(workspace.users(), json!([user("u1", "Imported Ada", "ada@example.com", "cus_1")]));
    assert_eq!(workspace.flags(), json!({"withoutBillingId": [], "sharedEmails": []}));
}

#[test]
fn identify_with_the_same_billing_id_adopts_the_imported_user_and_its_fields_yield_to_the_event() {
    let mut workspace = with_imported_ada();

    let traits = json!({"email": "ada@example.com", "name": "Ada", "billingUserId": "cus_1"});
    assert_eq!(workspace.identify("u1", traits), ADOPTED);

    assert_eq!(workspace.users(), json!([user("u1", "Ada", "ada@example.com", "cus_1")]));
}

#[test]
fn identify_with_a_conflicting_billing_id_creates_a_user_beside_the_imported_one() {
    let mut workspace = with_imported_ada();

    let traits = json!({"email": "ada@example.com", "billingUserId": "cus_2"});
    assert_eq!(workspace.identify("u1", traits), CREATED);

    let users = json!([
        user("u1", "", "ada@example.com", "cus_2"),
        user("", "Imported Ada", "ada@example.com", "cus_1"),
    ]);
    assert_eq!(workspace.users(), users);
    let shared = json!([{"email": "ada@example.com", "users": ["billingId:cus_1", "u1"]}]);
    assert_eq!(workspace.flags()["sharedEmails"], shared);
}

#[test]
fn identify_matching_two_imported_users_creates_a_user_and_flags_all_three() {
    let mut workspace = with_imported_ada();
    workspace.import(&[customer("cus_2", "ADA@example.com", "")]);

    assert_eq!(workspace.identify("u1", json!({"email": "ada@example.com"})), CREATED);

    assert_eq!(workspace.users()[0], user("u1", "", "ada@example.com", ""));
    assert_eq!(workspace.users().as_array().map(Vec::len), Some(3));
    let shared = json!([{
        "email": "ada@example.com",
        "users": ["billingId:cus_1", "billingId:cus_2", "u1"],
    }]);
    assert_eq!(workspace.flags()["sharedEmails"], shared);
}

#[test]
fn identify_matching_a_user_that_has_another_id_creates_a_separate_user() {
    let mut workspace = TestWorkspace::new();
    workspace.identify("u1", json!({"email": "ada@example.com", "billingUserId": "cus_1"}));

    assert_eq!(workspace.identify("u2", json!({"email": "ada@example.com"})), CREATED);

    let users =
        json!([user("u1", "", "ada@example.com", "cus_1"), user("u2", "", "ada@example.com", ""),]);
    assert_eq!(workspace.users(), users);
    let shared = json!([{"email": "ada@example.com", "users": ["u1", "u2"]}]);
    assert_eq!(workspace.flags()["sharedEmails"], shared);
}

// --- An existing userId -------------------------------------------------------------------------

#[test]
fn identify_of_an_existing_user_without_email_updates_it() {
    let mut workspace = TestWorkspace::new();
    workspace.identify("u1", json!({"name": "Ada", "email": "ada@example.com"}));

    assert_eq!(workspace.identify("u1", json!({"name": "Ada Lovelace"})), UPDATED);

    assert_eq!(workspace.users(), json!([user("u1", "Ada Lovelace", "ada@example.com", "")]));
    assert_eq!(workspace.counts()["identify"], 2);
}

#[test]
fn merge_takes_each_field_from_the_event_then_the_user_then_the_merged_user() {
    let mut workspace = with_imported_ada();
    workspace.identify("u1", json!({"name": "Ada L.", "email": "old@example.com"}));

    let outcome = workspace.identify("u1", json!({"email": "ada@example.com"}));

    // Email from the event, name from u1, billing id from the imported user.
    assert_eq!(outcome, MERGED);
    assert_eq!(workspace.users(), json!([user("u1", "Ada L.", "ada@example.com", "cus_1")]));
}

#[test]
fn merge_into_a_bare_user_takes_the_billing_id_from_the_merged_user_and_the_rest_from_the_event() {
    let mut workspace = with_imported_ada();
    workspace.track("u1", "Message Sent", json!({}));

    let outcome = workspace.identify("u1", json!({"email": "Ada@Example.com", "name": "Ada"}));

    assert_eq!(outcome, MERGED);
    assert_eq!(workspace.users(), json!([user("u1", "Ada", "Ada@Example.com", "cus_1")]));
    assert_eq!(workspace.flags(), json!({"withoutBillingId": [], "sharedEmails": []}));
}

#[test]
fn no_merge_when_the_events_billing_id_conflicts_with_the_candidates() {
    let mut workspace = with_imported_ada();
    workspace.identify("u1", json!({"name": "Ada"}));

    let traits = json!({"email": "ada@example.com", "billingUserId": "cus_2"});
    assert_eq!(workspace.identify("u1", traits), UPDATED);

    let users = json!([
        user("u1", "Ada", "ada@example.com", "cus_2"),
        user("", "Imported Ada", "ada@example.com", "cus_1"),
    ]);
    assert_eq!(workspace.users(), users);
}

#[test]
fn no_merge_when_the_users_stored_billing_id_conflicts_with_the_candidates() {
    let mut workspace = with_imported_ada();
    workspace.identify("u1", json!({"billingUserId": "cus_2"}));

    assert_eq!(workspace.identify("u1", json!({"email": "ada@example.com"})), UPDATED);

    let users = json!([
        user("u1", "", "ada@example.com", "cus_2"),
        user("", "Imported Ada", "ada@example.com", "cus_1"),
    ]);
    assert_eq!(workspace.users(), users);
}

#[test]
fn the_events_billing_id_speaks_for_the_user_over_its_stored_one_when_checking_for_a_conflict() {
    let mut workspace = with_imported_ada();
    workspace.identify("u1", json!({"billingUserId": "cus_2"}));

    let traits = json!({"email": "ada@example.com", "billingUserId": "cus_1"});
    assert_eq!(workspace.identify("u1", traits), MERGED);

    assert_eq!(workspace.users(), json!([user("u1", "Imported Ada", "ada@example.com", "cus_1")]));
}

#[test]
fn no_merge_when_two_imported_users_share_the_email() {
    let mut workspace = with_imported_ada();
    workspace.import(&[customer("cus_2", "ada@example.com", "Other Ada")]);
    workspace.identify("u1", json!({"name": "Ada"}));

    assert_eq!(workspace.identify("u1", json!({"email": "ada@example.com"})), UPDATED);

    assert_eq!(workspace.users().as_array().map(Vec::len), Some(3));
    assert_eq!(workspace.users()[0], user("u1", "Ada", "ada@example.com", ""));
}

#[test]
fn no_merge_when_the_user_holding_the_email_has_an_id() {
    let mut workspace = TestWorkspace::new();
    workspace.identify("u2", json!({"email": "ada@example.com"}));
    workspace.identify("u1", json!({"name": "Ada"}));

    assert_eq!(workspace.identify("u1", json!({"email": "ada@example.com"})), UPDATED);

    let users =
        json!([user("u1", "Ada", "ada@example.com", ""), user("u2", "", "ada@example.com", ""),]);
    assert_eq!(workspace.users(), users);
}

// --- Email matching and ordering ----------------------------------------------------------------

#[test]
fn email_matching_ignores_surrounding_space_and_case() {
    let mut workspace = TestWorkspace::new();
    workspace.import(&[customer("cus_1", "  Ada@Example.COM ", "")]);

    assert_eq!(workspace.identify("u1", json!({"email": "ada@EXAMPLE.com\t"})), ADOPTED);

    assert_eq!(workspace.users(), json!([user("u1", "", "ada@EXAMPLE.com", "cus_1")]));
}

#[test]
fn track_before_identify_ends_in_the_same_state_as_identify_first() {
    let (mut merged, mut adopted) = (with_imported_ada(), with_imported_ada());
    let sent = track("m-track", "u1", "Message Sent", json!({}));
    let identified = identify("m-identify", "u1", json!({"email": "ada@example.com"}));

    merged.accept(&sent);
    assert_eq!(merged.accept(&identified), MERGED);
    assert_eq!(adopted.accept(&identified), ADOPTED);
    adopted.accept(&sent);

    assert_same_state(&merged.state(), &adopted.state());
    assert_eq!(merged.users(), json!([user("u1", "Imported Ada", "ada@example.com", "cus_1")]));
}

// --- Traits -------------------------------------------------------------------------------------

#[test]
fn traits_billing_id_is_ignored_whatever_its_type() {
    let mut workspace = TestWorkspace::new();

    workspace.identify("u1", json!({"billingId": "cus_1"}));
    workspace.identify("u2", json!({"billingId": 5}));

    assert_eq!(workspace.users(), json!([user("u1", "", "", ""), user("u2", "", "", "")]));
}

#[test]
fn null_traits_do_not_clear_stored_values() {
    let mut workspace = TestWorkspace::new();
    let full = json!({"name": "Ada", "email": "ada@example.com", "billingUserId": "cus_1"});
    workspace.identify("u1", full);

    workspace.identify("u1", json!({"name": null, "email": null, "billingUserId": null}));
    workspace.identify("u1", serde_json::Value::Null);

    assert_eq!(workspace.users(), json!([user("u1", "Ada", "ada@example.com", "cus_1")]));
    assert_eq!(workspace.counts()["identify"], 3);
}

#[test]
fn blank_traits_count_as_not_given() {
    let mut workspace = with_imported_ada();
    workspace.identify("u1", json!({"name": "Ada", "billingUserId": "cus_9"}));

    let blank = json!({"name": "  ", "email": "", "billingUserId": "\t"});
    assert_eq!(workspace.identify("u1", blank), UPDATED);

    let users = json!([
        user("u1", "Ada", "", "cus_9"),
        user("", "Imported Ada", "ada@example.com", "cus_1"),
    ]);
    assert_eq!(workspace.users(), users);
}

#[test]
fn mapped_traits_are_stored_trimmed() {
    let mut workspace = TestWorkspace::new();

    let traits = json!({"name": " Ada ", "email": " ada@example.com ", "billingUserId": " cus_1 "});
    workspace.identify("u1", traits);

    assert_eq!(workspace.users(), json!([user("u1", "Ada", "ada@example.com", "cus_1")]));
}

#[test]
fn mapped_traits_of_the_wrong_type_are_refused_naming_the_trait() {
    let mut workspace = TestWorkspace::new();
    workspace.identify("u1", json!({"name": "Ada"}));
    let cases = [
        (json!({"email": 5}), "`traits.email` must be a string, got the number 5"),
        (json!({"name": true}), "`traits.name` must be a string, got the boolean true"),
        (json!({"billingUserId": {}}), "`traits.billingUserId` must be a string, got an object"),
        (json!({"name": ["Ada"]}), "`traits.name` must be a string, got an array"),
        (json!("Ada"), "`traits` must be an object, got the string \"Ada\""),
    ];

    for (traits, expected) in cases {
        assert_eq!(workspace.reject(&identify("m-bad", "u1", traits)), expected);
    }
}

#[test]
fn identify_without_user_id_is_refused() {
    let mut workspace = TestWorkspace::new();
    let message = json!({"type": "identify", "messageId": "m1", "traits": {"name": "Ada"}});

    assert_eq!(workspace.reject(&message), "`userId` is required");
}

#[test]
fn identify_with_only_an_anonymous_id_is_refused_as_not_stored() {
    let mut workspace = TestWorkspace::new();
    let message = json!({"type": "identify", "messageId": "m1", "anonymousId": "anon-1"});

    let expected = "`userId` is required: an identify with only an `anonymousId` cannot be \
                    attributed to a user, so it is not stored";
    assert_eq!(workspace.reject(&message), expected);
}

#[test]
fn identify_with_an_empty_or_non_string_user_id_is_refused() {
    let mut workspace = TestWorkspace::new();
    let mut message = identify("m1", " ", json!({}));

    assert_eq!(workspace.reject(&message), "`userId` must not be blank");
    message["userId"] = json!(42);
    assert_eq!(workspace.reject(&message), "`userId` must be a string, got the number 42");
}

// --- Flags --------------------------------------------------------------------------------------

#[test]
fn flags_list_users_without_billing_id_and_emails_held_by_several_users() {
    let mut workspace = TestWorkspace::new();
    workspace.import(&[
        customer("cus_1", "ada@example.com", ""),
        customer("cus_2", "Ada@Example.com", ""),
        customer("cus_3", "grace@example.com", ""),
    ]);
    workspace.identify("u2", json!({"email": "grace@example.com"}));
    workspace.identify("u1", json!({"email": "bob@example.com", "billingUserId": "cus_9"}));
    workspace.track("u3", "Message Sent", json!({}));

    let shared =
        json!({"email": "ada@example.com", "users": ["billingId:cus_1", "billingId:cus_2"]});
    let flags = json!({"withoutBillingId": ["u3"], "sharedEmails": [shared]});
    assert_eq!(workspace.flags(), flags);
}

#[test]
fn users_with_an_id_come_first_sorted_by_id_then_imported_users_by_billing_id() {
    let mut workspace = TestWorkspace::new();
    workspace.import(&[customer("cus_b", "", ""), customer("cus_a", "", "")]);
    workspace.identify("u2", json!({}));
    workspace.identify("u1", json!({}));

    let users = json!([
        user("u1", "", "", ""),
        user("u2", "", "", ""),
        user("", "", "", "cus_a"),
        user("", "", "", "cus_b"),
    ]);
    assert_eq!(workspace.users(), users);
    assert_eq!(workspace.flags()["withoutBillingId"], json!(["u1", "u2"]));
}

#[test]
fn importing_a_billing_id_a_user_already_holds_is_skipped() {
    let mut workspace = TestWorkspace::new();
    workspace.identify("u1", json!({"billingUserId": "cus_1"}));

    let batch = [customer("cus_1", "ada@example.com", ""), customer("cus_2", "", "")];
    let summary = workspace.import_billing_customers(&batch).expect("batch is valid");

    assert_eq!((summary.imported, summary.skipped), (1, 1));
    assert_eq!(workspace.users(), json!([user("u1", "", "", "cus_1"), user("", "", "", "cus_2")]));
}

#[test]
fn imported_names_and_emails_are_stored_trimmed_and_blank_ones_count_as_absent() {
    let mut workspace = TestWorkspace::new();

    workspace
        .import(&[customer("cus_1", " ada@example.com ", " Ada "), customer("cus_2", " ", "\t")]);

    let users = json!([user("", "Ada", "ada@example.com", "cus_1"), user("", "", "", "cus_2")]);
    assert_eq!(workspace.users(), users);
}

#[test]
fn a_billing_import_with_an_empty_billing_id_imports_nothing() {
    let mut workspace = TestWorkspace::new();

    let batch = [customer("cus_1", "", ""), customer(" ", "", "")];
    let error = workspace.import_billing_customers(&batch).expect_err("batch is invalid");

    assert_eq!(error.to_string(), "`[1].billingId` must not be blank");
    assert_eq!(workspace.users(), json!([]));
}

#[test]
fn imported_billing_ids_are_trimmed_so_a_padded_reimport_is_skipped() {
    let mut workspace = TestWorkspace::new();
    workspace.import_billing_customers(&[customer(" cus_1 ", "ada@example.com", "")]).unwrap();

    let summary = workspace.import_billing_customers(&[customer("cus_1", "", "")]).unwrap();
    let outcome =
        workspace.identify("ada", json!({"email": "ada@example.com", "billingUserId": "cus_1"}));

    assert_eq!(summary.skipped, 1);
    assert_eq!(outcome, Ingested::Identify(IdentifyOutcome::Adopted));
    assert_eq!(workspace.users(), json!([user("ada", "", "ada@example.com", "cus_1")]));
}
