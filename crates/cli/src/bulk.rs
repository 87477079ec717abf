//! `certificate renew` and `files-sync`: select, preview, confirm, send,
//! report.
//!
//! Both commands take the same path. The effective filter is built from
//! `--filter`, `--id` and the expiry options. Without `--id`, the listing
//! that previews the targets uses exactly that filter, and so does the one
//! command request. With `--id`, the ids are listed in batches of at most
//! [`ID_BATCH`] (each batch `and` the rest of the filter), so no URL grows
//! with the number of ids, and the command goes to each listed agent with
//! its own request. The report is written on every path, including errors
//! and Ctrl-C.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use nxlog_client::AgentId;
use nxlog_filter::Filter;
use tracing::{debug, trace};

use crate::api::{Api, Item, JobKind, Row};
use crate::check;
use crate::cli::{BulkArgs, Global, RenewArgs, ReportFormat};
use crate::config::{self, ProcessEnv};
use crate::error::{Exit, Failure, Result};
use crate::output::{Colour, Out, safe};
use crate::report::{Report, ReportError};

/// Agents shown in the preview before "and N more".
const PREVIEW_ROWS: usize = 10;

/// Ids in one listing filter. Each `id = "<uuid>"` with its ` or ` takes
/// about 58 bytes once percent-encoded, so a batch keeps the listing URL
/// near 3 KiB plus the `--filter`/expiry part, below the 4 to 8 KiB request
/// line many servers and proxies accept, however many ids are given.
pub const ID_BATCH: usize = 50;

/// What a bulk command selects.
#[derive(Debug, Clone, PartialEq)]
enum Selection {
    /// `--filter` and/or `--all` with the expiry options: one listing and
    /// one command request carrying this filter (`None`: every agent).
    Filter(Option<Filter>),
    /// `--id`: the ids (checked, lowercase, each once, in the order given),
    /// listed in batches with `also` (from `--filter` and the expiry
    /// options) `and`-ed to each batch; one command request per listed agent.
    Ids { ids: Vec<String>, also: Option<Filter> },
}

impl Selection {
    /// The effective filter in canonical form as a whole, as printed and
    /// recorded in the report; `None` selects every agent.
    fn effective(&self) -> Option<Filter> {
        match self {
            Selection::Filter(filter) => filter.clone(),
            Selection::Ids { ids, also } => {
                // Joined batch by batch: each join copies the terms so far.
                let ids = ids.chunks(ID_BATCH).filter_map(ids_filter).reduce(Filter::or)?;
                Some(match also {
                    Some(also) => ids.and(also.clone()),
                    None => ids,
                })
            }
        }
    }
}

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
///
/// The `--report` file is created first: a report that cannot be written is
/// a usage error before anything is listed or sent.
pub fn run(global: &Global, job: Job<'_>, out: &mut Out) -> Result<Exit> {
    let started = Utc::now();
    let mut report_file = open_report(job.args)?;
    let args = job.args;
    let selection = match (args.id.is_empty(), args.all) {
        (false, _) => "ids",
        (true, true) => "all",
        (true, false) => "filter",
    };
    let report =
        Report::new(job.kind.name(), selection, args.filter.clone(), args.dry_run, started);
    let report = Arc::new(Mutex::new(report));

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
            report.error = Some(ReportError {
                kind: failure.kind,
                code: failure.code,
                message: failure.message.clone(),
            });
        }
    }
    let written = write_report(report_file.as_mut(), &report);
    if job.json() {
        out.line(&serde_json::to_string_pretty(&report).unwrap_or_default());
    }

    if let (Err(_), Err(not_written)) = (&result, &written) {
        out.warn(&format!("error: {}", safe(&not_written.message)));
    }
    let exit = result.map(|(exit, _)| exit)?;
    written?;
    Ok(exit)
}

/// The `--report` file, created (or emptied) and open for writing, so that
/// a path that cannot be written stops the run before any request.
fn open_report(args: &BulkArgs) -> Result<Option<ReportFile>> {
    let Some(path) = &args.report else { return Ok(None) };
    let file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(path);
    let file = file.map_err(|e| {
        Failure::usage(format!(
            "cannot write the report to `{}`: {e}; nothing was sent",
            path.display()
        ))
    })?;
    Ok(Some(ReportFile { path: path.clone(), file }))
}

/// The open `--report` file.
#[derive(Debug)]
struct ReportFile {
    path: std::path::PathBuf,
    file: std::fs::File,
}

/// Writes the report into the `--report` file, when one was asked for.
fn write_report(target: Option<&mut ReportFile>, report: &Report) -> Result<()> {
    let Some(ReportFile { path, file }) = target else { return Ok(()) };
    let mut text = serde_json::to_string_pretty(report).unwrap_or_default();
    text.push('\n');
    let written = file.set_len(0).and_then(|()| file.write_all(text.as_bytes()));
    written.and_then(|()| file.flush()).map_err(|e| {
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
    let selection = selection(job, now, out)?;
    let filter = selection.effective();
    let shown = filter.as_ref().map_or("none".to_owned(), Filter::to_string);
    debug!("effective filter: {}", safe(&shown));
    lock(report).filter = filter.as_ref().map(Filter::to_string);

    let connection = config::resolve(global, &ProcessEnv)?;
    {
        let mut report = lock(report);
        report.url = Some(connection.url.clone());
        report.org = Some(connection.org.clone());
    }
    let api = Api::connect_with(&connection, usize::from(job.args.concurrency))?;

    let runtime = crate::runtime()?;
    let result = runtime.block_on(async {
        tokio::select! {
            result = send(&api, job, &selection, filter.as_ref(), now, out, report) => result,
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
fn selection(job: &Job<'_>, now: DateTime<Utc>, out: &mut Out) -> Result<Selection> {
    let args = job.args;
    let mut filter = None;

    if let Some(text) = &args.filter {
        let checked = check::compile(text, false, now)?;
        if !job.json() {
            check::show_warnings(&checked, text, out);
        }
        filter = Some(checked.filter);
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
    if args.id.is_empty() {
        return Ok(Selection::Filter(filter));
    }
    Ok(Selection::Ids { ids: parse_ids(&args.id)?, also: filter })
}

/// The `--id` values, each checked to be a UUID, in canonical lowercase
/// hyphenated form, each once, in the order first given.
fn parse_ids(ids: &[String]) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    let mut parsed = Vec::with_capacity(ids.len());
    for id in ids {
        let uuid = uuid::Uuid::parse_str(id.trim()).map_err(|_| {
            Failure::usage(format!(
                "invalid `--id` value `{id}`: expected a uuid such as \
                 `1589a98a-66b3-11ee-80d5-4f584c6f672d`"
            ))
        })?;
        let canonical = uuid.hyphenated().to_string();
        if seen.insert(canonical.clone()) {
            parsed.push(canonical);
        }
    }
    if parsed.is_empty() {
        return Err(Failure::usage("`--id` needs a value"));
    }
    Ok(parsed)
}

/// `(id = "A" or id = "B")` for one batch of checked ids; `None` for none.
fn ids_filter(ids: &[String]) -> Option<Filter> {
    ids.iter().map(|id| Filter::field("id").eq(id)).reduce(Filter::or)
}

/// The listing filters for `ids`: at most [`ID_BATCH`] ids each, each
/// `and` `also` when given.
fn id_batches(ids: &[String], also: Option<&Filter>) -> Vec<Filter> {
    ids.chunks(ID_BATCH)
        .filter_map(ids_filter)
        .map(|ids| match also {
            Some(also) => ids.and(also.clone()),
            None => ids,
        })
        .collect()
}

/// `30d`, `2w`, `12h`, `90m`, `45s`: a positive whole number and a unit.
pub fn parse_duration(text: &str) -> Result<Duration> {
    let refuse = |why: &str| {
        Failure::usage(format!(
            "invalid duration `{text}`: {why}; expected a number and a unit such as `30d` or `2w`"
        ))
    };
    let text = text.trim();
    let not_positive = |text: &str| {
        Failure::usage(format!(
            "invalid duration `{text}`: duration must be positive \
             (`--expired` selects certificates that have already expired)"
        ))
    };
    if text.starts_with('-') {
        return Err(not_positive(text));
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    if digits.is_empty() {
        return Err(refuse("missing number"));
    }
    let n: i64 = digits.parse().map_err(|_| refuse("number too large"))?;
    if n == 0 {
        return Err(not_positive(text));
    }
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
    selection: &Selection,
    filter: Option<&Filter>,
    now: DateTime<Utc>,
    out: &mut Out,
    report: &Shared,
) -> Result<(Exit, &'static str)> {
    let json = job.json();
    let progress = out.stderr_terminal && !json;
    if !json {
        let shown =
            filter.map_or("none, every agent is selected (--all)".to_owned(), Filter::to_string);
        out.line(&format!("filter: {}", safe(&shown)));
    }

    // Without `--id`: the same listing call the command itself will select.
    // With `--id`: bounded listings, then one request per listed agent.
    let (rows, targets) = match selection {
        Selection::Filter(_) => (api.list(filter, progress).await?, None),
        Selection::Ids { ids, also } => {
            let batches = id_batches(ids, also.as_ref());
            debug!("listing {} in {}", ids_text(ids.len()), batches_text(batches.len()));
            let rows = api.list_each(&batches, progress).await?;
            let rows = only_requested(ids, rows, json, out);
            if !json {
                warn_unknown_ids(ids, also.as_ref(), &rows, out);
            }
            let targets = rows
                .iter()
                .map(|row| AgentId::parse(&row.id).map_err(|e| Failure::usage(e.to_string())))
                .collect::<Result<Vec<_>>>()?;
            (rows, Some(targets))
        }
    };
    lock(report).set_matched(&rows);
    let request = match &targets {
        None => Some(api.curl(job.kind, filter)),
        Some(targets) => targets.first().map(|id| api.id_curl(job.kind, id)),
    };
    lock(report).request = request.clone();

    if rows.is_empty() {
        if !json {
            out.line("no agent matches; nothing to do");
        }
        let exit = if job.args.fail_on_empty { Exit::NothingMatched } else { Exit::Success };
        return Ok((exit, "nothing-matched"));
    }
    if !json {
        preview(&rows, now, out);
        let offline = rows.iter().filter(|row| row.online == Some(false)).count();
        if job.kind == JobKind::FilesSync && offline > 0 {
            out.warn(&offline_warning(offline, rows.len(), job.args.dry_run));
        }
    }

    if job.args.dry_run {
        if !json {
            dry_run(job, &rows, targets.as_deref(), request.as_deref().unwrap_or_default(), out);
        }
        return Ok((Exit::Success, "dry-run"));
    }
    if !job.args.yes {
        confirm(job, rows.len(), out).await?;
    }

    debug!("sending {} for {}", job.kind.name(), agents(rows.len()));
    lock(report).request_sent = true;
    let (failed, refused) = match targets {
        None => {
            let items = api.send(job.kind, filter).await?;
            (record(job.kind, &rows, &items, report), None)
        }
        Some(targets) => send_each(api, job.kind, targets, progress, report).await,
    };

    let snapshot = {
        let mut report = lock(report);
        report.tally();
        report.clone()
    };
    let unconfirmed: Vec<&str> =
        snapshot.agents.iter().filter(|a| !a.previewed).map(|a| a.id.as_str()).collect();
    if !json {
        show_results(&snapshot, out);
        if !unconfirmed.is_empty() {
            out.warn(&unconfirmed_warning(job.kind, &unconfirmed));
        }
    }
    if let Some(error) = refused {
        // The token or its role was refused: exit 4, after the per-agent lines.
        return Err(crate::api::failure(error));
    }
    // The command reached agents nobody confirmed: the run did not do what
    // was shown, which a script must notice as surely as a failure.
    // A files-sync that did not reach an offline agent left work to do.
    let unsynced = job.kind == JobKind::FilesSync && snapshot.summary.offline > 0;
    let exit = if failed || unsynced || !unconfirmed.is_empty() {
        Exit::SomeFailed
    } else {
        Exit::Success
    };
    Ok((exit, "completed"))
}

/// Ids named in the warning about agents the preview did not list.
const UNCONFIRMED_NAMED: usize = 10;

/// The warning for agents that the command reached but the preview did not
/// list (they came to match the filter between the listing and the
/// command): their count and their ids.
fn unconfirmed_warning(kind: JobKind, ids: &[&str]) -> String {
    let named: Vec<String> =
        ids.iter().take(UNCONFIRMED_NAMED).map(|id| format!("`{}`", safe(id))).collect();
    let more = match ids.len().saturating_sub(UNCONFIRMED_NAMED) {
        0 => String::new(),
        n => format!(" and {n} more (see the report)"),
    };
    let (them, were) = if ids.len() == 1 { ("it", "was") } else { ("they", "were") };
    format!(
        "warning: the {} also reached {} that the preview did not list, so {them} {were} \
         never confirmed ({them} matched the filter by the time the command was sent): {}{more}",
        kind.verb(),
        agents(ids.len()),
        named.join(", ")
    )
}

/// What a dry run prints: the one request, or the first per-agent request
/// and how many more there would be.
fn dry_run(job: &Job<'_>, rows: &[Row], targets: Option<&[AgentId]>, request: &str, out: &mut Out) {
    let verb = job.kind.verb();
    let Some(targets) = targets else {
        out.line(&format!("dry run: would {verb} {} with this request:", agents(rows.len())));
        out.line(&format!("  {}", safe(request)));
        return;
    };
    let heading = if targets.len() == 1 {
        format!("dry run: would {verb} 1 agent with this request:")
    } else {
        format!(
            "dry run: would {verb} {} with one request each, at most {} at a time:",
            agents(targets.len()),
            job.args.concurrency
        )
    };
    out.line(&heading);
    out.line(&format!("  {}", safe(request)));
    if targets.len() > 1 {
        out.line(&format!("  ... and {} more", targets.len() - 1));
    }
}

/// Sends the command to each target with its own request and records each
/// outcome as it arrives (so an interrupted run reports what was done).
/// Returns whether any agent failed, and the first error that refused the
/// token or its role, if any.
async fn send_each(
    api: &Api,
    kind: JobKind,
    targets: Vec<AgentId>,
    progress: bool,
    report: &Shared,
) -> (bool, Option<nxlog_client::Error>) {
    let bar = crate::api::send_bar(progress, targets.len(), kind.verb());
    let mut outcomes = api.send_each(kind, targets);
    let mut any_failed = false;
    let mut refused = None;
    // Where each agent's entry is, so that many outcomes stay cheap.
    let index: HashMap<String, usize> = lock(report)
        .agents
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.to_ascii_lowercase(), i))
        .collect();
    while let Some((id, result)) = outcomes.next().await {
        trace!(%id, ok = result.is_ok(), "outcome");
        bar.inc(1);
        let mut report = lock(report);
        let entry = index.get(&id.to_ascii_lowercase()).and_then(|&i| report.agents.get_mut(i));
        let Some(entry) = entry else { continue };
        let was_offline = entry.online == Some(false);
        (entry.result, entry.message) = match result {
            Ok(Some(item)) => result_of(kind, was_offline, &item),
            Ok(None) => {
                ("unknown", Some("the server's answer does not mention this agent".to_owned()))
            }
            Err(error) => {
                let message = Some(error.to_string());
                if error.is_auth() && refused.is_none() {
                    refused = Some(error);
                }
                ("failed", message)
            }
        };
        any_failed |= matches!(entry.result, "failed" | "unknown");
    }
    bar.finish_and_clear();
    (any_failed, refused)
}

/// The listed agents that are among `ids`, each once. A server that lists
/// more than it was asked for gets a warning; those agents are not sent.
fn only_requested(ids: &[String], rows: Vec<Row>, json: bool, out: &mut Out) -> Vec<Row> {
    let wanted: HashSet<&str> = ids.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    let listed = rows.len();
    let kept: Vec<Row> = rows
        .into_iter()
        .filter(|row| {
            let id = row.id.to_ascii_lowercase();
            wanted.contains(id.as_str()) && seen.insert(id)
        })
        .collect();
    let ignored = listed - kept.len();
    if ignored > 0 && !json {
        out.warn(&format!(
            "warning: the server listed {} beyond the given ids; they are left out",
            agents(ignored)
        ));
    }
    kept
}

/// `1 id`, `2 ids`.
fn ids_text(n: usize) -> String {
    if n == 1 { "1 id".to_owned() } else { format!("{n} ids") }
}

/// `1 batch`, `2 batches`.
fn batches_text(n: usize) -> String {
    if n == 1 { "1 batch".to_owned() } else { format!("{n} batches") }
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
        (entry.result, entry.message) = result_of(kind, was_offline, item);
        any_failed |= entry.result == "failed";
    }

    // Agents the answer names that the listing did not (they matched in
    // between) still belong in the report, marked as never previewed; the
    // caller warns about them and exits 3.
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
            previewed: false,
        });
    }
    any_failed
}

/// The report's result and message for one agent's answer.
///
/// An agent the preview showed offline is `offline` when the server
/// accepted the command, and, for files-sync (which reaches an agent only
/// while it is online), also when the server answered an error for it: the
/// server's message is kept, and the follow-up command repeats the
/// files-sync once the agent is back.
fn result_of(kind: JobKind, was_offline: bool, item: &Item) -> (&'static str, Option<String>) {
    match (item.status.as_str(), kind) {
        ("success", _) if was_offline => ("offline", None),
        ("error", JobKind::FilesSync) if was_offline => ("offline", item.message.clone()),
        ("success", JobKind::Renew) => ("renewed", None),
        ("success", JobKind::FilesSync) => ("synced", None),
        ("error", _) => ("failed", item.message.clone()),
        (other, _) => ("failed", Some(format!("unexpected status `{other}`"))),
    }
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

/// Ids given with `--id` that the listing did not find: no agent has them,
/// or (with `also`) the agent does not match the rest of the filter.
fn warn_unknown_ids(ids: &[String], also: Option<&Filter>, rows: &[Row], out: &mut Out) {
    let found: HashSet<String> = rows.iter().map(|r| r.id.to_ascii_lowercase()).collect();
    for id in ids.iter().filter(|id| !found.contains(id.as_str())) {
        match also {
            None => out.warn(&format!("warning: no agent has the id `{id}`")),
            Some(also) => out.warn(&format!(
                "warning: no agent with the id `{id}` matches `{}`; it is not selected",
                safe(&also.to_string())
            )),
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
        // Host names, ids and messages come from the server and the agents.
        let mut line = format!(
            "{} {:<24} {}",
            out.paint(&padded, colour),
            safe(agent.hostname.as_deref().unwrap_or("-")),
            safe(&agent.id)
        );
        if !agent.previewed {
            line.push_str(&format!("  {}", out.paint("(NOT IN THE PREVIEW)", Colour::Red)));
        }
        if agent.result == "offline" && report.command == JobKind::Renew.name() {
            line.push_str("  (offline: needs files-sync once back online)");
        } else if agent.result == "offline" {
            line.push_str("  (offline: run again once it is back online)");
        }
        if let Some(message) = &agent.message {
            line.push_str(&format!("  {}", safe(message)));
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
    if s.not_previewed > 0 {
        parts.push(format!("{} not in the preview", s.not_previewed));
    }
    out.line(&parts.join(", "));

    if let Some(command) = &report.follow_up {
        out.line(&follow_up_text(report.command, s.offline));
        out.line(&format!("  {command}"));
    }
}

/// The warning before a files-sync when the preview shows offline agents:
/// they are still sent the command (the server decides), but files-sync
/// reaches an agent only when it is online.
fn offline_warning(offline: usize, total: usize, dry_run: bool) -> String {
    let (who, they) = match (offline, total) {
        (1, 1) => ("the agent is".to_owned(), "it is"),
        (n, t) if n == t => (format!("all {n} agents are"), "they are"),
        (1, t) => (format!("1 of the {t} agents is"), "it is"),
        (n, t) => (format!("{n} of the {t} agents are"), "they are"),
    };
    let mut text =
        format!("warning: {who} offline, and files-sync reaches an agent only when it is online");
    if !dry_run {
        text.push_str(&format!(
            "; {they} sent the command anyway (the server decides), and the results end with \
             the command to run again once {they} back online"
        ));
    }
    text
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
        check("1s", Ok(1));
        check("0d", Err("invalid duration `0d`: duration must be positive"));
        check("-5d", Err("invalid duration `-5d`: duration must be positive"));
        check("-0d", Err("duration must be positive"));
        check("-d", Err("duration must be positive"));
        check("d", Err("missing number"));
        check("30", Err("missing unit"));
        check("30y", Err("unknown unit `y`"));
        check("99999999999999999999d", Err("number too large"));
        check("999999w", Err("too long"));
    }

    fn uuids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("00000000-0000-4000-8000-{i:012}")).collect()
    }

    /// The longest listing URL, in bytes, for `n` ids: the API base and the
    /// paging parameters of a real listing included.
    fn longest_listing_url(n: usize, also: Option<&Filter>) -> usize {
        let base = "https://agents.example.com/api/acme/api/v1/agents/*?filter=";
        let paging = "&offset=1000000&limit=1000";
        let batches = id_batches(&uuids(n), also);
        batches.iter().map(|f| base.len() + f.to_query().len() + paging.len()).max().unwrap_or(0)
    }

    /// Listing URLs stay under 4 KiB however many ids, and every id is in
    /// exactly one batch.
    fn check_batches(n: usize, batches: usize) {
        let ids = uuids(n);
        let filters = id_batches(&ids, None);
        assert_eq!(filters.len(), batches, "{n} ids");
        assert!(longest_listing_url(n, None) < 4096, "{n} ids: {}", longest_listing_url(n, None));
        // The quoted values of all batches, in order, are the ids.
        let texts: Vec<String> = filters.iter().map(Filter::to_string).collect();
        let listed: Vec<&str> =
            texts.iter().flat_map(|t| t.split('"').skip(1).step_by(2)).collect();
        assert_eq!(listed, ids, "{n} ids");
    }

    #[test]
    fn many_ids_make_bounded_listing_urls() {
        check_batches(1, 1);
        check_batches(ID_BATCH, 1);
        check_batches(ID_BATCH + 1, 2);
        check_batches(120, 3);
        check_batches(300, 6);
        check_batches(10_000, 200);
        // The bound does not depend on the number of ids.
        assert_eq!(longest_listing_url(300, None), longest_listing_url(10_000, None));
    }

    #[test]
    fn the_rest_of_the_filter_goes_with_every_batch() {
        let also = Filter::field("hostname").eq("PC1");
        let filters = id_batches(&uuids(120), Some(&also));
        assert_eq!(filters.len(), 3);
        for filter in &filters {
            let text = filter.to_string();
            assert!(text.ends_with(" and hostname = \"PC1\")"), "{text}");
        }
        let selection = Selection::Ids { ids: uuids(2), also: Some(also) };
        assert_eq!(
            selection.effective().unwrap().to_string(),
            "((id = \"00000000-0000-4000-8000-000000000000\" or \
             id = \"00000000-0000-4000-8000-000000000001\") and hostname = \"PC1\")"
        );
    }

    fn check_ids(given: &[&str], expect: Result<&[&str], &str>) {
        let given: Vec<String> = given.iter().map(|s| (*s).to_owned()).collect();
        match (parse_ids(&given), expect) {
            (Ok(ids), Ok(want)) => assert_eq!(ids, want, "{given:?}"),
            (Err(e), Err(want)) => assert!(e.message.contains(want), "{given:?}: {}", e.message),
            (got, want) => panic!("{given:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn ids_are_checked_lowercased_and_deduplicated() {
        let a = "1589a98a-66b3-11ee-80d5-4f584c6f672d";
        let b = "00000000-0000-4000-8000-000000000001";
        check_ids(&[a], Ok(&[a]));
        check_ids(&[a, b, a], Ok(&[a, b]));
        check_ids(&["1589A98A-66B3-11EE-80D5-4F584C6F672D", a], Ok(&[a]));
        check_ids(&[" 1589a98a-66b3-11ee-80d5-4f584c6f672d "], Ok(&[a]));
        check_ids(&["1589a98a66b311ee80d54f584c6f672d"], Ok(&[a]));
        check_ids(&[a, "PC1"], Err("invalid `--id` value `PC1`: expected a uuid"));
        check_ids(&["*"], Err("invalid `--id` value `*`"));
        check_ids(&[], Err("`--id` needs a value"));
    }

    #[test]
    fn the_help_states_the_batch_size() {
        let help = crate::cli::command()
            .find_subcommand_mut("files-sync")
            .map(|c| c.render_long_help().to_string())
            .unwrap_or_default();
        assert!(help.contains(&format!("batches of at most {ID_BATCH}")), "{help}");
    }

    fn check_unconfirmed(n: usize, expect_end: &str) {
        let ids: Vec<String> = uuids(n);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let text = unconfirmed_warning(JobKind::Renew, &ids);
        assert!(text.starts_with("warning: the renew also reached "), "{text}");
        assert!(text.ends_with(expect_end), "{n}: {text}");
        assert_eq!(text.matches("`0000").count(), n.min(UNCONFIRMED_NAMED), "{text}");
    }

    #[test]
    fn agents_the_preview_did_not_list_are_counted_and_named() {
        check_unconfirmed(1, ": `00000000-0000-4000-8000-000000000000`");
        check_unconfirmed(2, "`, `00000000-0000-4000-8000-000000000001`");
        check_unconfirmed(UNCONFIRMED_NAMED, "-000000000009`");
        check_unconfirmed(12, "-000000000009` and 2 more (see the report)");
        assert!(unconfirmed_warning(JobKind::FilesSync, &["a\u{1b}b"]).ends_with("`a\\x1bb`"));
        assert!(unconfirmed_warning(JobKind::Renew, &["a", "b"]).contains("reached 2 agents that"),);
    }

    #[test]
    fn plurals() {
        assert_eq!(agents(1), "1 agent");
        assert_eq!(agents(0), "0 agents");
        assert_eq!(agents(3), "3 agents");
        assert_eq!(ids_text(1), "1 id");
        assert_eq!(ids_text(2), "2 ids");
    }

    fn check_offline(offline: usize, total: usize, dry_run: bool, expect: &str) {
        assert_eq!(offline_warning(offline, total, dry_run), expect, "{offline} of {total}");
    }

    #[test]
    fn files_sync_warns_that_offline_agents_cannot_be_reached() {
        let reach = "offline, and files-sync reaches an agent only when it is online";
        let tail = |they: &str| {
            format!(
                "; {they} sent the command anyway (the server decides), and the results end \
                 with the command to run again once {they} back online"
            )
        };
        check_offline(1, 1, true, &format!("warning: the agent is {reach}"));
        check_offline(1, 1, false, &format!("warning: the agent is {reach}{}", tail("it is")));
        check_offline(3, 3, true, &format!("warning: all 3 agents are {reach}"));
        check_offline(1, 4, true, &format!("warning: 1 of the 4 agents is {reach}"));
        check_offline(
            2,
            4,
            false,
            &format!("warning: 2 of the 4 agents are {reach}{}", tail("they are")),
        );
    }

    fn item(status: &str, message: Option<&str>) -> Item {
        Item { id: "a".to_owned(), status: status.to_owned(), message: message.map(str::to_owned) }
    }

    #[test]
    fn an_offline_agent_files_sync_could_not_reach_is_offline_not_failed() {
        let cases = [
            (JobKind::FilesSync, true, "error", Some("agent is offline"), "offline"),
            (JobKind::FilesSync, true, "success", None, "offline"),
            (JobKind::FilesSync, false, "error", Some("agent is offline"), "failed"),
            (JobKind::FilesSync, false, "success", None, "synced"),
            (JobKind::Renew, true, "success", None, "offline"),
            (JobKind::Renew, true, "error", Some("ca unavailable"), "failed"),
            (JobKind::Renew, false, "success", None, "renewed"),
            (JobKind::FilesSync, true, "queued", None, "failed"),
        ];
        for (kind, was_offline, status, message, expect) in cases {
            let (result, kept) = result_of(kind, was_offline, &item(status, message));
            assert_eq!(result, expect, "{kind:?} offline={was_offline} {status}");
            if status == "error" {
                assert_eq!(kept.as_deref(), message, "the server's message is kept");
            }
        }
    }

    #[test]
    fn one_listing_batch_is_singular() {
        assert_eq!(batches_text(1), "1 batch");
        assert_eq!(batches_text(0), "0 batches");
        assert_eq!(batches_text(3), "3 batches");
    }
}
