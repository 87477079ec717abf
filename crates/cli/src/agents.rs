//! `nxagents agents list` and the agent table the bulk preview shares.

use chrono::{DateTime, Utc};
use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use serde_json::json;
use tracing::debug;

use crate::api::{Api, Row};
use crate::check;
use crate::cli::{ListArgs, ListFormat};
use crate::config::Connection;
use crate::error::{Exit, Result};
use crate::output::{Colour, Out, safe};

/// Certificates expiring within this many days are highlighted.
const SOON_DAYS: i64 = 30;

/// Runs `agents list`.
pub async fn list(connection: &Connection, args: &ListArgs, out: &mut Out) -> Result<Exit> {
    let now = check::resolve_now(args.now.as_deref())?;
    let json = args.output != ListFormat::Table;
    let filter = match &args.filter {
        Some(text) => {
            let checked = check::compile(text, false, now)?;
            if !json {
                check::show_warnings(&checked, text, out);
            }
            Some(checked.filter)
        }
        None => None,
    };
    // `-v` shows the filter the listing carries, as `certificate renew` does.
    let shown = filter.as_ref().map_or("none".to_owned(), |f| f.to_string());
    debug!("effective filter: {}", safe(&shown));

    let api = Api::connect(connection)?;
    let rows = api.list(filter.as_ref(), out.stderr_terminal && !json).await?;

    match args.output {
        ListFormat::Table if rows.is_empty() => out.warn("no agent matches"),
        ListFormat::Table => out.line(&table(&rows, now, out)),
        ListFormat::Json => {
            let items: Vec<_> = rows.iter().map(|r| row_json(r, now)).collect();
            out.line(&serde_json::to_string_pretty(&items).unwrap_or_default());
        }
        ListFormat::Jsonl => {
            for row in &rows {
                out.line(&row_json(row, now).to_string());
            }
        }
    }

    let is_empty_failure = rows.is_empty() && args.fail_on_empty;
    Ok(if is_empty_failure { Exit::NothingMatched } else { Exit::Success })
}

/// One agent in the stable JSON schema of `agents list`.
pub fn row_json(row: &Row, now: DateTime<Utc>) -> serde_json::Value {
    json!({
        "id": row.id,
        "hostname": row.hostname,
        "online": row.online,
        "status": row.status,
        "not_after": row.not_after.map(crate::report::timestamp),
        "days_left": row.not_after.map(|t| days_left(t, now)),
    })
}

/// Whole days from `now` until `t`, rounded towards negative infinity, so
/// an expired certificate shows a negative number.
pub fn days_left(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (t - now).num_seconds().div_euclid(86_400)
}

/// Agents as a table: hostname, id, state, certificate expiry, days left.
///
/// The state is `online`, `offline`, or `warning` for an agent that is back
/// online but still waits for files-sync.
pub fn table(rows: &[Row], now: DateTime<Utc>, out: &Out) -> String {
    let mut table = Table::new();
    table.load_preset(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(["HOSTNAME", "ID", "STATE", "CERTIFICATE EXPIRES", "DAYS LEFT"]);
    // Colours come from `Out::paint`, which knows about `--color` and
    // `NO_COLOR`; the table's own styling stays off.
    table.force_no_tty();
    for row in rows {
        let state = match (row.online, row.status.as_deref()) {
            (_, Some("warning")) => out.paint("warning", Colour::Yellow),
            (Some(true), _) => "online".to_owned(),
            (Some(false), _) => out.paint("offline", Colour::Yellow),
            (None, Some(status)) => safe(status).into_owned(),
            (None, None) => "-".to_owned(),
        };
        let expires = row.not_after.map_or("-".to_owned(), crate::report::timestamp);
        let days = match row.not_after.map(|t| days_left(t, now)) {
            Some(d) if d < 0 => out.paint(&d.to_string(), Colour::Red),
            Some(d) if d < SOON_DAYS => out.paint(&d.to_string(), Colour::Yellow),
            Some(d) => d.to_string(),
            None => "-".to_owned(),
        };
        table.add_row(vec![
            // Host names, ids and status words come from the agents
            // themselves: a control character must not forge a row.
            Cell::new(safe(row.hostname.as_deref().unwrap_or("-"))),
            Cell::new(safe(&row.id)),
            Cell::new(state),
            Cell::new(expires),
            Cell::new(days).set_alignment(CellAlignment::Right),
        ]);
    }
    // Two spaces between columns and none before the first; trailing spaces
    // only get in the way of people copying lines.
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    table.lines().map(|l| l.trim_end().to_owned()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(t: &str, now: &str, expect: i64) {
        let t: DateTime<Utc> = t.parse().unwrap();
        let now: DateTime<Utc> = now.parse().unwrap();
        assert_eq!(days_left(t, now), expect, "{t} from {now}");
    }

    #[test]
    fn days() {
        check("2026-01-31T00:00:00Z", "2026-01-01T00:00:00Z", 30);
        check("2026-01-01T12:00:00Z", "2026-01-01T00:00:00Z", 0);
        check("2025-12-31T23:00:00Z", "2026-01-01T00:00:00Z", -1);
        check("2025-12-01T00:00:00Z", "2026-01-01T00:00:00Z", -31);
    }
}
