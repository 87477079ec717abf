//! What the API returns: agent records, per-agent command results, reports.
//!
//! Fields the product knows are typed; everything else is kept in `extra`
//! (serde `flatten`), so no member of an answer is lost.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{ApiMessage, Error};
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
}

impl Status {
    /// The status as the server spells it.
    pub fn as_str(&self) -> &str {
        match self {
            Status::Success => "success",
            Status::Error => "error",
            Status::Other(text) => text,
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
/// with `message` empty.
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
                f.write_str(message)?;
                if let Some(help) = &self.help {
                    write!(f, " (help: {help})")?;
                }
                Ok(())
            }
            None => f.write_str(&self.raw),
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
    /// many ids: in the order the ids were given).
    pub results: Vec<AgentResult>,
    /// Ids whose request failed, each with its error (many-id commands
    /// only; a single request's failure is the command's `Err`).
    pub failures: Vec<(AgentId, Error)>,
    /// Ids that were sent and answered, but whose answer named no result
    /// for them (e.g. an empty array).
    pub unreported: Vec<AgentId>,
}

impl Report {
    /// Whether every request succeeded, every id was reported and every
    /// result is `success`.
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
