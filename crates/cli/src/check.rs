//! `nxagents filter check` and the filter handling the other commands share.

use std::io::Read;

use chrono::{DateTime, SubsecRound, Utc};
use nxlog_filter::{Checked, Options};
use serde_json::json;

use crate::cli::{CheckFormat, FilterCheckArgs};
use crate::error::{Exit, Failure, Result};
use crate::output::{Out, safe};

/// Runs `filter check`.
pub fn run(args: &FilterCheckArgs, out: &mut Out) -> Result<Exit> {
    let now = resolve_now(args.now.as_deref())?;
    let json = args.output == CheckFormat::Json;
    let input = read_expr(&args.expr)?;

    let checked = compile(&input, args.strict, now)?;
    if json {
        let report = json!({
            "canonical": checked.filter.to_string(),
            "query": checked.filter.to_query(),
            "warnings": warnings_json(&checked),
        });
        out.line(&report.to_string());
    } else {
        show_warnings(&checked, &input, out);
        out.line(&safe(&checked.filter.to_string()));
    }
    Ok(Exit::Success)
}

/// Reads EXPR: itself, `@FILE` or `-` for standard input.
///
/// One trailing newline (`\n` or `\r\n`) is removed from file and stdin
/// content, which leaves every byte offset before it unchanged.
pub fn read_expr(expr: &str) -> Result<String> {
    let content = if expr == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read the filter from stdin: {e}")))?;
        text
    } else if let Some(path) = expr.strip_prefix('@') {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read the filter file `{path}`: {e}")))?
    } else {
        return Ok(expr.to_owned());
    };
    let trimmed =
        content.strip_suffix("\r\n").or_else(|| content.strip_suffix('\n')).unwrap_or(&content);
    Ok(trimmed.to_owned())
}

/// The clock: `--now TIME` when given, the system clock otherwise.
///
/// The system clock is cut to whole seconds, so `--expired`,
/// `--expiring-within` and relative times such as `now-7d` (in `--now` and
/// in filters) put whole-second timestamps into filters. An explicit
/// absolute `--now` keeps any fraction it was given.
pub fn resolve_now(now: Option<&str>) -> Result<DateTime<Utc>> {
    let system = Utc::now().trunc_subsecs(0);
    let Some(text) = now else { return Ok(system) };
    nxlog_filter::parse_timestamp(text, system)
        .map_err(|e| Failure::usage(format!("invalid `--now` value `{text}`: {e}")))
}

/// Parses and validates a filter, turning an error into a usage failure
/// that carries the caret diagnostic (text) or the error object (JSON).
pub fn compile(input: &str, strict: bool, now: DateTime<Utc>) -> Result<Checked> {
    if input.trim().is_empty() {
        return Err(Failure::new(Exit::Usage, "empty-filter", "filter must not be empty"));
    }
    let options = Options::new().strict(strict).now(now);
    options.parse(input).map_err(|error| {
        let (line, column) = error.line_column();
        let span = error.span();
        let mut failure = Failure::new(Exit::Usage, "invalid-filter", error.to_string());
        failure.detail = Some(nxlog_filter::render(&error));
        failure.code = Some(error.kind().code());
        // The kind is the one the report records; `code` says which error.
        failure.json = Some(json!({
            "error": {
                "kind": "invalid-filter",
                "code": error.kind().code(),
                "exit_code": Exit::Usage.code(),
                "message": error.to_string(),
                "start": span.start,
                "end": span.end,
                "line": line,
                "column": column,
            }
        }));
        failure
    })
}

/// Warnings as JSON objects.
pub fn warnings_json(checked: &Checked) -> Vec<serde_json::Value> {
    checked
        .warnings
        .iter()
        .map(|w| json!({"message": w.message, "start": w.span.start, "end": w.span.end}))
        .collect()
}

/// Prints warnings on stderr with a caret under the part they are about.
pub fn show_warnings(checked: &Checked, input: &str, out: &mut Out) {
    for warning in &checked.warnings {
        out.warn(&format!("warning: {}", safe(&warning.message)));
        if let Some(caret) = caret(input, warning.span.start, warning.span.end) {
            out.warn(&caret);
        }
    }
}

/// A one-line excerpt of `input` with `^` under `start..end`, when the span
/// lies on a single line.
pub fn caret(input: &str, start: usize, end: usize) -> Option<String> {
    if start > input.len() || end > input.len() || start > end {
        return None;
    }
    let line_start = input[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = input[start..].find('\n').map_or(input.len(), |i| start + i);
    if end > line_end {
        return None;
    }
    // The excerpt is shown escaped, so the caret is placed under the
    // escaped text.
    let line = safe(&input[line_start..line_end]);
    let pad = safe(&input[line_start..start]).chars().count();
    let width = safe(&input[start..end]).chars().count().max(1);
    Some(format!("  {line}\n  {}{}", " ".repeat(pad), "^".repeat(width)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, start: usize, end: usize, expect: Option<&str>) {
        assert_eq!(caret(input, start, end).as_deref(), expect, "{input:?} {start}..{end}");
    }

    #[test]
    fn system_clock_has_no_subsecond_part() {
        use chrono::Timelike;
        let clocks = [
            resolve_now(None).unwrap(),
            resolve_now(Some("now")).unwrap(),
            resolve_now(Some("now-7d")).unwrap(),
        ];
        for now in clocks {
            assert_eq!(now.nanosecond(), 0, "{now:?}");
        }
        // An explicit `--now` is kept as given, fraction and all.
        let given = resolve_now(Some("2026-01-15T12:00:00.25Z")).unwrap();
        assert_eq!(given.nanosecond(), 250_000_000);
        // Relative times in filters resolve against that clock.
        let checked = compile("(certificate/not-after lt now+1d)", false, clocks[0]).unwrap();
        assert!(!checked.filter.to_string().contains('.'), "{}", checked.filter);
    }

    #[test]
    fn carets() {
        check("(hostnme=PC1)", 1, 8, Some("  (hostnme=PC1)\n   ^^^^^^^"));
        check("abc", 3, 3, Some("  abc\n     ^"));
        check("a\nbc", 2, 3, Some("  bc\n  ^"));
        check("a\nbc", 0, 3, None);
        check("abc", 4, 5, None);
        check("(a\u{1b}[2J=x)", 6, 7, Some("  (a\\x1b[2J=x)\n           ^"));
    }
}
