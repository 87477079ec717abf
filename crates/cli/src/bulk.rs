//! `certificate renew` and `files-sync`: select, preview, confirm, send,
//! report.
//!
//! Both commands take the same path. The effective filter is built from
//! `--filter`, `--id` and the expiry options; the listing that previews the
//! targets uses exactly that filter, and so does the command request. The
//! report is written on every path, including errors and Ctrl-C.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use nxlog_filter::Filter;
use tracing::debug;

use crate::api::{Api, Item, JobKind, Row};
use crate::check;
use crate::cli::{BulkArgs, Global, RenewArgs, ReportFormat};
use crate::config::{self, ProcessEnv};
use crate::error::{Exit, Failure, Result};
use crate::output::{Colour, Out};
use crate::report::{Report, ReportError};

/// Agents shown in the preview before "and N more".
const PREVIEW_ROWS: usize = 10;

/// A bulk command as given on the command line, before anything is checked.
#[derive(Debug)]
pub struct Job<'a> {
    kind: JobKind,
    args: &'a BulkArgs,
    expired: bool,
    expiring_within: Option<&'a str>,
}

impl<'a> Job<'a> {
    /// `certificate renew`.
    pub fn renew(args: &'a RenewArgs) -> Job<'a> {
        Job {
            kind: JobKind::Renew,
            args: &args.bulk,
            expired: args.expired,
            expiring_within: args.expiring_within.as_deref(),
        }
    }

    /// `files-sync`.
    pub fn files_sync(args: &'a BulkArgs) -> Job<'a> {
        Job { kind: JobKind::FilesSync, args, expired: false, expiring_within: None }
    }

    fn json(&self) -> bool {
        self.args.output == ReportFormat::Json
    }
}

/// Runs a bulk command and writes its report, whatever happens.
pub fn run(global: &Global, job: Job<'_>, out: &mut Out) -> Result<Exit> {
    let started = Utc::now();
    let report = Arc::new(Mutex::new(Report::new(job.kind.name(), job.args.dry_run, started)));

    let mut result = execute(global, &job, out, &report);
    let sent = lock(&report).request_sent;
    if let Err(failure) = &mut result {
        let answer_lost = sent && matches!(failure.exit, Exit::Interrupted | Exit::Unexpected);
        if answer_lost {
            // The server may have carried out a command whose answer was lost.
            failure.detail = Some(
                "hint: the command request was sent, so the server may have acted on it; \
                 check with `nxagents agents list`"
                    .to_owned(),
            );
        }
    }

    // Whatever happened, the report records it and is written.
    let mut report = report.lock().unwrap_or_else(|e| e.into_inner()).clone();
    report.finished_at = Some(crate::report::timestamp(Utc::now()));
    report.tally();
    match &result {
        Ok((exit, outcome)) => {
            report.outcome = outcome;
            report.exit_code = exit.code();
        }
        Err(failure) => {
            report.outcome = match failure.exit {
                Exit::Interrupted => "interrupted",
                _ if failure.kind == "refused" => "refused",
                _ if failure.kind == "declined" => "declined",
                _ => "failed",
            };
            report.exit_code = failure.exit.code();
            report.error =
                Some(ReportError { kind: failure.kind.clone(), message: failure.message.clone() });
        }
    }
    let written = write_report(job.args, &report);
    if job.json() {
        out.line(&serde_json::to_string_pretty(&report).unwrap_or_default());
    }

    if let (Err(_), Err(not_written)) = (&result, &written) {
        out.warn(&format!("error: {}", not_written.message));
    }
    let exit = result.map(|(exit, _)| exit)?;
    written?;
    Ok(exit)
}

/// Writes `--report FILE` when asked.
fn write_report(args: &BulkArgs, report: &Report) -> Result<()> {
    let Some(path) = &args.report else { return Ok(()) };
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    std::fs::write(path, text).map_err(|e| {
        Failure::unexpected(format!("cannot write the report to `{}`: {e}", path.display()))
    })?;
    debug!("report written to `{}`", path.display());
    Ok(())
}

type Shared = Arc<Mutex<Report>>;

fn lock(report: &Shared) -> std::sync::MutexGuard<'_, Report> {
    report.lock().unwrap_or_else(|e| e.into_inner())
}

/// Everything between reading the options and the final summary.
fn execute(
    global: &Global,
    job: &Job<'_>,
    out: &mut Out,
    report: &Shared,
) -> Result<(Exit, &'static str)> {
    let now = check::resolve_now(job.args.now.as_deref())?;
    let filter = effective_filter(job, now, out)?;
    lock(report).filter = filter.as_ref().map(Filter::to_string);

    let connection = config::resolve(global, &ProcessEnv)?;
    {
        let mut report = lock(report);
        report.url = Some(connection.url.clone());
        report.org = Some(connection.org.clone());
    }
    let api = Api::connect(&connection)?;

    let runtime = crate::runtime()?;
    let result = runtime.block_on(async {
        tokio::select! {
            result = send(&api, job, filter.as_ref(), now, out, report) => result,
            _ = tokio::signal::ctrl_c() => {
                Err(Failure::new(Exit::Interrupted, "interrupted", "interrupted"))
            }
        }
    });
    // A prompt still waiting for a line must not keep the process alive.
    runtime.shutdown_background();
    result
}

/// `--filter`, `--id` and the expiry options, combined with `and`.
fn effective_filter(job: &Job<'_>, now: DateTime<Utc>, out: &mut Out) -> Result<Option<Filter>> {
    let args = job.args;
    let mut filter = None;

    if let Some(text) = &args.filter {
        let checked = check::compile(text, false, now)?;
        if !job.json() {
            check::show_warnings(&checked, text, out);
        }
        filter = Some(checked.filter);
    }
    if !args.id.is_empty() {
        filter = Some(ids_filter(&args.id)?);
    }

    let cutoff = match (job.expired, job.expiring_within) {
        (true, _) => Some(now),
        (false, Some(text)) => Some(now + parse_duration(text)?),
        (false, None) => None,
    };
    if let Some(cutoff) = cutoff {
        let expiry = Filter::field("certificate/not-after").lt(cutoff);
        filter = Some(match filter {
            Some(filter) => filter.and(expiry),
            None => expiry,
        });
    }
    debug!("effective filter: {}", filter.as_ref().map_or("none".to_owned(), Filter::to_string));
    Ok(filter)
}

/// `(id="A" or id="B")` from `--id A --id B`, each checked to be a UUID.
///
/// FIXME: every id goes into one filter, so one listing and one command
/// request; a few hundred ids make a URL longer than many servers and
/// proxies accept (about 46 bytes per id once encoded). The fix is to split
/// the ids into batches of, say, 100 and list and send per batch, joining
/// the reports.
fn ids_filter(ids: &[String]) -> Result<Filter> {
    let mut filter: Option<Filter> = None;
    for id in ids {
        let parsed = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
            Failure::usage(format!(
                "invalid `--id` value `{id}`: expected a uuid such as \
                 `1589a98a-66b3-11ee-80d5-4f584c6f672d`"
            ))
        })?;
        let one = Filter::field("id").eq(&parsed.hyphenated().to_string());
        filter = Some(match filter {
            Some(filter) => filter.or(one),
            None => one,
        });
    }
    filter.ok_or_else(|| Failure::usage("`--id` needs a value"))
}

/// `30d`, `2w`, `12h`, `90m`, `45s`: a positive whole number and a unit.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let refuse = |why: &str| {
        Failure::usage(format!(
            "invalid duration `{text}`: {why}; expected a number and a unit such as `30d` or `2w`"
        ))
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(refuse("missing number"));
    }
    let n: i64 = digits.parse().map_err(|_| refuse("number too large"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        "" => return Err(refuse("missing unit")),
        _ => return Err(refuse(&format!("unknown unit `{unit}`"))),
    };
    // About 100 years is more than any certificate lives.
    let seconds = n.checked_mul(seconds_per_unit).filter(|s| *s <= 100 * 366 * 86_400);
    let seconds = seconds.ok_or_else(|| refuse("too long"))?;
    Ok(Duration::seconds(seconds))
}

/// List, preview, confirm, send, report.
async fn send(
    api: &Api,
    job: &Job<'_>,
    filter: Option<&Filter>,
    now: DateTime<Utc>,
    out: &mut Out,
    report: &Shared,
) -> Result<(Exit, &'static str)> {
    let json = job.json();
    let verb = job.kind.verb();
    if !json {
        let shown =
            filter.map_or("none, every agent is selected (--all)".to_owned(), Filter::to_string);
        out.line(&format!("filter: {shown}"));
    }

    // The same listing call the command itself will select.
    let rows = api.list(filter, out.stderr_terminal && !json).await?;
    lock(report).set_matched(&rows);
    let request = api.curl(job.kind, filter);
    lock(report).request = Some(request.clone());

    if !json {
        warn_unknown_ids(&job.args.id, &rows, out);
    }
    if rows.is_empty() {
        if !json {
            out.line("no agent matches; nothing to do");
        }
        let exit = if job.args.fail_on_empty { Exit::NothingMatched } else { Exit::Success };
        return Ok((exit, "nothing-matched"));
    }
    if !json {
        preview(&rows, now, out);
    }

    if job.args.dry_run {
        if !json {
            out.line(&format!("dry run: would {verb} {} with this request:", agents(rows.len())));
            out.line(&format!("  {request}"));
        }
        return Ok((Exit::Success, "dry-run"));
    }
    if !job.args.yes {
        confirm(job, rows.len(), out).await?;
    }

    debug!("sending {} for {}", job.kind.name(), agents(rows.len()));
    lock(report).request_sent = true;
    let items = api.send(job.kind, filter).await?;
    let failed = record(job.kind, &rows, &items, report);

    let snapshot = {
        let mut report = lock(report);
        report.tally();
        report.clone()
    };
    if !json {
        show_results(&snapshot, out);
    }
    let exit = if failed { Exit::SomeFailed } else { Exit::Success };
    Ok((exit, "completed"))
}

/// Joins the server's answer to the listed agents.
fn record(kind: JobKind, rows: &[Row], items: &[Item], report: &Shared) -> bool {
    let by_id: HashMap<String, &Item> =
        items.iter().map(|i| (i.id.to_ascii_lowercase(), i)).collect();
    let mut report = lock(report);
    let mut any_failed = false;
    for entry in &mut report.agents {
        let Some(item) = by_id.get(&entry.id.to_ascii_lowercase()) else {
            entry.result = "unknown";
            entry.message = Some("the server's answer does not mention this agent".to_owned());
            any_failed = true;
            continue;
        };
        let was_offline = entry.online == Some(false);
        (entry.result, entry.message) = match (item.status.as_str(), kind) {
            ("success", JobKind::Renew) if was_offline => ("offline", None),
            ("success", JobKind::Renew) => ("renewed", None),
            ("success", JobKind::FilesSync) if was_offline => ("offline", None),
            ("success", JobKind::FilesSync) => ("synced", None),
            ("error", _) => ("failed", item.message.clone()),
            (other, _) => ("failed", Some(format!("unexpected status `{other}`"))),
        };
        any_failed |= entry.result == "failed";
    }

    // Agents the answer names that the listing did not (they matched in
    // between) still belong in the report.
    let listed: HashSet<String> = rows.iter().map(|r| r.id.to_ascii_lowercase()).collect();
    for item in items {
        if listed.contains(&item.id.to_ascii_lowercase()) {
            continue;
        }
        let (result, message) = match item.status.as_str() {
            "success" if kind == JobKind::Renew => ("renewed", None),
            "success" => ("synced", None),
            "error" => ("failed", item.message.clone()),
            other => ("failed", Some(format!("unexpected status `{other}`"))),
        };
        any_failed |= result == "failed";
        report.agents.push(crate::report::AgentEntry {
            id: item.id.clone(),
            hostname: None,
            online: None,
            not_after: None,
            result,
            message,
        });
    }
    any_failed
}

/// Asks on the terminal, or refuses at once when nobody can answer.
async fn confirm(job: &Job<'_>, count: usize, out: &mut Out) -> Result<()> {
    let verb = job.kind.verb();
    if !(out.stdin_terminal && out.stderr_terminal) {
        return Err(Failure::new(
            Exit::Usage,
            "refused",
            format!("refusing to {verb} {} without confirmation", agents(count)),
        )
        .with_detail(
            "hint: stdin is not a terminal, so nobody can answer the question; \
             pass `--yes` to go ahead or `--dry-run` to see the request",
        ));
    }
    eprint!("{} {}? [y/N] ", capitalise(verb), agents(count));
    let _ = std::io::stderr().flush();

    // Read on a blocking thread so that Ctrl-C still reaches the runtime.
    let answer = tokio::task::spawn_blocking(|| {
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer).map(|_| answer)
    })
    .await
    .map_err(|e| Failure::unexpected(format!("cannot read the answer: {e}")))?
    .map_err(|e| Failure::unexpected(format!("cannot read the answer: {e}")))?;
    let yes = matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes");
    if !yes {
        return Err(Failure::new(Exit::Unexpected, "declined", "declined; nothing was sent"));
    }
    Ok(())
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// `1 agent`, `2 agents`.
pub fn agents(n: usize) -> String {
    if n == 1 { "1 agent".to_owned() } else { format!("{n} agents") }
}

/// The first matched agents as a table.
fn preview(rows: &[Row], now: DateTime<Utc>, out: &mut Out) {
    let verb = if rows.len() == 1 { "matches" } else { "match" };
    out.line(&format!("{} {verb}:", agents(rows.len())));
    let shown = &rows[..rows.len().min(PREVIEW_ROWS)];
    out.line(&crate::agents::table(shown, now, out));
    if rows.len() > shown.len() {
        out.line(&format!("... and {} more", rows.len() - shown.len()));
    }
}

/// Ids given with `--id` that no agent has.
fn warn_unknown_ids(ids: &[String], rows: &[Row], out: &mut Out) {
    for id in ids {
        let found = rows.iter().any(|r| r.id.eq_ignore_ascii_case(id.trim()));
        if !found {
            out.warn(&format!("warning: no agent has the id `{}`", id.trim()));
        }
    }
}

/// One line per agent, a summary, and the follow-up for offline agents.
fn show_results(report: &Report, out: &mut Out) {
    for agent in &report.agents {
        let (label, colour) = match agent.result {
            "renewed" | "synced" => (agent.result, Colour::Green),
            "offline" => ("offline", Colour::Yellow),
            _ => (agent.result, Colour::Red),
        };
        let padded = format!("{label:<8}");
        let mut line = format!(
            "{} {:<24} {}",
            out.paint(&padded, colour),
            agent.hostname.as_deref().unwrap_or("-"),
            agent.id
        );
        if agent.result == "offline" {
            line.push_str("  (offline: needs files-sync once back online)");
        }
        if let Some(message) = &agent.message {
            line.push_str(&format!("  {message}"));
        }
        out.line(&line);
    }

    let s = &report.summary;
    let mut parts = Vec::new();
    if report.command == "certificate renew" {
        parts.push(format!("{} renewed", s.renewed));
    } else {
        parts.push(format!("{} synced", s.synced));
    }
    parts.push(format!("{} offline", s.offline));
    parts.push(format!("{} failed", s.failed));
    if s.unknown > 0 {
        parts.push(format!("{} unknown", s.unknown));
    }
    out.line(&parts.join(", "));

    if let Some(command) = &report.follow_up {
        out.line(&follow_up_text(report.command, s.offline));
        out.line(&format!("  {command}"));
    }
}

/// The sentence before the follow-up command.
fn follow_up_text(command: &str, offline: usize) -> String {
    let renew = command == "certificate renew";
    match (offline, renew) {
        (1, true) => "1 agent was offline and keeps its old certificate until it receives \
                      files-sync; once it is back online, run:"
            .to_owned(),
        (n, true) => format!(
            "{n} agents were offline and keep their old certificates until they receive \
             files-sync; once they are back online, run:"
        ),
        (1, false) => {
            "1 agent was offline and did not sync; once it is back online, run:".to_owned()
        }
        (n, false) => {
            format!("{n} agents were offline and did not sync; once they are back online, run:")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Result<i64, &str>) {
        match (parse_duration(text), expect) {
            (Ok(d), Ok(seconds)) => assert_eq!(d.num_seconds(), seconds, "{text}"),
            (Err(e), Err(want)) => assert!(e.message.contains(want), "{text}: {}", e.message),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn durations() {
        check("30d", Ok(30 * 86_400));
        check("2w", Ok(14 * 86_400));
        check("12h", Ok(12 * 3_600));
        check("90m", Ok(90 * 60));
        check("45s", Ok(45));
        check("0d", Ok(0));
        check("d", Err("missing number"));
        check("30", Err("missing unit"));
        check("30y", Err("unknown unit `y`"));
        check("-3d", Err("missing number"));
        check("99999999999999999999d", Err("number too large"));
        check("999999w", Err("too long"));
    }

    #[test]
    fn many_ids_make_one_filter() {
        // Pins today's behaviour (see the FIXME on `ids_filter`).
        let ids: Vec<String> =
            (0..300).map(|i| format!("00000000-0000-4000-8000-{i:012}")).collect();
        let filter = ids_filter(&ids).unwrap();
        assert_eq!(filter.to_string().matches(" or ").count(), 299);
        assert!(filter.to_query().len() > 300 * 40);
    }

    #[test]
    fn plurals() {
        assert_eq!(agents(1), "1 agent");
        assert_eq!(agents(0), "0 agents");
        assert_eq!(agents(3), "3 agents");
    }
}
