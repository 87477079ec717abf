//! What a request is about: all agents, a filter, one agent or many.

use std::fmt;
use std::str::FromStr;

use nxlog_filter::Filter;

use crate::error::ConfigError;

/// An agent's id: a UUID, checked so that nothing else (`*`, a path) can
/// end up in the path where one agent is meant.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgentId(String);

impl AgentId {
    /// Checks that `text` is a UUID (`8-4-4-4-12` hex digits, any letter
    /// case) and keeps it as given, surrounding whitespace trimmed.
    ///
    /// ```
    /// use nxlog_client::AgentId;
    /// assert!(AgentId::parse("1589a98a-66b3-11ee-80d5-4f584c6f672d").is_ok());
    /// assert!(AgentId::parse("*").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<AgentId, ConfigError> {
        let text = text.trim();
        let groups: Vec<&str> = text.split('-').collect();
        let is_uuid = groups.len() == 5
            && groups.iter().zip([8, 4, 4, 4, 12]).all(|(group, len)| {
                group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit())
            });
        if !is_uuid {
            return Err(ConfigError::AgentId { input: text.to_owned() });
        }
        Ok(AgentId(text.to_owned()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgentId {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<AgentId, ConfigError> {
        AgentId::parse(text)
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgentId({})", self.0)
    }
}

/// Filter text sent as given, without parsing or validation.
///
/// Made only through [`Selector::raw_filter_unchecked`], so that skipping
/// validation is always visible at the call site. The text is still
/// percent-encoded exactly once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFilter(String);

impl RawFilter {
    /// The text as it will be sent (before percent-encoding).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A set of agents the server works out: everything, or what a filter
/// matches. Used by listing, counting and commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// Every agent (`agents/*` without a filter).
    All,
    /// The agents the filter matches; sent in its canonical form.
    Filter(Filter),
    /// Unvalidated filter text; see [`Selector::raw_filter_unchecked`].
    Raw(RawFilter),
}

impl Selector {
    /// Sends `text` as the filter without parsing it: the escape hatch for a
    /// filter the server understands and nxlog-filter does not (yet). Prefer
    /// [`Selector::Filter`].
    pub fn raw_filter_unchecked(text: String) -> Selector {
        Selector::Raw(RawFilter(text))
    }

    /// The `filter` query value, percent-encoded once; `None` for all agents.
    pub(crate) fn query_value(&self) -> Option<String> {
        match self {
            Selector::All => None,
            Selector::Filter(filter) => Some(filter.to_query()),
            Selector::Raw(raw) => Some(nxlog_filter::encode_query_value(&raw.0)),
        }
    }
}

impl From<Filter> for Selector {
    fn from(filter: Filter) -> Selector {
        Selector::Filter(filter)
    }
}

/// What a command (renew, files-sync) applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A set the server works out: all agents or a filter, one request.
    Select(Selector),
    /// One agent, one request to `agents/<id>/...`.
    Id(AgentId),
    /// Many agents, one request each, run concurrently; every id is
    /// reported, with its result or the error that stopped it.
    Ids(Vec<AgentId>),
}

impl Target {
    /// Every agent.
    pub fn all() -> Target {
        Target::Select(Selector::All)
    }
}

impl From<Selector> for Target {
    fn from(selector: Selector) -> Target {
        Target::Select(selector)
    }
}

impl From<Filter> for Target {
    fn from(filter: Filter) -> Target {
        Target::Select(Selector::Filter(filter))
    }
}

impl From<AgentId> for Target {
    fn from(id: AgentId) -> Target {
        Target::Id(id)
    }
}

impl From<Vec<AgentId>> for Target {
    fn from(ids: Vec<AgentId>) -> Target {
        Target::Ids(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_id(input: &str, ok: bool) {
        assert_eq!(AgentId::parse(input).is_ok(), ok, "input {input:?}");
    }

    #[test]
    fn agent_ids() {
        check_id("1589a98a-66b3-11ee-80d5-4f584c6f672d", true);
        check_id("1589A98A-66B3-11EE-80D5-4F584C6F672D", true);
        check_id(" 1589a98a-66b3-11ee-80d5-4f584c6f672d\n", true);
        check_id("*", false);
        check_id("", false);
        check_id("PC1", false);
        check_id("1589a98a-66b3-11ee-80d5-4f584c6f672", false);
        check_id("1589a98a-66b3-11ee-80d5-4f584c6f672d-", false);
        check_id("1589a98a66b311ee80d54f584c6f672d", false);
        check_id("../../../../etc/passwd", false);
        check_id("1589a98g-66b3-11ee-80d5-4f584c6f672d", false);
    }

    #[test]
    fn raw_filters_are_encoded_once() {
        let selector = Selector::raw_filter_unchecked("(a=\"b c+d%\")".to_owned());
        assert_eq!(selector.query_value().unwrap(), "%28a%3D%22b%20c%2Bd%25%22%29");
        assert_eq!(Selector::All.query_value(), None);
    }
}
