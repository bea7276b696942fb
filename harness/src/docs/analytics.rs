//! What analytics.js sends for a call, including what it remembers between calls on one page.
//!
//! analytics.js keeps the identified user: after `identify('ada', …)`, later `track` calls carry
//! `userId: "ada"` even though they do not name her, and `identify({ plan: 'pro' })` with traits
//! only identifies her again. Traits accumulate while the user stays the same and start afresh
//! when another user is identified. Every page also has one anonymous id. The examples of one
//! document are treated as one page, in order.

use serde_json::{Map, Value};

use super::js::Method;
use crate::generate::Generator;

/// The state analytics.js keeps on a page.
#[derive(Debug, Clone, Default)]
pub struct Page {
    user_id: Option<Value>,
    traits: Map<String, Value>,
    anonymous_id: String,
}

/// The parts of a call, sorted out the way analytics.js sorts its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    pub user_id: Option<Value>,
    pub traits: Map<String, Value>,
    pub event: Option<Value>,
    pub properties: Map<String, Value>,
    pub options: Map<String, Value>,
}

impl Page {
    pub fn new(anonymous_id: String) -> Self {
        Self { anonymous_id, ..Self::default() }
    }

    /// The Segment message analytics.js would send for this call, and what it remembers after.
    pub fn message(
        &mut self,
        method: Method,
        arguments: &[Value],
        generator: &mut Generator,
    ) -> Map<String, Value> {
        let parts = parts(method, arguments);
        let mut message = generator.analytics_js_envelope(match method {
            Method::Identify => "identify",
            Method::Track => "track",
        });

        if method == Method::Identify {
            self.remember(&parts);
            message.insert("traits".into(), Value::Object(self.traits.clone()));
        } else {
            message.insert("event".into(), parts.event.clone().unwrap_or(Value::Null));
            message.insert("properties".into(), Value::Object(parts.properties.clone()));
        }
        if let Some(user_id) = &self.user_id {
            message.insert("userId".into(), user_id.clone());
        }
        message.insert("anonymousId".into(), self.anonymous_id.clone().into());
        apply_options(&mut message, &parts.options);
        message
    }

    fn remember(&mut self, parts: &Parts) {
        let same_user = match (&self.user_id, &parts.user_id) {
            (_, None) | (None, _) => true,
            (Some(known), Some(given)) => known == given,
        };
        if !same_user {
            self.traits.clear();
        }
        if parts.user_id.is_some() {
            self.user_id = parts.user_id.clone();
        }
        self.traits.extend(parts.traits.clone());
    }
}

/// analytics.js's argument shuffling: `identify([userId], [traits], [options])` and
/// `track(event, [properties], [options])`, where an object in first place of identify is traits.
pub fn parts(method: Method, arguments: &[Value]) -> Parts {
    let object = |value: Option<&Value>| match value {
        Some(Value::Object(fields)) => fields.clone(),
        _ => Map::new(),
    };
    match method {
        Method::Identify => match arguments.first() {
            Some(Value::Object(_)) => Parts {
                user_id: None,
                traits: object(arguments.first()),
                event: None,
                properties: Map::new(),
                options: object(arguments.get(1)),
            },
            first => Parts {
                user_id: first.filter(|id| !id.is_null()).cloned(),
                traits: object(arguments.get(1)),
                event: None,
                properties: Map::new(),
                options: object(arguments.get(2)),
            },
        },
        Method::Track => Parts {
            user_id: None,
            traits: Map::new(),
            event: arguments.first().cloned(),
            properties: object(arguments.get(1)),
            options: object(arguments.get(2)),
        },
    }
}

/// The options object: `context` merges into the envelope's context, `integrations` replaces
/// it, and `anonymousId` and `timestamp` override the envelope's.
fn apply_options(message: &mut Map<String, Value>, options: &Map<String, Value>) {
    for (key, value) in options {
        match (key.as_str(), value, message.get_mut(key)) {
            ("context", Value::Object(extra), Some(Value::Object(context))) => {
                context.extend(extra.clone());
            }
            ("context" | "integrations" | "anonymousId" | "timestamp", _, _) => {
                message.insert(key.clone(), value.clone());
            }
            _ => {}
        }
    }
}
