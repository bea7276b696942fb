//! Track through the engine: mapping by `featureId` and by rules (typed comparison, precedence,
//! retroactive mapping), `delta` parsing, message validation and `messageId` idempotence.

mod common;

use common::{TestWorkspace, identify, mapped, rule_spec, track, unmapped, user};
use kana_reference::engine::Ingested;
use serde_json::{Value, json};

/// A workspace with the features `messages` and `seats`.
fn workspace() -> TestWorkspace {
    TestWorkspace::with_features(&["messages", "seats"])
}

/// The usage of `feature` by `user`, or `None` when nothing counts towards it.
fn usage(workspace: &TestWorkspace, user: &str, feature: &str) -> Option<i128> {
    workspace.state().usage.get(user).and_then(|features| features.get(feature)).copied()
}

// --- featureId ----------------------------------------------------------------------------------

#[test]
fn feature_id_maps_the_event_to_that_feature() {
    let mut workspace = workspace();

    let outcome = workspace.track("u1", "Message Sent", json!({"featureId": "messages"}));

    assert_eq!(outcome, mapped("messages"));
    assert_eq!(workspace.usage(), json!({"u1": {"messages": 1}}));
}

#[test]
fn feature_id_wins_over_a_matching_rule() {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "messages", "event": "Message Sent"}));

    let outcome = workspace.track("u1", "Message Sent", json!({"featureId": "seats"}));

    assert_eq!(outcome, mapped("seats"));
    assert_eq!(workspace.usage(), json!({"u1": {"seats": 1}}));
}

#[test]
fn unknown_feature_id_leaves_the_event_unmapped_until_the_feature_is_created() {
    let mut workspace = workspace();
    let properties = json!({"featureId": "exports", "delta": 3});
    assert_eq!(workspace.track("u1", "Exported", properties.clone()), unmapped());
    workspace.track("u2", "Exported", properties);

    let expected = json!([{
        "messageId": "m-001", "userId": "u1", "event": "Exported",
        "reason": "unknown_feature", "featureId": "exports",
    }, {
        "messageId": "m-002", "userId": "u2", "event": "Exported",
        "reason": "unknown_feature", "featureId": "exports",
    }]);
    assert_eq!(workspace.json()["unmapped"], expected);

    let created = workspace.create_feature("exports").expect("feature id is valid");
    assert_eq!((created.created, created.remapped), (true, 2));
    assert_eq!(workspace.usage(), json!({"u1": {"exports": 3}, "u2": {"exports": 3}}));
    assert_eq!(workspace.json()["unmapped"], json!([]));
    assert_eq!(workspace.counts(), json!({"identify": 0, "track": 2, "mapped": 2, "unmapped": 0}));
}

#[test]
fn creating_a_feature_again_changes_nothing() {
    let mut workspace = workspace();
    workspace.track("u1", "Message Sent", json!({"featureId": "messages"}));

    let again = workspace.create_feature("messages").expect("feature id is valid");

    assert_eq!((again.created, again.remapped), (false, 0));
    assert_eq!(workspace.json()["features"], json!(["messages", "seats"]));
    assert_eq!(usage(&workspace, "u1", "messages"), Some(1));
}

#[test]
fn a_rule_never_maps_an_event_whose_feature_id_is_unknown() {
    let mut workspace = workspace();
    workspace.track("u1", "Message Sent", json!({"featureId": "exports"}));

    let created = workspace.rule(json!({"feature": "messages", "event": "Message Sent"}));

    assert_eq!(created.remapped, 0);
    assert_eq!(workspace.json()["unmapped"][0]["reason"], "unknown_feature");
}

#[test]
fn an_empty_or_non_string_feature_id_is_refused() {
    let mut workspace = workspace();
    let mut message = track("m1", "u1", "Message Sent", json!({"featureId": " "}));

    assert_eq!(workspace.reject(&message), "`properties.featureId` must not be blank");
    message["properties"]["featureId"] = json!(7);
    let expected = "`properties.featureId` must be a string, got the number 7";
    assert_eq!(workspace.reject(&message), expected);
}

// --- Rules --------------------------------------------------------------------------------------

#[test]
fn rule_with_an_event_condition_maps_only_that_event() {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "messages", "event": "Message Sent"}));

    assert_eq!(workspace.track("u1", "Message Sent", json!({})), mapped("messages"));
    assert_eq!(workspace.track("u1", "message sent", json!({})), unmapped());

    let reason = &workspace.json()["unmapped"][0];
    assert_eq!(reason["reason"], "no_matching_rule");
    assert_eq!(reason.get("featureId"), None);
}

#[test]
fn rule_follows_a_nested_property_path() {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "seats", "properties": {"plan.tier": "pro"}}));

    let nested = json!({"plan": {"tier": "pro"}});
    assert_eq!(workspace.track("u1", "Seat Added", nested), mapped("seats"));
    let flat_key = json!({"plan.tier": "pro"});
    assert_eq!(workspace.track("u1", "Seat Added", flat_key), unmapped());
    let not_an_object = json!({"plan": "pro"});
    assert_eq!(workspace.track("u1", "Seat Added", not_an_object), unmapped());
}

#[test]
fn every_condition_of_a_rule_must_hold() {
    let mut workspace = workspace();
    let conditions = json!({"plan.tier": "pro", "channel": "email"});
    workspace
        .rule(json!({"feature": "messages", "event": "Message Sent", "properties": conditions}));

    let all = json!({"plan": {"tier": "pro"}, "channel": "email"});
    assert_eq!(workspace.track("u1", "Message Sent", all.clone()), mapped("messages"));
    assert_eq!(workspace.track("u1", "Message Opened", all), unmapped());
    let wrong_channel = json!({"plan": {"tier": "pro"}, "channel": "sms"});
    assert_eq!(workspace.track("u1", "Message Sent", wrong_channel), unmapped());
    let missing = json!({"channel": "email"});
    assert_eq!(workspace.track("u1", "Message Sent", missing), unmapped());
}

/// Whether a Track whose `value` property is `found` matches a rule expecting `expected`.
fn rule_value_matches(expected: Value, found: Value) -> bool {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "messages", "properties": {"value": expected}}));
    workspace.track("u1", "Message Sent", json!({"value": found})) == mapped("messages")
}

#[test]
fn rule_values_compare_with_their_json_types() {
    assert!(!rule_value_matches(json!(5), json!("5")));
    assert!(!rule_value_matches(json!("5"), json!(5)));
    assert!(rule_value_matches(json!(5), json!(5.0)));
    assert!(rule_value_matches(json!(5.0), json!(5)));
    assert!(rule_value_matches(json!(-2), json!(-2)));
    assert!(!rule_value_matches(json!(true), json!("true")));
    assert!(rule_value_matches(json!(false), json!(false)));
    assert!(!rule_value_matches(json!(false), json!(0)));
    assert!(!rule_value_matches(json!("Pro"), json!("pro")));
    assert!(rule_value_matches(json!("pro"), json!("pro")));
}

#[test]
fn the_earliest_created_rule_wins_when_several_match() {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "seats", "properties": {"plan": "pro"}}));
    workspace.rule(json!({"feature": "messages", "event": "Message Sent"}));

    assert_eq!(workspace.track("u1", "Message Sent", json!({"plan": "pro"})), mapped("seats"));

    assert_eq!(workspace.usage(), json!({"u1": {"seats": 1}}));
    assert_eq!(workspace.counts()["mapped"], 1);
}

#[test]
fn a_later_rule_maps_only_the_stored_unmapped_events_it_matches() {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "messages", "event": "Message Sent"}));
    workspace.track("u1", "Message Sent", json!({"plan": "pro"}));
    workspace.track("u1", "Message Sent", json!({"plan": "pro"}));
    workspace.track("u1", "Seat Added", json!({"plan": "pro"}));
    workspace.track("u1", "Seat Added", json!({"plan": "free"}));

    let created = workspace.rule(json!({"feature": "seats", "properties": {"plan": "pro"}}));

    assert_eq!((created.rule, created.remapped), (2, 1));
    assert_eq!(workspace.usage(), json!({"u1": {"messages": 2, "seats": 1}}));
    let left = &workspace.json()["unmapped"];
    assert_eq!(left.as_array().map(Vec::len), Some(1));
    assert_eq!(left[0]["messageId"], "m-004");
}

#[test]
fn a_rule_without_event_condition_maps_stored_events_of_every_name() {
    let mut workspace = workspace();
    workspace.track("u1", "Message Sent", json!({"plan": "pro", "delta": 2}));
    workspace.track("u2", "Seat Added", json!({"plan": "pro"}));
    workspace.track("u2", "Seat Added", json!({"plan": "free"}));

    let created = workspace.rule(json!({"feature": "seats", "properties": {"plan": "pro"}}));

    assert_eq!(created.remapped, 2);
    assert_eq!(workspace.usage(), json!({"u1": {"seats": 2}, "u2": {"seats": 1}}));
    assert_eq!(workspace.counts(), json!({"identify": 0, "track": 3, "mapped": 2, "unmapped": 1}));
}

#[test]
fn rules_are_numbered_in_creation_order_and_a_refused_rule_takes_no_number() {
    let mut workspace = workspace();

    assert_eq!(workspace.rule(json!({"feature": "messages", "event": "A"})).rule, 1);
    assert!(workspace.create_rule(&rule_spec(json!({"feature": "nope", "event": "B"}))).is_err());
    assert_eq!(workspace.rule(json!({"feature": "seats", "event": "C"})).rule, 2);
}

/// The refusal text for a rule, asserting that the refusal changed nothing.
fn refused_rule(spec: Value) -> String {
    let mut workspace = workspace();
    workspace.track("u1", "Message Sent", json!({"plan": []}));
    let before = workspace.state();

    let error = workspace.create_rule(&rule_spec(spec)).expect_err("rule is invalid");

    assert_eq!(workspace.state(), before);
    error.to_string()
}

#[test]
fn a_rule_for_a_feature_that_does_not_exist_is_refused() {
    let message = refused_rule(json!({"feature": "exports", "event": "Message Sent"}));

    let expected = "`feature` names the feature `exports`, which does not exist: create it first";
    assert_eq!(message, expected);
}

#[test]
fn a_rule_without_conditions_is_refused() {
    let expected = "`properties` must hold at least one condition when `event` is not given: \
                    a rule without conditions would map every event";

    assert_eq!(refused_rule(json!({"feature": "messages"})), expected);
    assert_eq!(refused_rule(json!({"feature": "messages", "properties": {}})), expected);
}

#[test]
fn a_rule_condition_that_is_not_a_string_number_or_boolean_is_refused() {
    let array = refused_rule(json!({"feature": "messages", "properties": {"plan": []}}));
    let null = refused_rule(json!({"feature": "messages", "properties": {"plan.tier": null}}));

    assert_eq!(array, "`properties.plan` must be a string, a number or a boolean, got an array");
    assert_eq!(null, "`properties.plan.tier` must be a string, a number or a boolean, got null");
}

#[test]
fn a_rule_with_an_empty_path_segment_is_refused() {
    let problem = "is not a valid property path: segments are separated by single dots and none \
                   may be empty";

    for path in ["plan..tier", ".plan", "plan.", ""] {
        let spec = json!({"feature": "messages", "properties": {path: "pro"}});
        assert_eq!(refused_rule(spec), format!("`properties.{path}` {problem}"));
    }
}

#[test]
fn a_rule_with_an_empty_feature_or_event_is_refused() {
    let no_feature = refused_rule(json!({"feature": " ", "event": "Message Sent"}));
    let no_event = refused_rule(json!({"feature": "messages", "event": ""}));

    assert_eq!(no_feature, "`feature` must not be blank");
    assert_eq!(no_event, "`event` must not be blank");
}

// --- delta --------------------------------------------------------------------------------------

/// The usage one Track with this `delta` adds to `messages`.
fn usage_of_delta(delta: Value) -> Option<i128> {
    let mut workspace = workspace();
    workspace.track("u1", "Message Sent", json!({"featureId": "messages", "delta": delta}));
    usage(&workspace, "u1", "messages")
}

#[test]
fn delta_defaults_to_one() {
    let mut workspace = workspace();

    workspace.track("u1", "Message Sent", json!({"featureId": "messages"}));
    workspace.track("u1", "Message Sent", json!({"featureId": "messages", "delta": null}));

    assert_eq!(usage(&workspace, "u1", "messages"), Some(2));
}

#[test]
fn whole_number_deltas_are_accepted_in_every_form() {
    assert_eq!(usage_of_delta(json!(4)), Some(4));
    assert_eq!(usage_of_delta(json!(0)), Some(0));
    assert_eq!(usage_of_delta(json!(2.0)), Some(2));
    assert_eq!(usage_of_delta(json!("3")), Some(3));
    assert_eq!(usage_of_delta(json!(" -2 ")), Some(-2));
    assert_eq!(usage_of_delta(json!("2.0")), Some(2));
}

#[test]
fn whole_deltas_beyond_the_usage_range_are_refused_with_the_range() {
    let mut workspace = workspace();
    let expected = format!("`properties.delta` must be between {} and {}", i64::MIN, i64::MAX);
    for delta in [
        json!(u64::MAX),
        json!(1e300),
        json!("99999999999999999999"),
        json!("-9223372036854775809"),
        json!("9223372036854775808.00"),
    ] {
        let properties = json!({"featureId": "messages", "delta": delta});
        let message = workspace.reject(&track("m-big", "u1", "Message Sent", properties));
        assert_eq!(message, expected, "{delta}");
    }
}

#[test]
fn whole_number_strings_are_read_exactly_without_rounding_through_a_float() {
    assert_eq!(usage_of_delta(json!("12345678901234567.0")), Some(12_345_678_901_234_567));
    assert_eq!(usage_of_delta(json!("+4")), Some(4));
    assert_eq!(usage_of_delta(json!("-9223372036854775808")), Some(i128::from(i64::MIN)));
}

#[test]
fn strings_with_exponents_or_bare_dots_are_not_whole_numbers() {
    let mut workspace = workspace();
    for text in ["1e3", "2.", ".0", "1.50", "- 2", "0x10"] {
        let properties = json!({"featureId": "messages", "delta": text});
        let message = workspace.reject(&track("m-odd", "u1", "Message Sent", properties));
        let expected =
            format!("`properties.delta` must be a whole number, got the string {text:?}");
        assert_eq!(message, expected);
    }
}

#[test]
fn totals_are_exact_beyond_the_range_of_one_delta_whatever_the_order() {
    let deltas = [i64::MAX, 1, i64::MIN];
    let mut forward = workspace();
    let mut backward = workspace();
    for (index, delta) in deltas.iter().enumerate() {
        let properties = json!({"featureId": "messages", "delta": delta});
        forward.accept(&track(&format!("f{index}"), "u1", "Message Sent", properties));
    }
    for (index, delta) in deltas.iter().rev().enumerate() {
        let properties = json!({"featureId": "messages", "delta": delta});
        backward.accept(&track(&format!("b{index}"), "u1", "Message Sent", properties));
    }

    assert_eq!(usage(&forward, "u1", "messages"), Some(0));
    assert_eq!(usage(&backward, "u1", "messages"), Some(0));
}

#[test]
fn a_negative_delta_reverses_usage() {
    let mut workspace = workspace();

    workspace.track("u1", "Message Sent", json!({"featureId": "messages", "delta": 5}));
    workspace.track("u1", "Message Refunded", json!({"featureId": "messages", "delta": -3}));

    assert_eq!(usage(&workspace, "u1", "messages"), Some(2));
}

#[test]
fn deltas_that_are_not_whole_numbers_are_refused_and_change_nothing() {
    let mut workspace = workspace();
    workspace.track("u1", "Message Sent", json!({"featureId": "messages"}));
    let cases = [
        (json!(1.5), "got 1.5"),
        (json!("1.5"), "got the string \"1.5\""),
        (json!("abc"), "got the string \"abc\""),
        (json!(true), "got the boolean true"),
        (json!([]), "got an array"),
        (json!({}), "got an object"),
    ];

    for (delta, found) in cases {
        let properties = json!({"featureId": "messages", "delta": delta});
        let message = workspace.reject(&track("m-bad", "u2", "Message Sent", properties));
        assert_eq!(message, format!("`properties.delta` must be a whole number, {found}"));
    }
    assert_eq!(workspace.users(), json!([user("u1", "", "", "")]));
}

// --- Message validation -------------------------------------------------------------------------

#[test]
fn identifiers_made_only_of_spaces_are_refused_as_blank() {
    let mut workspace = workspace();
    let blank_event = track("m1", "u1", "   ", json!({}));
    let blank_message_id = track("  ", "u1", "Message Sent", json!({}));

    assert_eq!(workspace.reject(&blank_event), "`event` must not be blank");
    assert_eq!(workspace.reject(&blank_message_id), "`messageId` must not be blank");
}

#[test]
fn track_without_user_id_is_refused() {
    let mut workspace = workspace();
    let mut message = track("m1", "u1", "Message Sent", json!({}));
    message.as_object_mut().map(|fields| fields.remove("userId"));

    assert_eq!(workspace.reject(&message), "`userId` is required");
}

#[test]
fn anonymous_track_is_refused_as_not_stored() {
    let mut workspace = workspace();
    let mut message = track("m1", "u1", "Message Sent", json!({}));
    message["userId"] = Value::Null;
    message["anonymousId"] = json!("anon-1");

    let expected = "`userId` is required: a track with only an `anonymousId` cannot be \
                    attributed to a user, so it is not stored";
    assert_eq!(workspace.reject(&message), expected);
}

#[test]
fn track_with_a_missing_or_empty_event_is_refused() {
    let mut workspace = workspace();
    let mut message = track("m1", "u1", "", json!({}));

    assert_eq!(workspace.reject(&message), "`event` must not be blank");
    message["event"] = Value::Null;
    assert_eq!(workspace.reject(&message), "`event` is required");
    message["event"] = json!(3);
    assert_eq!(workspace.reject(&message), "`event` must be a string, got the number 3");
}

#[test]
fn track_with_properties_that_are_not_an_object_is_refused() {
    let mut workspace = workspace();
    let message = track("m1", "u1", "Message Sent", json!([1]));

    assert_eq!(workspace.reject(&message), "`properties` must be an object, got an array");
}

#[test]
fn unknown_fields_are_ignored_whatever_their_type() {
    let mut workspace = workspace();
    let mut message = track("m1", "u1", "Message Sent", json!({"featureId": "messages"}));
    message["context"] = json!("not an object");
    message["timestamp"] = json!(12);
    message["integrations"] = json!([true]);

    assert_eq!(workspace.accept(&message), mapped("messages"));
}

#[test]
fn track_for_an_unknown_user_creates_a_bare_user() {
    let mut workspace = workspace();

    workspace.track("u1", "Message Sent", json!({"featureId": "messages"}));

    assert_eq!(workspace.users(), json!([user("u1", "", "", "")]));
    assert_eq!(workspace.flags()["withoutBillingId"], json!(["u1"]));
    assert_eq!(workspace.counts()["identify"], 0);
}

// --- messageId ----------------------------------------------------------------------------------

#[test]
fn a_duplicate_message_id_changes_nothing() {
    let mut workspace = workspace();
    let message = track("m1", "u1", "Message Sent", json!({"featureId": "messages"}));
    workspace.accept(&message);
    let before = workspace.state();

    assert_eq!(workspace.accept(&message), Ingested::Duplicate);
    let different = track("m1", "u2", "Seat Added", json!({"featureId": "seats"}));
    assert_eq!(workspace.accept(&different), Ingested::Duplicate);

    assert_eq!(workspace.state(), before);
}

#[test]
fn a_message_id_is_a_duplicate_across_message_types() {
    let mut workspace = workspace();
    workspace.accept(&identify("m1", "u1", json!({"name": "Ada"})));
    let before = workspace.state();

    let sent = track("m1", "u1", "Message Sent", json!({"featureId": "messages"}));
    assert_eq!(workspace.accept(&sent), Ingested::Duplicate);

    assert_eq!(workspace.state(), before);
    assert_eq!(workspace.counts(), json!({"identify": 1, "track": 0, "mapped": 0, "unmapped": 0}));
}

#[test]
fn a_refused_message_does_not_claim_its_message_id() {
    let mut workspace = workspace();
    let refused = track("m1", "u1", "Message Sent", json!({"featureId": "messages", "delta": 1.5}));
    workspace.reject(&refused);

    let corrected = track("m1", "u1", "Message Sent", json!({"featureId": "messages", "delta": 2}));
    assert_eq!(workspace.accept(&corrected), mapped("messages"));

    assert_eq!(usage(&workspace, "u1", "messages"), Some(2));
}

#[test]
fn a_message_id_of_a_hundred_characters_is_accepted_and_one_more_is_refused() {
    let mut workspace = workspace();
    let long = "x".repeat(101);

    let refused = workspace.reject(&track(&long, "u1", "Message Sent", json!({})));
    assert_eq!(refused, "`messageId` must be at most 100 characters, got 101");
    assert_eq!(workspace.accept(&track(&long[1..], "u1", "Message Sent", json!({}))), unmapped());
}

#[test]
fn the_message_id_limit_counts_characters_not_bytes() {
    let mut workspace = workspace();

    let accepted = workspace.accept(&track(&"é".repeat(100), "u1", "Message Sent", json!({})));

    assert_eq!(accepted, unmapped());
}

#[test]
fn a_missing_or_empty_message_id_is_refused() {
    let mut workspace = workspace();
    let mut message = track("", "u1", "Message Sent", json!({}));

    assert_eq!(workspace.reject(&message), "`messageId` must not be blank");
    message["messageId"] = Value::Null;
    assert_eq!(workspace.reject(&message), "`messageId` is required");
}

// --- Counts -------------------------------------------------------------------------------------

#[test]
fn event_counts_split_tracks_into_mapped_and_unmapped() {
    let mut workspace = workspace();
    workspace.rule(json!({"feature": "messages", "event": "Message Sent"}));
    workspace.identify("u1", json!({}));
    workspace.track("u1", "Message Sent", json!({}));
    workspace.track("u1", "Message Sent", json!({"featureId": "seats"}));
    workspace.track("u1", "Seat Added", json!({}));
    workspace.track("u1", "Exported", json!({"featureId": "exports"}));

    let counts = workspace.state().events;

    assert_eq!((counts.identify, counts.track, counts.mapped, counts.unmapped), (1, 4, 2, 2));
    assert_eq!(counts.mapped + counts.unmapped, counts.track);
}
