//! What the API returns: agent records, per-agent command results, reports.
//!
//! Fields the product knows are typed; everything else is kept in `extra`
//! (serde `flatten`), so no member of an answer is lost.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{ApiMessage, BODY_KEEP, Error, escape_controls, keep_prefix};
use crate::select::AgentId;

/// One agent as listed by `GET agents/*` or fetched by `GET agents/<id>`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    /// The agent's UUID.
    pub id: String,
    /// Its host name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// Whether it is connected to the Platform, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub online: Option<bool>,
    /// Its TLS certificate, when the server sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<Certificate>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Agent {
    /// The record as JSON, as the server sent it (typed members included),
    /// e.g. to evaluate a filter on it with nxlog-filter.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// An agent's certificate validity. Timestamps are kept as sent; the
/// `*_time` methods read RFC 3339.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Start of validity, as sent.
    #[serde(rename = "notBefore", default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// End of validity, as sent.
    #[serde(rename = "notAfter", default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Certificate {
    /// `notBefore` as an instant; `None` when missing or not RFC 3339.
    pub fn not_before_time(&self) -> Option<DateTime<Utc>> {
        parse_time(self.not_before.as_deref()?)
    }

    /// `notAfter` as an instant; `None` when missing or not RFC 3339.
    pub fn not_after_time(&self) -> Option<DateTime<Utc>> {
        parse_time(self.not_after.as_deref()?)
    }
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&Utc))
}

/// The status of one agent in a command's answer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `"success"`.
    Success,
    /// `"error"`; see [`AgentResult::error`].
    Error,
    /// Any other string, kept as sent.
    Other(String),
    /// Not a status the server sent: the item could not be read as
    /// `{"id": string, "status": string, ...}` (a member missing, `null` or
    /// of another type, or the item not an object at all). The other items
    /// of the answer are kept; for this one, [`AgentResult::error`] says
    /// what is wrong and holds the item as sent, and [`AgentResult::id`] is
    /// its `id` when that was a string (else empty). The command may well
    /// have run on that agent: treat it as "unknown", neither success nor
    /// failure. Spelt `malformed` by `as_str`.
    Malformed,
}

impl Status {
    /// The status as the server spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Other(text) => text,
            Status::Malformed => "malformed",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Status, D::Error> {
        struct StatusVisitor;
        impl Visitor<'_> for StatusVisitor {
            type Value = Status;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a status string")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Status, E> {
                Ok(match text {
                    "success" => Status::Success,
                    "error" => Status::Error,
                    other => Status::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_str(StatusVisitor)
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// One agent's entry in a command's answer: `{"id", "status", "error"?}`.
///
/// Deserialised by hand (not with `flatten`): it is decoded once per agent
/// of a command, the hot path of a many-id run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentResult {
    /// The agent's UUID.
    pub id: String,
    /// What happened.
    pub status: Status,
    /// Why it failed, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AgentResult {
    /// Whether this item of the answer could not be read; see
    /// [`Status::Malformed`].
    pub fn is_malformed(&self) -> bool {
        self.status == Status::Malformed
    }

    /// The entry for an item of a command's answer that is valid JSON but
    /// not a readable result; `source` is why the typed decoding failed.
    fn malformed(raw: &str, source: &serde_json::Error) -> AgentResult {
        let value: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let id = value.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        let message = malformed_reason(&value).unwrap_or_else(|| source.to_string());
        let (mut kept, cut) = keep_prefix(raw.as_bytes(), BODY_KEEP);
        if cut {
            kept.push('…');
        }
        AgentResult {
            id,
            status: Status::Malformed,
            error: Some(ItemError { message: Some(message), help: None, raw: kept }),
            extra: Map::new(),
        }
    }
}

/// What is wrong with an item that is not `{"id": string, "status":
/// string}`; `None` when both are fine (another member failed).
fn malformed_reason(value: &Value) -> Option<String> {
    let Some(object) = value.as_object() else {
        return Some(format!(
            "expected an object with `id` and `status`, found {}",
            describe(value)
        ));
    };
    ["id", "status"].into_iter().find_map(|name| match object.get(name) {
        None => Some(format!("expected a string `{name}`, found no `{name}` member")),
        Some(Value::String(_)) => None,
        Some(other) => Some(format!("expected a string `{name}`, found {}", describe(other))),
    })
}

/// A JSON value named for a message: scalars as written, containers by kind.
fn describe(value: &Value) -> String {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => format!("`{value}`"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "an array".to_owned(),
        Value::Object(_) => "an object".to_owned(),
    }
}

/// Decodes a command's answer, a JSON array of results, item by item.
///
/// Only an answer that is not a JSON array is an error. An item that is
/// not a readable result becomes a [`Status::Malformed`] entry in its place,
/// so one bad item never hides what the server did for the others.
pub(crate) fn decode_results(body: &[u8]) -> Result<Vec<AgentResult>, serde_json::Error> {
    // Every item well-formed, the usual case: one typed pass, as fast as
    // before. Only an answer that fails it is split into items.
    if let Ok(results) = serde_json::from_slice::<Vec<AgentResult>>(body) {
        return Ok(results);
    }
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(body)?;
    Ok(items
        .into_iter()
        .map(|item| {
            let raw = item.get();
            serde_json::from_str::<AgentResult>(raw)
                .unwrap_or_else(|source| AgentResult::malformed(raw, &source))
        })
        .collect())
}

impl<'de> Deserialize<'de> for AgentResult {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AgentResult, D::Error> {
        deserializer.deserialize_map(AgentResultVisitor)
    }
}

/// A member name of an agent result, without allocating for known names.
enum ResultField {
    Id,
    Status,
    Error,
    Other(String),
}

impl<'de> Deserialize<'de> for ResultField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ResultField, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = ResultField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<ResultField, E> {
                Ok(match name {
                    "id" => ResultField::Id,
                    "status" => ResultField::Status,
                    "error" => ResultField::Error,
                    other => ResultField::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_identifier(FieldVisitor)
    }
}

struct AgentResultVisitor;

impl<'de> Visitor<'de> for AgentResultVisitor {
    type Value = AgentResult;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with `id` and `status`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AgentResult, A::Error> {
        let (mut id, mut status, mut error, mut extra) = (None, None, None, Map::new());
        while let Some(field) = map.next_key::<ResultField>()? {
            match field {
                ResultField::Id => id = Some(map.next_value::<String>()?),
                ResultField::Status => status = Some(map.next_value::<Status>()?),
                ResultField::Error => error = map.next_value::<Option<ItemError>>()?,
                ResultField::Other(name) => {
                    extra.insert(name, map.next_value::<Value>()?);
                }
            }
        }
        Ok(AgentResult {
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            status: status.ok_or_else(|| de::Error::missing_field("status"))?,
            error,
            extra,
        })
    }
}

/// A failed item's `error` member.
///
/// The server sends a string holding JSON (`"{\"message\":...,\"help\":...}"`);
/// it is decoded into `message` and `help`. Anything else is kept in `raw`
/// with `message` empty. For a [`Status::Malformed`] item, `message` says
/// what is wrong with the item and `raw` holds the item itself as sent (its
/// first 2 KiB, then `…`).
///
/// The members are kept as sent; `Display` escapes control characters
/// (`\u{1b}`, `\n`), so server text never drives a terminal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemError {
    /// What went wrong, when the member decoded.
    pub message: Option<String>,
    /// What to do about it, when the server says.
    pub help: Option<String>,
    /// The member as sent: the string itself, or JSON text for other values.
    pub raw: String,
}

impl ItemError {
    fn from_value(value: Value) -> ItemError {
        let (raw, decoded) = match value {
            Value::String(text) => {
                let decoded = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| ApiMessage::from_value(&v));
                (text, decoded)
            }
            other => (other.to_string(), ApiMessage::from_value(&other)),
        };
        match decoded {
            Some(ApiMessage { message, help }) => ItemError { message: Some(message), help, raw },
            None => ItemError { message: None, help: None, raw },
        }
    }
}

impl<'de> Deserialize<'de> for ItemError {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ItemError, D::Error> {
        Value::deserialize(deserializer).map(ItemError::from_value)
    }
}

impl fmt::Display for ItemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(message) => {
                f.write_str(&escape_controls(message))?;
                if let Some(help) = &self.help {
                    write!(f, " (help: {})", escape_controls(help))?;
                }
                Ok(())
            }
            None => f.write_str(&escape_controls(&self.raw)),
        }
    }
}

/// One id of a many-id command, with what its request returned.
#[derive(Debug)]
pub struct IdOutcome {
    /// The id the request was for.
    pub id: AgentId,
    /// The results the server returned for it, or the error that stopped it.
    pub result: Result<Vec<AgentResult>, Error>,
}

/// Everything a command returned.
#[derive(Debug, Default)]
pub struct Report {
    /// Every per-agent result the server returned, in answer order (for
    /// many ids: in the order the ids were given). An item of an answer
    /// that could not be read is here too, in its place, with
    /// [`Status::Malformed`]; see [`Report::malformed`].
    pub results: Vec<AgentResult>,
    /// Ids whose request failed, each with its error (many-id commands
    /// only; a single request's failure is the command's `Err`).
    pub failures: Vec<(AgentId, Error)>,
    /// Ids that were sent and answered, but whose answer named no result
    /// for them (e.g. an empty array).
    pub unreported: Vec<AgentId>,
}

impl Report {
    /// The items of the answers that could not be read
    /// ([`Status::Malformed`]), in answer order.
    pub fn malformed(&self) -> impl Iterator<Item = &AgentResult> {
        self.results.iter().filter(|r| r.is_malformed())
    }

    /// Whether every request succeeded, every id was reported and every
    /// result is `success` (so a malformed item makes it false).
    pub fn all_succeeded(&self) -> bool {
        self.failures.is_empty()
            && self.unreported.is_empty()
            && self.results.iter().all(|r| r.status == Status::Success)
    }

    /// Folds one id's outcome into the report.
    pub(crate) fn absorb(&mut self, outcome: IdOutcome) {
        match outcome.result {
            Ok(results) => {
                let named = results.iter().any(|r| r.id.eq_ignore_ascii_case(outcome.id.as_str()));
                if !named {
                    self.unreported.push(outcome.id);
                }
                self.results.extend(results);
            }
            Err(error) => self.failures.push((outcome.id, error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_result(json: &str, status: Status, error: Option<(Option<&str>, Option<&str>, &str)>) {
        let result: AgentResult = serde_json::from_str(json).unwrap();
        assert_eq!(result.status, status, "{json}");
        let got = result
            .error
            .as_ref()
            .map(|e| (e.message.as_deref(), e.help.as_deref(), e.raw.as_str()));
        assert_eq!(got, error, "{json}");
    }

    #[test]
    fn agent_results() {
        check_result(r#"{"id":"a","status":"success"}"#, Status::Success, None);
        check_result(r#"{"id":"a","status":"pending"}"#, Status::Other("pending".into()), None);
        check_result(r#"{"id":"a","status":"Success"}"#, Status::Other("Success".into()), None);
        check_result(
            r#"{"id":"a","status":"error","error":"{\"message\":\"offline\",\"help\":\"sync\"}"}"#,
            Status::Error,
            Some((Some("offline"), Some("sync"), r#"{"message":"offline","help":"sync"}"#)),
        );
        check_result(
            r#"{"id":"a","status":"error","error":"agent unreachable"}"#,
            Status::Error,
            Some((None, None, "agent unreachable")),
        );
        check_result(
            r#"{"id":"a","status":"error","error":{"message":"m"}}"#,
            Status::Error,
            Some((Some("m"), None, r#"{"message":"m"}"#)),
        );
        check_result(
            r#"{"id":"a","status":"error","error":42}"#,
            Status::Error,
            Some((None, None, "42")),
        );
    }

    fn check_bad_result(json: &str, expected: &str) {
        let error = serde_json::from_str::<AgentResult>(json).unwrap_err();
        assert!(error.to_string().starts_with(expected), "{json}: {error}");
    }

    #[test]
    fn bad_agent_results() {
        check_bad_result(r#"{"status":"success"}"#, "missing field `id`");
        check_bad_result(r#"{"id":"a"}"#, "missing field `status`");
        check_bad_result(
            r#"{"id":1,"status":"success"}"#,
            "invalid type: integer `1`, expected a string",
        );
        check_bad_result(
            r#"{"id":"a","status":7}"#,
            "invalid type: integer `7`, expected a status string",
        );
        check_bad_result(r#"["a","success"]"#, "invalid type: sequence, expected an object");
    }

    fn check_decode(body: &str, expected: &[(&str, &str, Option<&str>)]) {
        let results = decode_results(body.as_bytes()).unwrap();
        let got: Vec<(&str, &str, Option<&str>)> = results
            .iter()
            .map(|r| {
                let message = r.error.as_ref().and_then(|e| e.message.as_deref());
                (r.id.as_str(), r.status.as_str(), if r.is_malformed() { message } else { None })
            })
            .collect();
        assert_eq!(got, expected, "{body}");
        for result in results.iter().filter(|r| r.is_malformed()) {
            let raw = &result.error.as_ref().unwrap().raw;
            assert!(body.contains(raw.as_str()), "{body}: raw {raw}");
        }
    }

    #[test]
    fn malformed_items_are_kept_in_place() {
        check_decode("[]", &[]);
        check_decode(r#"[{"id":"a","status":"success"}]"#, &[("a", "success", None)]);
        check_decode(
            r#"[{"id":"a","status":"success"},{"id":"b"}]"#,
            &[
                ("a", "success", None),
                ("b", "malformed", Some("expected a string `status`, found no `status` member")),
            ],
        );
        check_decode(
            r#"[{"status":"success"}, {"id":"c","status":"error","error":"x"}]"#,
            &[
                ("", "malformed", Some("expected a string `id`, found no `id` member")),
                ("c", "error", None),
            ],
        );
        check_decode(
            r#"[{"id":"a","status":null}]"#,
            &[("a", "malformed", Some("expected a string `status`, found `null`"))],
        );
        check_decode(
            r#"[{"id":7,"status":"success"}]"#,
            &[("", "malformed", Some("expected a string `id`, found `7`"))],
        );
        check_decode(
            r#"[{"id":"a","status":["success"]}]"#,
            &[("a", "malformed", Some("expected a string `status`, found an array"))],
        );
        check_decode(
            r#"[5, "x", null, [], {"id":"d","status":"success"}]"#,
            &[
                ("", "malformed", Some("expected an object with `id` and `status`, found `5`")),
                (
                    "",
                    "malformed",
                    Some("expected an object with `id` and `status`, found a string"),
                ),
                ("", "malformed", Some("expected an object with `id` and `status`, found `null`")),
                (
                    "",
                    "malformed",
                    Some("expected an object with `id` and `status`, found an array"),
                ),
                ("d", "success", None),
            ],
        );
    }

    fn check_bad_answer(body: &str, expected: &str) {
        let error = decode_results(body.as_bytes()).unwrap_err();
        assert!(error.to_string().starts_with(expected), "{body}: {error}");
    }

    #[test]
    fn answers_that_are_not_arrays_are_errors() {
        check_bad_answer(
            r#"{"id":"a","status":"success"}"#,
            "invalid type: map, expected a sequence",
        );
        check_bad_answer(r#"[{"id":"a","status":"success"}"#, "EOF while parsing a list");
        check_bad_answer("<html>", "expected value");
        check_bad_answer("", "EOF while parsing a value");
    }

    #[test]
    fn a_long_malformed_item_is_cut() {
        let body = format!(r#"[{{"id":"a","pad":"{}"}}]"#, "é".repeat(3000));
        let results = decode_results(body.as_bytes()).unwrap();
        let raw = &results[0].error.as_ref().unwrap().raw;
        assert!(raw.ends_with('…') && raw.len() <= BODY_KEEP + '…'.len_utf8(), "{}", raw.len());
    }

    #[test]
    fn item_error_display_escapes_control_characters() {
        let error = ItemError {
            message: Some("bad \u{1b}[2Jthing\nFAKE".into()),
            help: Some("\u{7}".into()),
            raw: String::new(),
        };
        assert_eq!(error.to_string(), "bad \\u{1b}[2Jthing\\nFAKE (help: \\u{7})");
        let raw = ItemError { message: None, help: None, raw: "\u{9b}31m".into() };
        assert_eq!(raw.to_string(), "\\u{9b}31m");
    }

    #[test]
    fn unknown_members_are_kept() {
        let json = r#"{"id":"a","hostname":"PC1","online":false,"os":"linux","certificate":{"notAfter":"2024-09-22T00:00:00Z","serial":"01"}}"#;
        let agent: Agent = serde_json::from_str(json).unwrap();
        assert_eq!(agent.hostname.as_deref(), Some("PC1"));
        assert_eq!(agent.online, Some(false));
        assert_eq!(agent.extra["os"], "linux");
        let certificate = agent.certificate.as_ref().unwrap();
        assert_eq!(certificate.extra["serial"], "01");
        assert_eq!(certificate.not_after_time().unwrap().to_rfc3339(), "2024-09-22T00:00:00+00:00");
        assert_eq!(agent.to_json(), serde_json::from_str::<Value>(json).unwrap());
    }
}
