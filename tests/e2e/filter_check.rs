//! `nxagents filter check`: canonical output, diagnostics, JSON, files.

use crate::support::{bare_cmd, run};

fn check(args: &[&str]) -> crate::support::Output {
    run(bare_cmd().arg("filter").arg("check").args(args))
}

#[test]
fn valid_filters_print_their_canonical_form() {
    let cases = [
        ("(hostname=PC1)", "(hostname = \"PC1\")"),
        ("hostname=PC1", "(hostname = \"PC1\")"),
        (
            "(certificate/not-after lt \"2024-09-22 00:00:00 UTC\")",
            "(certificate/not-after lt \"2024-09-22T00:00:00Z\")",
        ),
        ("(name LIKE \"New agents\")", "(name LIKE \"New agents\")"),
    ];
    for (input, canonical) in cases {
        let out = check(&[input]);
        assert_eq!((out.code, out.stdout.trim_end()), (0, canonical), "{input}: {}", out.stderr);
    }
}

#[test]
fn invalid_filter_exits_2_with_a_caret_diagnostic() {
    let out = check(&["(hostname=PC1"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    insta::assert_snapshot!("invalid_filter_text", out.stderr);
}

#[test]
fn invalid_filter_as_json() {
    let out = check(&["-o", "json", "(cn=Doe(x))"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
    let error: serde_json::Value = serde_json::from_str(&out.stderr).expect("json on stderr");
    insta::assert_json_snapshot!("invalid_filter_json", error);
    // The offsets point into the expression as given.
    assert_eq!(error["error"]["start"], 7);
}

#[test]
fn valid_filter_as_json() {
    let out = check(&[
        "-o",
        "json",
        "(hostname=PC1) and (certificate/not-after lt \"2024-09-22T02:00:00+02:00\")",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("json on stdout");
    insta::assert_json_snapshot!("valid_filter_json", value);
}

#[test]
fn unknown_field_is_a_warning_unless_strict() {
    let out = check(&["(hostnme=PC1)"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout.trim_end(), "(hostnme = \"PC1\")");
    insta::assert_snapshot!("unknown_field_warning", out.stderr);

    let out = check(&["-o", "json", "(hostnme=PC1)"]);
    let value: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(value["warnings"][0]["start"], 1);
    assert_eq!(value["warnings"][0]["end"], 8);

    let out = check(&["--strict", "(hostnme=PC1)"]);
    assert_eq!(out.code, 2);
    assert!(out.stdout.is_empty());
}

#[test]
fn now_pins_the_clock() {
    let out = check(&["--now", "2026-01-15T12:00:00Z", "(certificate/not-after lt now-7d)"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout.trim_end(), "(certificate/not-after lt \"2026-01-08T12:00:00Z\")");

    let out = check(&["--now", "yesterday", "(hostname=PC1)"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid `--now` value `yesterday`"), "{}", out.stderr);
}

#[test]
fn expression_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("filter.txt");
    std::fs::write(&path, "(hostname=PC1)\n").unwrap();
    let out = check(&[&format!("@{}", path.display())]);
    assert_eq!((out.code, out.stdout.trim_end()), (0, "(hostname = \"PC1\")"));

    // Offsets count from the first byte of the file; the trailing newline
    // is gone, so an error at the end points just after the last character.
    std::fs::write(&path, "(hostname=PC1\n").unwrap();
    let out = check(&["-o", "json", &format!("@{}", path.display())]);
    assert_eq!(out.code, 2);
    let error: serde_json::Value = serde_json::from_str(&out.stderr).unwrap();
    assert_eq!(error["error"]["start"], 13);

    let out = run(bare_cmd().args(["filter", "check", "-"]).write_stdin("(hostname=PC2)\r\n"));
    assert_eq!((out.code, out.stdout.trim_end()), (0, "(hostname = \"PC2\")"));

    let out = check(&["@/nonexistent/filter.txt"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("cannot read the filter file `/nonexistent/filter.txt`"));
}

#[test]
fn empty_filter_is_a_usage_error() {
    for input in ["", "   "] {
        let out = check(&[input]);
        assert_eq!(out.code, 2, "{input:?}");
        assert_eq!(out.stderr.trim_end(), "error: filter must not be empty");
    }
}

#[test]
fn hyphen_leading_expression_is_checked_not_taken_for_a_flag() {
    let out = check(&["-x=1"]);
    assert_eq!(out.code, 2);
    assert!(!out.stderr.contains("unexpected argument"), "{}", out.stderr);
}

#[test]
fn deep_nesting_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.txt");
    for (depth, message) in [(30_000, "nesting"), (100_000, "input too long")] {
        let input = format!("{}hostname=PC1{}", "(".repeat(depth), ")".repeat(depth));
        std::fs::write(&path, input).unwrap();
        let out = check(&[&format!("@{}", path.display())]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains(message), "{}", &out.stderr[..out.stderr.len().min(300)]);
    }
}

/// The system clock is cut to whole seconds, so relative times resolve to
/// whole-second timestamps; an explicit `--now` keeps its fraction.
#[test]
fn relative_times_from_the_system_clock_have_no_fraction() {
    for filter in ["(certificate/not-after lt now)", "(certificate/not-after lt now-7d)"] {
        let out = check(&[filter]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stdout.contains('.'), "{filter}: {}", out.stdout);
        assert!(out.stdout.trim_end().ends_with("Z\")"), "{filter}: {}", out.stdout);
    }
    let out = check(&["--now", "2026-01-15T12:00:00.25Z", "(certificate/not-after lt now)"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "(certificate/not-after lt \"2026-01-15T12:00:00.25Z\")\n");
}

/// An invalid filter is `kind: "invalid-filter"` on stderr, as in the
/// report; `code` names the filter's own error.
#[test]
fn invalid_filter_json_kind_is_invalid_filter_with_a_code() {
    let out = check(&["-o", "json", "(hostname="]);
    assert_eq!(out.code, 2);
    let error: serde_json::Value = serde_json::from_str(&out.stderr).expect("json on stderr");
    assert_eq!(error["error"]["kind"], "invalid-filter", "{error}");
    assert_eq!(error["error"]["code"], "missing-value", "{error}");
    assert_eq!(error["error"]["exit_code"], 2, "{error}");
}
