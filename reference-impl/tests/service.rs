//! The HTTP service, driven through its router without a socket: every status it answers, both
//! forms of ingest credentials, the conformance API, isolation between workspaces, and one run
//! over a real loopback listener.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{identify, track, user};
use http_body_util::BodyExt;
use kana_reference::service::{ServiceConfig, router, spawn_local};
use serde_json::{Value, json};
use tower::ServiceExt;

const ADMIN_TOKEN: &str = "admin-secret";
const BEARER: &str = "Bearer admin-secret";
const LIMIT: usize = 32 * 1024;

/// A status and the JSON body that came with it.
#[derive(Debug)]
struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    /// The `message` of the body, which must hold nothing else.
    fn error(&self) -> &str {
        let fields = self.body.as_object().expect("error body is an object");
        assert_eq!(fields.len(), 1, "error body holds only `message`: {}", self.body);
        fields["message"].as_str().expect("`message` is a string")
    }
}

/// The service's router, with or without the conformance API.
struct Service(Router);

impl Service {
    fn with_conformance() -> Self {
        Self(router(ServiceConfig {
            admin_token: Some(ADMIN_TOKEN.to_owned()),
            ..ServiceConfig::default()
        }))
    }

    fn without_conformance() -> Self {
        Self(router(ServiceConfig::default()))
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.0.clone().oneshot(request).await.expect("the router never fails");
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.expect("body is readable").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!("{status} body is not JSON: {}", String::from_utf8_lossy(&bytes))
        });
        Reply { status, body }
    }

    /// A request with an optional `Authorization` header and a body.
    async fn request(
        &self,
        method: &str,
        path: &str,
        authorization: Option<&str>,
        body: impl Into<Body>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        self.send(request.body(body.into()).expect("request is well formed")).await
    }

    /// A conformance call with the admin token.
    async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Reply {
        let body = body.map(|value| value.to_string()).unwrap_or_default();
        self.request(method, &format!("/conformance{path}"), Some(BEARER), body).await
    }

    /// Creates a workspace and returns its id and API key.
    async fn workspace(&self) -> (String, String) {
        let reply = self.admin("POST", "/workspaces", None).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        let field = |name: &str| reply.body[name].as_str().expect("field is a string").to_owned();
        (field("workspace"), field("apiKey"))
    }

    /// Delivers a message with the key as Segment sends it: Basic auth, empty password.
    async fn deliver(&self, api_key: &str, message: &Value) -> Reply {
        self.deliver_raw(Some(&basic(api_key)), message.to_string()).await
    }

    async fn deliver_raw(&self, authorization: Option<&str>, body: impl Into<Body>) -> Reply {
        self.request("POST", "/segment/events", authorization, body).await
    }

    /// Creates a feature in a workspace.
    async fn feature(&self, workspace: &str, id: &str) -> Reply {
        let path = format!("/workspaces/{workspace}/features");
        self.admin("POST", &path, Some(json!({"id": id}))).await
    }

    async fn state(&self, workspace: &str) -> Value {
        let reply = self.admin("GET", &format!("/workspaces/{workspace}/state"), None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body
    }
}

fn basic(api_key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{api_key}:")))
}

/// A Track whose serialised form is exactly `size` bytes long.
fn track_of_size(size: usize) -> String {
    let mut message = track("m-big", "u1", "Message Sent", json!({}));
    message["padding"] = json!("");
    let overhead = message.to_string().len();
    message["padding"] = json!("x".repeat(size - overhead));
    let body = message.to_string();
    assert_eq!(body.len(), size);
    body
}

// --- 200 ----------------------------------------------------------------------------------------

#[tokio::test]
async fn an_accepted_message_answers_200_with_its_outcome() {
    let service = Service::with_conformance();
    let (_, key) = service.workspace().await;

    let created = service.deliver(&key, &identify("m1", "u1", json!({"name": "Ada"}))).await;
    let updated = service.deliver(&key, &identify("m2", "u1", json!({"name": "Ada L."}))).await;
    let tracked = service.deliver(&key, &track("m3", "u1", "Message Sent", json!({}))).await;

    assert_eq!(
        (created.status, created.body),
        (200, json!({"message": "accepted", "outcome": "created"}))
    );
    assert_eq!(updated.body["outcome"], "updated");
    assert_eq!((tracked.status, &tracked.body["outcome"]), (200, &json!("unmapped")));
}

#[tokio::test]
async fn a_duplicate_message_answers_200_and_changes_nothing() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    service.deliver(&key, &identify("m1", "u1", json!({"name": "Ada"}))).await;
    let before = service.state(&workspace).await;

    let reply = service.deliver(&key, &identify("m1", "u1", json!({"name": "Grace"}))).await;

    assert_eq!(reply.status, 200);
    let message = "already accepted: a message with this `messageId` changed nothing";
    assert_eq!(reply.body, json!({"message": message, "outcome": "duplicate"}));
    assert_eq!(service.state(&workspace).await, before);
}

#[tokio::test]
async fn both_forms_of_ingest_credentials_are_accepted() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    let forms =
        [basic(&key), format!("basic {}", STANDARD.encode(&key)), key.clone(), format!("  {key} ")];

    for (index, authorization) in forms.iter().enumerate() {
        let message = track(&format!("m{index}"), "u1", "Message Sent", json!({}));
        let reply = service.deliver_raw(Some(authorization), message.to_string()).await;
        assert_eq!(reply.status, 200, "{authorization}: {}", reply.body);
    }
    assert_eq!(service.state(&workspace).await["events"]["track"], 4);
}

// --- 201 and the conformance API ----------------------------------------------------------------

#[tokio::test]
async fn creating_workspaces_answers_201_with_numbered_ids_and_distinct_keys() {
    let service = Service::with_conformance();

    let (first, first_key) = service.workspace().await;
    let (second, second_key) = service.workspace().await;

    assert_eq!((first.as_str(), second.as_str()), ("ws-1", "ws-2"));
    assert!(first_key.starts_with("kana_test_"), "{first_key}");
    assert_ne!(first_key, second_key);
}

#[tokio::test]
async fn creating_a_feature_answers_201_and_creating_it_again_answers_200() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    let sent = track("m1", "u1", "Message Sent", json!({"featureId": "messages"}));
    service.deliver(&key, &sent).await;

    let first = service.feature(&workspace, "messages").await;
    let again = service.feature(&workspace, "messages").await;

    assert_eq!(first.status, 201);
    assert_eq!(first.body, json!({"feature": "messages", "created": true, "remapped": 1}));
    assert_eq!(again.status, 200);
    assert_eq!(again.body, json!({"feature": "messages", "created": false, "remapped": 0}));
}

#[tokio::test]
async fn creating_a_rule_answers_201_with_its_number_and_the_events_it_mapped() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    service.feature(&workspace, "seats").await;
    let sent = track("m1", "u1", "Seat Added", json!({"plan": {"tier": "pro"}}));
    service.deliver(&key, &sent).await;

    let spec =
        json!({"feature": "seats", "event": "Seat Added", "properties": {"plan.tier": "pro"}});
    let reply = service.admin("POST", &format!("/workspaces/{workspace}/rules"), Some(spec)).await;

    assert_eq!((reply.status, reply.body), (201, json!({"rule": 1, "remapped": 1})));
    assert_eq!(service.state(&workspace).await["usage"], json!({"u1": {"seats": 1}}));
}

#[tokio::test]
async fn a_billing_import_answers_201_with_imported_and_skipped_counts() {
    let service = Service::with_conformance();
    let (workspace, _) = service.workspace().await;
    let path = format!("/workspaces/{workspace}/billing-customers");
    let batch = json!([
        {"billingId": "cus_1", "email": "ada@example.com", "name": "Ada"},
        {"billingId": "cus_1"},
        {"billingId": "cus_2", "email": null},
    ]);

    let reply = service.admin("POST", &path, Some(batch)).await;

    assert_eq!((reply.status, reply.body), (201, json!({"imported": 2, "skipped": 1})));
}

#[tokio::test]
async fn the_state_answers_200_with_the_canonical_state() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    service.feature(&workspace, "messages").await;
    let sent = track("m2", "u1", "Message Sent", json!({"featureId": "messages"}));
    service.deliver(&key, &identify("m1", "u1", json!({"email": "ada@example.com"}))).await;
    service.deliver(&key, &sent).await;
    service.deliver(&key, &track("m3", "u2", "Seat Added", json!({}))).await;

    let unmapped = json!({
        "messageId": "m3", "userId": "u2", "event": "Seat Added", "reason": "no_matching_rule",
    });
    let expected = json!({
        "features": ["messages"],
        "users": [user("u1", "", "ada@example.com", ""), user("u2", "", "", "")],
        "usage": {"u1": {"messages": 1}},
        "events": {"identify": 1, "track": 2, "mapped": 1, "unmapped": 1},
        "unmapped": [unmapped],
        "flags": {"withoutBillingId": ["u1", "u2"], "sharedEmails": []},
    });
    assert_eq!(service.state(&workspace).await, expected);
}

// --- 400 ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_that_is_not_a_json_object_answers_400() {
    let service = Service::with_conformance();
    let (_, key) = service.workspace().await;
    let auth = Some(basic(&key));

    let broken = service.deliver_raw(auth.as_deref(), "{\"type\": ").await;
    let array = service.deliver_raw(auth.as_deref(), "[]").await;
    let untyped = service.deliver_raw(auth.as_deref(), "{\"messageId\": \"m1\"}").await;

    assert_eq!((broken.status, broken.error()), (400, "body is not valid JSON"));
    let not_object = "body must be a JSON object, got an array";
    assert_eq!((array.status, array.error()), (400, not_object));
    assert_eq!((untyped.status, untyped.error()), (400, "`type` is required"));
}

#[tokio::test]
async fn a_bad_field_answers_400_naming_the_field_and_changes_nothing() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    let before = service.state(&workspace).await;

    let message = track("m1", "u1", "Message Sent", json!({"delta": 1.5}));
    let reply = service.deliver(&key, &message).await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error(), "`properties.delta` must be a whole number, got 1.5");
    assert_eq!(service.state(&workspace).await, before);
}

/// The refusal of a conformance body; serde's position suffix (`at line 1 column n`) is cut off.
async fn refused_body(service: &Service, path: &str, body: Value) -> String {
    let reply = service.admin("POST", path, Some(body)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let message = reply.error();
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

#[tokio::test]
async fn a_conformance_body_with_an_unknown_field_answers_400_naming_its_path() {
    let service = Service::with_conformance();
    let (workspace, _) = service.workspace().await;
    let path = |what: &str| format!("/workspaces/{workspace}/{what}");

    let feature = refused_body(&service, &path("features"), json!({"id": "a", "title": "A"})).await;
    let typo = json!({"feature": "a", "propeties": {"plan": "pro"}});
    let rule = refused_body(&service, &path("rules"), typo).await;
    let batch = json!([{"billingId": "cus_1"}, {"billingId": "cus_2", "plan": "pro"}]);
    let customer = refused_body(&service, &path("billing-customers"), batch).await;

    assert_eq!(feature, "`title`: unknown field `title`, expected `id`");
    let expected = "`propeties`: unknown field `propeties`, expected one of `feature`, `event`, \
                    `properties`";
    assert_eq!(rule, expected);
    let expected = "`[1].plan`: unknown field `plan`, expected one of `billingId`, `email`, `name`";
    assert_eq!(customer, expected);
}

#[tokio::test]
async fn a_billing_import_with_an_empty_billing_id_answers_400_and_imports_nothing() {
    let service = Service::with_conformance();
    let (workspace, _) = service.workspace().await;
    let batch = json!([{"billingId": "cus_1"}, {"billingId": ""}]);

    let path = format!("/workspaces/{workspace}/billing-customers");
    let reply = service.admin("POST", &path, Some(batch)).await;

    assert_eq!((reply.status, reply.error()), (400, "`[1].billingId` must not be blank"));
    assert_eq!(service.state(&workspace).await["users"], json!([]));
}

#[tokio::test]
async fn a_refused_rule_answers_400_with_the_reason() {
    let service = Service::with_conformance();
    let (workspace, _) = service.workspace().await;
    let spec = json!({"feature": "messages", "event": "Message Sent"});

    let reply = service.admin("POST", &format!("/workspaces/{workspace}/rules"), Some(spec)).await;

    let expected = "`feature` names the feature `messages`, which does not exist: create it first";
    assert_eq!((reply.status, reply.error()), (400, expected));
}

#[tokio::test]
async fn a_conformance_body_that_is_not_json_answers_400() {
    let service = Service::with_conformance();
    let (workspace, _) = service.workspace().await;

    let path = format!("/conformance/workspaces/{workspace}/features");
    let reply = service.request("POST", &path, Some(BEARER), "not json").await;

    assert_eq!(reply.status, 400);
    assert!(reply.error().starts_with("invalid body: "), "{}", reply.error());
}

// --- 401 ----------------------------------------------------------------------------------------

#[tokio::test]
async fn ingest_without_valid_credentials_answers_401() {
    let service = Service::with_conformance();
    service.workspace().await;
    let body = track("m1", "u1", "Message Sent", json!({})).to_string();
    let cases = [
        (None, "missing `Authorization` header"),
        (Some("kana_test_nobody".to_owned()), "unknown API key"),
        (Some(basic("kana_test_nobody")), "unknown API key"),
        (
            Some("Basic %%%".to_owned()),
            "`Authorization` header: Basic credentials are not valid base64",
        ),
        (Some(basic("")), "`Authorization` header holds an empty API key"),
    ];

    for (authorization, expected) in cases {
        let reply = service.deliver_raw(authorization.as_deref(), body.clone()).await;
        assert_eq!(reply.status, 401, "{authorization:?}");
        assert!(reply.error().starts_with(expected), "{}", reply.error());
    }
}

#[tokio::test]
async fn credentials_are_checked_before_the_size_of_the_body() {
    let service = Service::with_conformance();

    let reply = service.deliver_raw(Some("kana_test_nobody"), "x".repeat(LIMIT * 2)).await;

    assert_eq!((reply.status, reply.error()), (401, "unknown API key"));
}

#[tokio::test]
async fn the_conformance_api_without_the_admin_token_answers_401() {
    let service = Service::with_conformance();
    let cases = [
        (None, "missing admin credential: send `Authorization: Bearer <admin token>`"),
        (
            Some("admin-secret"),
            "missing admin credential: send `Authorization: Bearer <admin token>`",
        ),
        (Some("Bearer wrong-secret"), "admin token does not match"),
        (Some("Bearer admin-secre"), "admin token does not match"),
    ];

    for (authorization, expected) in cases {
        let reply = service.request("POST", "/conformance/workspaces", authorization, "").await;
        assert_eq!((reply.status, reply.error()), (401, expected), "{authorization:?}");
    }
}

#[tokio::test]
async fn an_api_key_is_no_admin_token() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;

    let path = format!("/conformance/workspaces/{workspace}/state");
    let reply = service.request("GET", &path, Some(&format!("Bearer {key}")), "").await;

    assert_eq!((reply.status, reply.error()), (401, "admin token does not match"));
}

// --- 404 and 405 --------------------------------------------------------------------------------

#[tokio::test]
async fn an_unknown_workspace_answers_404_on_every_conformance_route() {
    let service = Service::with_conformance();
    service.workspace().await;
    let calls = [
        ("GET", "/workspaces/ws-9/state", None),
        ("POST", "/workspaces/ws-9/features", Some(json!({"id": "messages"}))),
        ("POST", "/workspaces/ws-9/rules", Some(json!({"feature": "messages", "event": "A"}))),
        ("POST", "/workspaces/ws-9/billing-customers", Some(json!([{"billingId": "cus_1"}]))),
    ];

    for (method, path, body) in calls {
        let reply = service.admin(method, path, body).await;
        assert_eq!((reply.status, reply.error()), (404, "no workspace `ws-9`"), "{path}");
    }
}

#[tokio::test]
async fn an_unknown_route_answers_404_json() {
    let service = Service::with_conformance();

    let root = service.request("GET", "/", None, "").await;
    let nested = service.admin("GET", "/workspaces/ws-1/snapshot", None).await;
    let typo = service.request("POST", "/segment/event", None, "{}").await;

    assert_eq!((root.status, root.error()), (404, "no such endpoint"));
    assert_eq!((nested.status, nested.error()), (404, "no such endpoint"));
    assert_eq!((typo.status, typo.error()), (404, "no such endpoint"));
}

#[tokio::test]
async fn without_an_admin_token_the_whole_conformance_prefix_answers_404() {
    let services = [
        Service::without_conformance(),
        Service(router(ServiceConfig {
            admin_token: Some(String::new()),
            ..ServiceConfig::default()
        })),
    ];

    for service in services {
        for (method, path) in
            [("POST", "/conformance/workspaces"), ("GET", "/conformance/workspaces/ws-1/state")]
        {
            let reply = service.request(method, path, Some("Bearer "), "").await;
            assert_eq!((reply.status, reply.error()), (404, "no such endpoint"), "{path}");
        }
    }
}

#[tokio::test]
async fn a_wrong_method_answers_405_json() {
    let service = Service::with_conformance();
    let (workspace, _) = service.workspace().await;
    let expected = "method not allowed on this endpoint";

    let ingest = service.request("GET", "/segment/events", None, "").await;
    let state = service.admin("POST", &format!("/workspaces/{workspace}/state"), None).await;
    let features = service.admin("GET", &format!("/workspaces/{workspace}/features"), None).await;

    assert_eq!((ingest.status, ingest.error()), (405, expected));
    assert_eq!((state.status, state.error()), (405, expected));
    assert_eq!((features.status, features.error()), (405, expected));
}

// --- 413 ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_body_one_byte_over_the_limit_answers_413() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;

    let reply = service.deliver_raw(Some(&basic(&key)), track_of_size(LIMIT + 1)).await;

    assert_eq!((reply.status, reply.error()), (413, "message is over the limit of 32768 bytes"));
    assert_eq!(service.state(&workspace).await["events"]["track"], 0);
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_accepted() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;

    let reply = service.deliver_raw(Some(&basic(&key)), track_of_size(LIMIT)).await;

    assert_eq!((reply.status, &reply.body["outcome"]), (200, &json!("unmapped")));
    assert_eq!(service.state(&workspace).await["events"]["track"], 1);
}

// --- 501 ----------------------------------------------------------------------------------------

#[tokio::test]
async fn message_types_other_than_identify_and_track_answer_501_and_change_nothing() {
    let service = Service::with_conformance();
    let (workspace, key) = service.workspace().await;
    let before = service.state(&workspace).await;

    for kind in ["page", "screen", "group", "alias", "Identify", "bogus"] {
        let message = json!({"type": kind, "messageId": "m1", "userId": "u1"});
        let reply = service.deliver(&key, &message).await;
        let expected = format!(
            "message type `{kind}` is not supported: this destination accepts `identify` and \
             `track`"
        );
        assert_eq!((reply.status, reply.error()), (501, expected.as_str()));
    }
    assert_eq!(service.state(&workspace).await, before);
}

// --- Isolation ----------------------------------------------------------------------------------

#[tokio::test]
async fn workspaces_are_isolated_even_with_the_same_user_and_message_ids() {
    let service = Service::with_conformance();
    let (first, first_key) = service.workspace().await;
    let (second, second_key) = service.workspace().await;

    let a = service.deliver(&first_key, &identify("m1", "u1", json!({"name": "Ada"}))).await;
    let b = service.deliver(&second_key, &identify("m1", "u1", json!({"name": "Grace"}))).await;
    service.deliver(&first_key, &track("m2", "u1", "Message Sent", json!({}))).await;

    assert_eq!(
        (a.body["outcome"].as_str(), b.body["outcome"].as_str()),
        (Some("created"), Some("created"))
    );
    let first_state = service.state(&first).await;
    let second_state = service.state(&second).await;
    assert_eq!(first_state["users"], json!([user("u1", "Ada", "", "")]));
    assert_eq!(second_state["users"], json!([user("u1", "Grace", "", "")]));
    assert_eq!(first_state["events"]["track"], 1);
    assert_eq!(second_state["events"]["track"], 0);
}

#[tokio::test]
async fn one_workspaces_key_only_ever_reaches_that_workspace() {
    let service = Service::with_conformance();
    let (first, first_key) = service.workspace().await;
    let (second, _) = service.workspace().await;
    service.feature(&second, "messages").await;

    let sent = track("m1", "u1", "Message Sent", json!({"featureId": "messages"}));
    let reply = service.deliver(&first_key, &sent).await;

    assert_eq!(reply.body["outcome"], "unmapped");
    assert_eq!(service.state(&first).await["unmapped"][0]["reason"], "unknown_feature");
    assert_eq!(service.state(&second).await["events"]["track"], 0);
}

// --- A real socket ------------------------------------------------------------------------------

/// Sends one HTTP/1.1 request over a fresh connection and returns the status and JSON body. The
/// client is plain blocking `std` I/O on Tokio's blocking pool, so no HTTP client crate is needed.
async fn http(address: SocketAddr, head: String, body: String) -> Reply {
    tokio::task::spawn_blocking(move || blocking_http(address, &head, &body))
        .await
        .expect("client thread does not panic")
}

fn blocking_http(address: SocketAddr, head: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(address).expect("service listens");
    let request = format!(
        "{head}\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request is sent");

    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response is read");
    let (head, body) = response.split_once("\r\n\r\n").expect("response has a head and a body");
    let status = head.split(' ').nth(1).and_then(|code| code.parse().ok()).expect("status line");
    Reply { status, body: serde_json::from_str(body).expect("body is JSON") }
}

#[tokio::test]
async fn the_service_answers_over_a_real_socket() {
    let config =
        ServiceConfig { admin_token: Some(ADMIN_TOKEN.to_owned()), ..ServiceConfig::default() };
    let address = spawn_local(config).await.expect("service starts");
    let admin = format!("Authorization: {BEARER}");

    let head = format!("POST /conformance/workspaces HTTP/1.1\r\n{admin}");
    let created = http(address, head, String::new()).await;
    let field = |name: &str| created.body[name].as_str().expect("field is a string").to_owned();
    let (workspace, key) = (field("workspace"), field("apiKey"));
    let event = identify("m1", "u1", json!({"name": "Ada"})).to_string();
    let head = format!("POST /segment/events HTTP/1.1\r\nAuthorization: {}", basic(&key));
    let ingested = http(address, head, event).await;
    let head = format!("GET /conformance/workspaces/{workspace}/state HTTP/1.1\r\n{admin}");
    let state = http(address, head, String::new()).await;

    assert_eq!(created.status, 201);
    assert_eq!((ingested.status, &ingested.body["outcome"]), (200, &json!("created")));
    assert_eq!((state.status, &state.body["users"]), (200, &json!([user("u1", "Ada", "", "")])));
}

#[tokio::test]
async fn an_undecodable_workspace_in_the_path_answers_400_json() {
    let service = Service::with_conformance();

    let reply = service.admin("GET", "/workspaces/ws%FF/state", None).await;

    assert_eq!(reply.status, 400);
    assert!(reply.error().contains("Invalid UTF-8"), "{}", reply.body);
}
