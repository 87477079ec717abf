//! The record of a bulk run, written as JSON by `--report` and `-o json`.
//!
//! The schema (version 1) is documented in the crate's README; fields are
//! only ever added.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use crate::api::Row;

/// A whole run of `certificate renew` or `files-sync`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Schema version, `1`.
    pub version: u32,
    /// `certificate renew` or `files-sync`.
    pub command: &'static str,
    /// Base URL of the server (never the token).
    pub url: Option<String>,
    /// Organisation id.
    pub org: Option<String>,
    /// How the command line selected agents: `all` (`--all`), `filter`
    /// (`--filter`) or `ids` (`--id`, with or without `--filter`).
    pub selection: &'static str,
    /// The `--filter` text exactly as given (`null` without `--filter`),
    /// recorded before it is checked, so an invalid filter is still named.
    pub filter_input: Option<String>,
    /// The effective filter in canonical form. `null` when the filter was
    /// never resolved (the run failed first: see `error`), or when every
    /// agent is selected (`selection` is `all`, with no expiry option).
    pub filter: Option<String>,
    /// Whether this was a dry run.
    pub dry_run: bool,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When the run ended.
    pub finished_at: Option<String>,
    /// How the run ended: `completed`, `dry-run`, `nothing-matched`,
    /// `refused`, `declined`, `failed` or `interrupted`.
    pub outcome: &'static str,
    /// The process exit code.
    pub exit_code: u8,
    /// Why the run failed, when it did.
    pub error: Option<ReportError>,
    /// The command request as a curl line, token redacted; with `--id`,
    /// the first agent's request (each agent gets one like it).
    pub request: Option<String>,
    /// Whether the command request (with `--id`: any of them) was sent (the
    /// server may have acted on it even when the run then failed or was
    /// interrupted).
    pub request_sent: bool,
    /// How many agents the preview listed.
    pub matched: usize,
    /// One entry per matched agent.
    pub agents: Vec<AgentEntry>,
    /// Counts per result.
    pub summary: Summary,
    /// The command to run for agents that were offline, once they are back.
    pub follow_up: Option<String>,
}

/// Why a run failed.
#[derive(Debug, Clone, Serialize)]
pub struct ReportError {
    /// A stable kind, the same word JSON errors on stderr carry (one of
    /// `crate::error::KINDS`).
    pub kind: &'static str,
    /// For `invalid-filter`: the filter's error code, e.g. `unexpected-end`.
    pub code: Option<&'static str>,
    /// One lowercase line.
    pub message: String,
}

/// What happened to one agent.
#[derive(Debug, Clone, Serialize)]
pub struct AgentEntry {
    /// The agent's id.
    pub id: String,
    /// Host name, when known.
    pub hostname: Option<String>,
    /// Whether the agent was online when listed.
    pub online: Option<bool>,
    /// Certificate expiry when listed (RFC 3339, UTC).
    pub not_after: Option<String>,
    /// `pending` (nothing sent yet), `renewed`, `synced`, `offline` (the
    /// preview showed it offline: a renew was accepted but the agent must be
    /// files-synced once back online; a files-sync did not reach it and must
    /// be run again then), `failed` or `unknown` (the server's answer did
    /// not mention it).
    pub result: &'static str,
    /// The server's message for a failure, or the server's status string
    /// when it was not one this tool knows.
    pub message: Option<String>,
    /// Whether the preview listed this agent. `false` for an agent that
    /// the server's answer names but the preview did not: it came to match
    /// the filter between the listing and the command, so nobody confirmed
    /// it (the run then exits 3).
    pub previewed: bool,
}

/// Counts per result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// Agents renewed.
    pub renewed: usize,
    /// Agents synced.
    pub synced: usize,
    /// Agents that were offline.
    pub offline: usize,
    /// Agents that failed.
    pub failed: usize,
    /// Agents the answer did not mention.
    pub unknown: usize,
    /// Agents the command reached that the preview did not list.
    pub not_previewed: usize,
}

impl Report {
    /// A fresh report for `command`.
    pub fn new(
        command: &'static str,
        selection: &'static str,
        filter_input: Option<String>,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Report {
        Report {
            version: 1,
            command,
            url: None,
            org: None,
            selection,
            filter_input,
            filter: None,
            dry_run,
            started_at: timestamp(now),
            finished_at: None,
            outcome: "failed",
            exit_code: 1,
            error: None,
            request: None,
            request_sent: false,
            matched: 0,
            agents: Vec::new(),
            summary: Summary::default(),
            follow_up: None,
        }
    }

    /// Records the matched agents, all pending.
    pub fn set_matched(&mut self, rows: &[Row]) {
        self.matched = rows.len();
        self.agents = rows
            .iter()
            .map(|row| AgentEntry {
                id: row.id.clone(),
                hostname: row.hostname.clone(),
                online: row.online,
                not_after: row.not_after.map(timestamp),
                result: "pending",
                message: None,
                previewed: true,
            })
            .collect();
    }

    /// Recounts the summary and builds the follow-up command.
    pub fn tally(&mut self) {
        let mut summary = Summary::default();
        for agent in &self.agents {
            match agent.result {
                "renewed" => summary.renewed += 1,
                "synced" => summary.synced += 1,
                "offline" => summary.offline += 1,
                "failed" => summary.failed += 1,
                "unknown" => summary.unknown += 1,
                _ => {}
            }
            summary.not_previewed += usize::from(!agent.previewed);
        }
        self.summary = summary;
        let offline: Vec<&str> =
            self.agents.iter().filter(|a| a.result == "offline").map(|a| a.id.as_str()).collect();
        self.follow_up = (!offline.is_empty()).then(|| follow_up_command(&offline));
    }
}

/// `nxagents files-sync --id A --id B`, one command for every id.
pub fn follow_up_command(ids: &[&str]) -> String {
    let mut command = "nxagents files-sync".to_owned();
    for id in ids {
        command.push_str(" --id ");
        command.push_str(id);
    }
    command
}

/// RFC 3339 in UTC, whole seconds.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ids: &[&str], expect: &str) {
        assert_eq!(follow_up_command(ids), expect);
    }

    #[test]
    fn follow_ups() {
        check(&["a"], "nxagents files-sync --id a");
        check(&["a", "b"], "nxagents files-sync --id a --id b");
    }
}
