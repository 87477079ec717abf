//! The agent record: its JSON shape, its fields for filters, its status.

use chrono::{DateTime, SecondsFormat, Utc};
use nxlog_filter::{FieldValue, Record};
use serde::de::{Error as _, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use uuid::Uuid;

/// One managed NXLog agent as the emulator stores it.
///
/// The JSON shape (what the API returns and what a fleet file holds):
///
/// ```json
/// {
///   "id": "2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e01",
///   "hostname": "PC1",
///   "online": true,
///   "status": "online",
///   "version": "6.4.9394",
///   "os": "Windows 11 23H2",
///   "address": "10.0.0.1",
///   "certificate": { "notBefore": "2025-01-01T00:00:00Z", "notAfter": "2026-01-01T00:00:00Z" },
///   "needsFilesSync": false
/// }
/// ```
///
/// `status` is derived (`offline` when not online, else `warning` when a files
/// sync is pending, else `online`) and ignored on input. Members the emulator
/// does not model are kept as they are, returned with the agent and visible to
/// filters when they hold strings or booleans (numbers are not visible).
// Scans over a large fleet wait on memory, so the record keeps only what
// filters read most in line (about 80 bytes) and the rest behind a box.
#[derive(Clone, Debug, PartialEq)]
pub struct Agent {
    /// Host name, compared case-sensitively by filters.
    pub hostname: String,
    /// The agent's TLS certificate validity.
    pub certificate: Certificate,
    /// Whether the agent is connected right now.
    pub online: bool,
    /// Set when a renewal happened while the agent was offline; cleared by a
    /// files sync while it is online.
    pub needs_files_sync: bool,
    id: Uuid,
    details: Box<Details>,
}

/// The members of an agent that filters rarely read.
#[derive(Clone, Debug, PartialEq)]
pub struct Details {
    // The hyphenated text of the id, kept so that filters can borrow it.
    id_text: Box<str>,
    /// NXLog Agent version, e.g. `6.4.9394`.
    pub version: String,
    /// Operating system, e.g. `Ubuntu 24.04`.
    pub os: String,
    /// Network address the agent connects from.
    pub address: String,
    /// Members of the record the emulator does not model, kept verbatim.
    pub extra: Map<String, Value>,
}

/// Validity period of an agent certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// Start of validity (`notBefore`).
    pub not_before: DateTime<Utc>,
    /// End of validity (`notAfter`).
    pub not_after: DateTime<Utc>,
}

/// The derived `status` member of an agent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Connected and up to date.
    Online,
    /// Not connected.
    Offline,
    /// Connected but waiting for a files sync to receive a renewed certificate.
    Warning,
}

impl Status {
    /// The JSON spelling: `online`, `offline` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Online => "online",
            Status::Offline => "offline",
            Status::Warning => "warning",
        }
    }
}

impl Agent {
    /// An online agent with the given id and host name and empty other fields.
    pub fn new(id: Uuid, hostname: impl Into<String>, certificate: Certificate) -> Agent {
        Agent {
            hostname: hostname.into(),
            certificate,
            online: true,
            needs_files_sync: false,
            id,
            details: Box::new(Details {
                id_text: id.hyphenated().to_string().into_boxed_str(),
                version: String::new(),
                os: String::new(),
                address: String::new(),
                extra: Map::new(),
            }),
        }
    }

    /// Version, system, address and unmodelled members.
    pub fn details(&self) -> &Details {
        &self.details
    }

    /// Version, system, address and unmodelled members, to change them.
    pub fn details_mut(&mut self) -> &mut Details {
        &mut self.details
    }

    /// The agent's id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The agent's id as lower-case hyphenated text.
    pub fn id_str(&self) -> &str {
        &self.details.id_text
    }

    /// The derived status.
    pub fn status(&self) -> Status {
        if !self.online {
            Status::Offline
        } else if self.needs_files_sync {
            Status::Warning
        } else {
            Status::Online
        }
    }

    /// The agent as the API returns it.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Re-allocates the host names in fleet order so that they sit next to each
/// other on the heap: a scan that reads them then streams through memory
/// instead of waiting on a cache miss per agent.
pub(crate) fn pack_hostnames(agents: &mut [Agent]) {
    // The copies are made while the originals still live, so the allocator
    // hands out fresh, consecutive blocks.
    let packed: Vec<String> = agents.iter().map(|a| a.hostname.clone()).collect();
    for (agent, hostname) in agents.iter_mut().zip(packed) {
        agent.hostname = hostname;
    }
}

/// Formats a timestamp the way the API prints it: RFC 3339, UTC, `Z`.
/// The earliest time an RFC 3339 timestamp can write: `0000-01-01T00:00:00Z`.
pub(crate) const EARLIEST_SECONDS: i64 = -62_167_219_200;
/// The latest time an RFC 3339 timestamp can write: `9999-12-31T23:59:59Z`.
pub(crate) const LATEST_SECONDS: i64 = 253_402_300_799;
/// [`LATEST_SECONDS`] as text, for messages.
pub(crate) const LATEST_TEXT: &str = "9999-12-31T23:59:59Z";

/// Whether `t` has a four-digit year, so that RFC 3339 can write it (chrono
/// would print `+10000-…` or `-0001-…`, which no RFC 3339 reader accepts).
pub(crate) fn is_writable_time(t: DateTime<Utc>) -> bool {
    (EARLIEST_SECONDS..=LATEST_SECONDS).contains(&t.timestamp())
}

pub(crate) fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl Record for Agent {
    // Inlined into the predicate's loop; the fields filters read most come
    // first, since the arms are tried in order.
    #[inline(always)]
    fn lookup(&self, key_path: &[&str]) -> Option<FieldValue<'_>> {
        match key_path {
            ["hostname"] => Some(FieldValue::Str(&self.hostname)),
            ["certificate", "notAfter"] => Some(FieldValue::Time(self.certificate.not_after)),
            ["online"] => Some(FieldValue::Str(bool_str(self.online))),
            ["id"] => Some(FieldValue::Str(&self.details.id_text)),
            ["status"] => Some(FieldValue::Str(self.status().as_str())),
            ["version"] => Some(FieldValue::Str(&self.details.version)),
            ["os"] => Some(FieldValue::Str(&self.details.os)),
            ["address"] => Some(FieldValue::Str(&self.details.address)),
            ["needsFilesSync"] => Some(FieldValue::Str(bool_str(self.needs_files_sync))),
            ["certificate", "notBefore"] => Some(FieldValue::Time(self.certificate.not_before)),
            [first, rest @ ..] => lookup_extra(self.details.extra.get(*first)?, rest),
            [] => None,
        }
    }
}

// Walks the unmodelled members; numbers are not borrowable as text, so only
// strings and booleans are visible to filters.
// FIXME: a number member (say `"rack": 12`) never matches `(rack=12)`; keeping
// the number's text beside it at load time would let filters see it.
// `lookup_fields` pins today's behaviour.
fn lookup_extra<'a>(value: &'a Value, rest: &[&str]) -> Option<FieldValue<'a>> {
    match (value, rest) {
        (Value::String(s), []) => Some(FieldValue::Str(s)),
        (Value::Bool(b), []) => Some(FieldValue::Str(bool_str(*b))),
        (Value::Object(map), [first, rest @ ..]) => lookup_extra(map.get(*first)?, rest),
        _ => None,
    }
}

impl Serialize for Agent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let details = &self.details;
        let mut map = serializer.serialize_map(Some(9 + details.extra.len()))?;
        map.serialize_entry("id", &*details.id_text)?;
        map.serialize_entry("hostname", &self.hostname)?;
        map.serialize_entry("online", &self.online)?;
        map.serialize_entry("status", self.status().as_str())?;
        map.serialize_entry("version", &details.version)?;
        map.serialize_entry("os", &details.os)?;
        map.serialize_entry("address", &details.address)?;
        map.serialize_entry(
            "certificate",
            &CertificateJson {
                not_before: format_time(self.certificate.not_before),
                not_after: format_time(self.certificate.not_after),
            },
        )?;
        map.serialize_entry("needsFilesSync", &self.needs_files_sync)?;
        for (key, value) in &details.extra {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CertificateJson {
    not_before: String,
    not_after: String,
}

// Parsed where the value stands, so that an error carries its position.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CertificateInput {
    #[serde(deserialize_with = "not_before")]
    not_before: DateTime<Utc>,
    #[serde(deserialize_with = "not_after")]
    not_after: DateTime<Utc>,
}

fn not_before<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    parse_time("notBefore", &String::deserialize(d)?)
}

fn not_after<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    parse_time("notAfter", &String::deserialize(d)?)
}

fn parse_time<E: serde::de::Error>(member: &str, text: &str) -> Result<DateTime<Utc>, E> {
    let time = DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).map_err(|_| {
        E::custom(format_args!(
            "`certificate.{member}`: expected an RFC 3339 timestamp, found `{text}`"
        ))
    })?;
    // An offset can push a four-digit local time out of the years 0000 to
    // 9999 in UTC, and the emulator writes UTC.
    if !is_writable_time(time) {
        return Err(E::custom(format_args!(
            "`certificate.{member}`: expected a time in the years 0000 to 9999 in UTC, found `{text}`"
        )));
    }
    Ok(time)
}

impl<'de> Deserialize<'de> for Agent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Agent, D::Error> {
        deserializer.deserialize_map(AgentVisitor)
    }
}

/// Reads an agent object member by member (rather than through
/// `#[serde(flatten)]`, which buffers the object and so loses the position
/// of an error inside it).
struct AgentVisitor;

fn set<T, E: serde::de::Error>(slot: &mut Option<T>, value: T, key: &'static str) -> Result<(), E> {
    match slot.replace(value) {
        Some(_) => Err(E::duplicate_field(key)),
        None => Ok(()),
    }
}

impl<'de> Visitor<'de> for AgentVisitor {
    type Value = Agent;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an agent record (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Agent, A::Error> {
        let (mut id, mut hostname, mut certificate) = (None, None, None);
        let (mut online, mut needs_files_sync) = (None, None);
        let (mut version, mut os, mut address) = (None, None, None);
        let mut extra = Map::new();

        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "id" => set(&mut id, map.next_value::<Uuid>()?, "id")?,
                "hostname" => set(&mut hostname, map.next_value::<String>()?, "hostname")?,
                "online" => set(&mut online, map.next_value::<bool>()?, "online")?,
                "version" => set(&mut version, map.next_value::<String>()?, "version")?,
                "os" => set(&mut os, map.next_value::<String>()?, "os")?,
                "address" => set(&mut address, map.next_value::<String>()?, "address")?,
                "certificate" => {
                    set(&mut certificate, map.next_value::<CertificateInput>()?, "certificate")?
                }
                "needsFilesSync" => {
                    set(&mut needs_files_sync, map.next_value::<bool>()?, "needsFilesSync")?
                }
                // `status` is derived; a stale copy in the input is not kept.
                "status" => {
                    map.next_value::<String>()?;
                }
                _ => {
                    let value = map.next_value::<Value>()?;
                    if extra.insert(key.clone(), value).is_some() {
                        return Err(A::Error::custom(format_args!("duplicate field `{key}`")));
                    }
                }
            }
        }

        let id = id.ok_or_else(|| A::Error::missing_field("id"))?;
        let hostname = hostname.ok_or_else(|| A::Error::missing_field("hostname"))?;
        let certificate = certificate.ok_or_else(|| A::Error::missing_field("certificate"))?;
        let certificate =
            Certificate { not_before: certificate.not_before, not_after: certificate.not_after };
        let mut agent = Agent::new(id, hostname, certificate);
        agent.online = online.unwrap_or(true);
        agent.needs_files_sync = needs_files_sync.unwrap_or(false);
        let details = agent.details_mut();
        details.version = version.unwrap_or_default();
        details.os = os.unwrap_or_default();
        details.address = address.unwrap_or_default();
        details.extra = extra;
        Ok(agent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Agent {
        let text = r#"{"id":"2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e01","hostname":"PC1",
            "online":false,"version":"6.4","os":"Debian 12","address":"10.0.0.1",
            "certificate":{"notBefore":"2024-01-01T00:00:00Z","notAfter":"2025-01-01T02:00:00+02:00"},
            "team":"blue","labels":{"site":"ams"},"rack":12,"status":"stale"}"#;
        serde_json::from_str(text).unwrap()
    }

    #[track_caller]
    fn check(path: &[&str], expected: Option<&str>) {
        let agent = sample();
        let found = agent.lookup(path).map(|v| match v {
            FieldValue::Str(s) => s.to_string(),
            FieldValue::Time(t) => format_time(t),
        });
        assert_eq!(found.as_deref(), expected, "{path:?}");
    }

    #[test]
    fn lookup_fields() {
        check(&["id"], Some("2f1f0c8e-8a3b-4c55-9a43-0b6f5f3f5e01"));
        check(&["hostname"], Some("PC1"));
        check(&["online"], Some("false"));
        check(&["status"], Some("offline"));
        check(&["certificate", "notAfter"], Some("2025-01-01T00:00:00Z"));
        check(&["certificate", "notBefore"], Some("2024-01-01T00:00:00Z"));
        check(&["team"], Some("blue"));
        check(&["labels", "site"], Some("ams"));
        check(&["labels"], None);
        check(&["missing"], None);
        check(&["rack"], None);
        check(&["certificate"], None);
    }

    #[test]
    fn json_round_trip_drops_input_status() {
        let agent = sample();
        let json = agent.to_json();
        assert_eq!(json["status"], "offline");
        assert_eq!(json["certificate"]["notAfter"], "2025-01-01T00:00:00Z");
        let back: Agent = serde_json::from_value(json).unwrap();
        assert_eq!(back, agent);
    }
}
