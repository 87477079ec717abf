//! The fleet in memory: lookup by id, selection by filter, the commands.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use nxlog_filter::Predicate;
use serde::Serialize;
use uuid::Uuid;

use crate::Error;
use crate::agent::{Agent, Certificate, LATEST_TEXT, format_time, is_writable_time};

/// Which agents a request addresses.
#[derive(Debug)]
pub(crate) enum Selection {
    /// `*` without a filter.
    All,
    /// `*` with a filter.
    Filter(Predicate),
}

impl Selection {
    fn matches(&self, agent: &Agent) -> bool {
        match self {
            Selection::All => true,
            Selection::Filter(predicate) => predicate.matches(agent),
        }
    }
}

/// One item of a command's response array.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub(crate) struct Outcome {
    pub(crate) id: Uuid,
    pub(crate) status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

impl Outcome {
    fn success(id: Uuid) -> Outcome {
        Outcome { id, status: "success", error: None }
    }

    // The API nests the error as a string holding JSON.
    fn error(id: Uuid, message: &str, help: &str) -> Outcome {
        let inner = serde_json::json!({ "message": message, "help": help }).to_string();
        Outcome { id, status: "error", error: Some(inner) }
    }
}

/// The agents, in the order they were loaded, plus an index by id.
#[derive(Debug, Default)]
pub(crate) struct Fleet {
    agents: Vec<Agent>,
    index: HashMap<Uuid, usize>,
    // Set once the final state is written: later commands would be lost.
    closed: bool,
}

/// Returned by a command once the fleet is closed for shutdown.
#[derive(Debug)]
pub(crate) struct Closed;

impl Fleet {
    pub(crate) fn new(mut agents: Vec<Agent>, source: &str) -> Result<Fleet, Error> {
        crate::agent::pack_hostnames(&mut agents);
        let mut index = HashMap::with_capacity(agents.len());
        for (i, agent) in agents.iter().enumerate() {
            let dates = [
                ("notBefore", agent.certificate.not_before),
                ("notAfter", agent.certificate.not_after),
            ];
            if let Some((member, _)) = dates.iter().find(|(_, t)| !is_writable_time(*t)) {
                return Err(Error::Config(format!(
                    "fleet `{source}`: agent {i} (`{}`): `certificate.{member}` is outside the years 0000 to 9999",
                    agent.id()
                )));
            }
            if index.insert(agent.id(), i).is_some() {
                return Err(Error::DuplicateId {
                    path: source.to_string(),
                    index: i,
                    id: agent.id(),
                });
            }
        }
        Ok(Fleet { agents, index, closed: false })
    }

    /// Reads a fleet file's text: a JSON array of agent records.
    pub(crate) fn parse(text: &str, source: &str) -> Result<Fleet, Error> {
        let agents: Vec<Agent> = serde_json::from_str(text)
            .map_err(|e| Error::Fleet { path: source.to_string(), source: e })?;
        Fleet::new(agents, source)
    }

    pub(crate) fn agents(&self) -> &[Agent] {
        &self.agents
    }

    pub(crate) fn get(&self, id: Uuid) -> Option<&Agent> {
        self.index.get(&id).map(|&i| &self.agents[i])
    }

    fn get_mut(&mut self, id: Uuid) -> Option<&mut Agent> {
        self.index.get(&id).map(|&i| &mut self.agents[i])
    }

    /// The agents of page `page` (0-based) of `limit` matches.
    pub(crate) fn page(&self, selection: &Selection, page: u64, limit: usize) -> Vec<Agent> {
        let Some(skip) = page.checked_mul(limit as u64).and_then(|n| usize::try_from(n).ok())
        else {
            return Vec::new();
        };
        self.agents
            .iter()
            .filter(|a| selection.matches(a))
            .skip(skip)
            .take(limit)
            .cloned()
            .collect()
    }

    pub(crate) fn count(&self, selection: &Selection) -> usize {
        self.agents.iter().filter(|a| selection.matches(a)).count()
    }

    pub(crate) fn set_online(&mut self, id: Uuid, online: bool) -> Option<bool> {
        let agent = self.get_mut(id)?;
        Some(std::mem::replace(&mut agent.online, online))
    }

    /// Renews the selected agents' certificates (see [`renew_one`]).
    pub(crate) fn renew(
        &mut self,
        selection: &Selection,
        now: DateTime<Utc>,
        validity: Duration,
    ) -> Result<Vec<Outcome>, Closed> {
        self.command(selection, |agent| renew_one(agent, now, validity))
    }

    /// Renews one agent; `None` when no agent has that id.
    pub(crate) fn renew_id(
        &mut self,
        id: Uuid,
        now: DateTime<Utc>,
        validity: Duration,
    ) -> Result<Option<Outcome>, Closed> {
        self.command_id(id, |agent| renew_one(agent, now, validity))
    }

    /// Files-syncs the selected agents (see [`files_sync_one`]).
    pub(crate) fn files_sync(
        &mut self,
        selection: &Selection,
        now: DateTime<Utc>,
        validity: Duration,
    ) -> Result<Vec<Outcome>, Closed> {
        self.command(selection, |agent| files_sync_one(agent, now, validity))
    }

    /// Files-syncs one agent; `None` when no agent has that id.
    pub(crate) fn files_sync_id(
        &mut self,
        id: Uuid,
        now: DateTime<Utc>,
        validity: Duration,
    ) -> Result<Option<Outcome>, Closed> {
        self.command_id(id, |agent| files_sync_one(agent, now, validity))
    }

    fn command(
        &mut self,
        selection: &Selection,
        apply: impl FnMut(&mut Agent) -> Outcome,
    ) -> Result<Vec<Outcome>, Closed> {
        if self.closed {
            return Err(Closed);
        }
        Ok(self.agents.iter_mut().filter(|a| selection.matches(a)).map(apply).collect())
    }

    fn command_id(
        &mut self,
        id: Uuid,
        apply: impl FnOnce(&mut Agent) -> Outcome,
    ) -> Result<Option<Outcome>, Closed> {
        if self.closed {
            return Err(Closed);
        }
        Ok(self.get_mut(id).map(apply))
    }

    /// Stops all further commands and returns the final state.
    pub(crate) fn close(&mut self) -> &[Agent] {
        self.closed = true;
        &self.agents
    }
}

/// The certificate a renewal issues at `now`, or `None` when its end cannot
/// be written as an RFC 3339 time (after `9999-12-31T23:59:59Z`).
fn new_certificate(now: DateTime<Utc>, validity: Duration) -> Option<Certificate> {
    let not_after = now.checked_add_signed(validity)?;
    let certificate = Certificate { not_before: now, not_after };
    (is_writable_time(now) && is_writable_time(not_after)).then_some(certificate)
}

/// The error item for a renewal whose certificate cannot be written.
fn unwritable(agent: &Agent, now: DateTime<Utc>, validity: Duration) -> Outcome {
    Outcome::error(
        agent.id(),
        &format!(
            "a certificate issued at {} for {} days would end after {LATEST_TEXT}",
            format_time(now),
            validity.num_days()
        ),
        "lower the emulator's `--validity-days` or `--now`; the agent was left unchanged",
    )
}

/// An online agent gets a new certificate now; an offline one keeps its old
/// certificate and is marked for a files sync. Both answer `success`. The
/// new certificate is computed before anything changes: one that would end
/// after the year 9999 answers an error item and leaves the agent as it was.
fn renew_one(agent: &mut Agent, now: DateTime<Utc>, validity: Duration) -> Outcome {
    let Some(certificate) = new_certificate(now, validity) else {
        return unwritable(agent, now, validity);
    };
    if agent.online {
        agent.certificate = certificate;
        agent.needs_files_sync = false;
    } else {
        agent.needs_files_sync = true;
    }
    Outcome::success(agent.id())
}

/// An online agent receives any pending certificate; an offline agent
/// cannot be reached and answers an error item.
fn files_sync_one(agent: &mut Agent, now: DateTime<Utc>, validity: Duration) -> Outcome {
    if !agent.online {
        return Outcome::error(
            agent.id(),
            "agent is offline",
            "run files-sync again once the agent is back online",
        );
    }
    if agent.needs_files_sync {
        let Some(certificate) = new_certificate(now, validity) else {
            return unwritable(agent, now, validity);
        };
        agent.certificate = certificate;
        agent.needs_files_sync = false;
    }
    Outcome::success(agent.id())
}

/// Checks at start-up that `path` can be written on shutdown: it is not a
/// directory, and its directory exists and takes a new file (a probe file
/// beside it, created and removed at once).
pub(crate) fn check_state_out(path: &Path) -> Result<(), Error> {
    let name = path.display().to_string();
    let fail = |source| Error::Io { action: "write", path: name.clone(), source };
    if path.is_dir() {
        return Err(fail(std::io::Error::other("it is a directory; expected a file path")));
    }
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let probe = path.with_file_name(format!(".{file_name}.{}.probe", std::process::id()));
    std::fs::OpenOptions::new().write(true).create_new(true).open(&probe).map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// Writes `agents` as a pretty JSON array to `path` atomically: a temporary
/// file beside it, flushed to disk, then renamed over the target.
pub(crate) fn write_state(path: &Path, agents: &[Agent]) -> Result<(), Error> {
    let fail = |source| Error::Io { action: "write", path: path.display().to_string(), source };
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));

    let write = || -> std::io::Result<()> {
        let file = std::fs::File::create(&temp)?;
        let mut out = std::io::BufWriter::new(file);
        serde_json::to_writer_pretty(&mut out, agents)?;
        out.write_all(b"\n")?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&temp);
        return Err(fail(e));
    }

    // Make the rename itself durable; not every platform can open a directory.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::demo_fleet;

    fn now() -> DateTime<Utc> {
        "2026-01-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn renew_then_files_sync_follows_online_state() {
        let mut fleet = Fleet::new(demo_fleet(100, 3, now()), "demo").unwrap();
        let offline = fleet.agents().iter().find(|a| !a.online).unwrap().clone();
        let later = now() + Duration::days(1);
        let year = Duration::days(365);

        let out = fleet.renew_id(offline.id(), later, year).unwrap().unwrap();
        assert_eq!(out, Outcome::success(offline.id()));
        let agent = fleet.get(offline.id()).unwrap();
        assert_eq!(agent.certificate, offline.certificate, "offline keeps its certificate");
        assert!(agent.needs_files_sync);

        let out = fleet.files_sync_id(offline.id(), later, year).unwrap().unwrap();
        assert_eq!(out.status, "error");
        assert_eq!(
            out.error.as_deref(),
            Some(
                r#"{"help":"run files-sync again once the agent is back online","message":"agent is offline"}"#
            )
        );

        fleet.set_online(offline.id(), true);
        assert_eq!(fleet.get(offline.id()).unwrap().status(), crate::Status::Warning);
        fleet.files_sync_id(offline.id(), later, year).unwrap().unwrap();
        let agent = fleet.get(offline.id()).unwrap();
        assert_eq!(
            (agent.certificate.not_before, agent.certificate.not_after),
            (later, later + year)
        );
        assert!(!agent.needs_files_sync);
    }

    #[test]
    fn renewal_past_year_9999_leaves_the_agent_whole() {
        let mut fleet = Fleet::new(demo_fleet(20, 3, now()), "demo").unwrap();
        let before = fleet.agents().to_vec();
        let late: DateTime<Utc> = "9999-06-01T00:00:00Z".parse().unwrap();
        for (at, validity) in [
            (late, Duration::days(365)),
            (now(), Duration::days(3_000_000)),
            (now(), Duration::MAX),
        ] {
            let out = fleet.renew(&Selection::All, at, validity).unwrap();
            assert!(out.iter().all(|o| o.status == "error"), "{at} + {validity}");
            assert_eq!(fleet.agents(), &before[..], "no field written");
        }
        let ok = fleet.renew(&Selection::All, late, Duration::days(200)).unwrap();
        assert!(ok.iter().all(|o| o.status == "success"));
    }

    #[test]
    fn closed_fleet_refuses_commands() {
        let mut fleet = Fleet::new(demo_fleet(3, 3, now()), "demo").unwrap();
        assert_eq!(fleet.close().len(), 3);
        assert!(fleet.renew(&Selection::All, now(), Duration::days(1)).is_err());
    }

    #[test]
    fn page_past_the_end_is_empty() {
        let fleet = Fleet::new(demo_fleet(5, 3, now()), "demo").unwrap();
        assert_eq!(fleet.page(&Selection::All, 0, 2).len(), 2);
        assert_eq!(fleet.page(&Selection::All, 2, 2).len(), 1);
        assert_eq!(fleet.page(&Selection::All, 3, 2).len(), 0);
        assert_eq!(fleet.page(&Selection::All, u64::MAX, 1000).len(), 0);
    }

    #[test]
    fn duplicate_ids_are_rejected() {
        let mut agents = demo_fleet(2, 3, now());
        agents[1] = agents[0].clone();
        let err = Fleet::new(agents, "f.json").unwrap_err();
        assert!(err.to_string().starts_with("fleet file `f.json`: agent 1 repeats id"), "{err}");
    }
}
