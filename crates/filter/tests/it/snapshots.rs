//! Every error kind as a person reads it: the one-line message and the
//! caret diagram.

use chrono::{TimeZone, Utc};
use nxlog_filter::{Options, parse_form_encoded, render};

/// Renders the error for `input`, checking that its kind is `code`.
fn rendered(code: &str, options: &Options, input: &str) -> String {
    let err = options.parse(input).expect_err(input);
    assert_eq!(err.kind().code(), code, "{input:?}: {err}");
    render(&err)
}

#[test]
fn every_error_kind_rendered() {
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let lenient = Options::new().now(now);
    let strict = Options::new().now(now).strict(true);
    let cases: &[(&str, &Options, &str)] = &[
        ("empty-filter", &lenient, "   "),
        ("unexpected-token", &lenient, "(hostname=PC1 os=linux)"),
        ("unexpected-end", &lenient, "(hostname=PC1"),
        ("unterminated-string", &lenient, r#"(hostname="PC1)"#),
        ("invalid-escape", &lenient, r#"(path="C:\temp")"#),
        ("missing-value", &lenient, "(mail=)"),
        ("unquoted-paren", &lenient, "(cn=Doe(x))"),
        ("symbolic-logic", &lenient, "(a=1) && (b=2)"),
        ("invalid-path", &lenient, "(a//b=1)"),
        ("input-too-long", &lenient.clone().max_len(8), "(hostname=PC1)"),
        ("nesting-too-deep", &lenient.clone().max_depth(2), "(((( a=1 ))))"),
        ("unknown-field", &strict, "(hostnme=PC1)"),
        ("operator-not-allowed", &lenient, r#"(hostname lt "PC1")"#),
        ("invalid-timestamp", &lenient, r#"(certificate/not-after lt "2024-09-22T00:00:00")"#),
        ("invalid-uuid", &lenient, "(id=42)"),
        ("keyword-path", &lenient, "(not<now)"),
        ("invalid-character", &lenient, "(hostname=a\u{1b}[31mRED)"),
        ("canonical-too-long", &lenient.clone().max_len(8), "(a=1)"),
    ];
    for (code, options, input) in cases {
        insta::assert_snapshot!(*code, rendered(code, options, input), input);
    }

    // Decoding errors point into the encoded text.
    let err = parse_form_encoded("(hostname=PC%G1)").unwrap_err();
    insta::assert_snapshot!("invalid-form-encoding", render(&err), "(hostname=PC%G1)");
}

#[test]
fn multi_line_and_multi_byte_input() {
    let input = "(hostname=\"Zürich\")\nand (x=\"日本\" ~ 1)";
    let err = Options::new().parse(input).unwrap_err();
    assert_eq!(err.line_column(), (2, 13));
    insta::assert_snapshot!("multi-line", render(&err), input);
}

#[test]
fn caret_under_wide_characters() {
    let input = "(hostname=日本語(x) or hostname=\"😀😀\" xx)";
    let err = Options::new().parse(input).unwrap_err();
    assert_eq!(err.line_column(), (1, 14));
    insta::assert_snapshot!("wide-characters", render(&err), input);
}

#[test]
fn whole_line_in_diagnostics() {
    // An error in the middle of a 19 KB line shows a window around it.
    let input = format!("({}a=1 b=2{})", "a=1 and ".repeat(1200), " and a=1".repeat(1200));
    let err = Options::new().parse(&input).unwrap_err();
    let rendered = render(&err);
    assert!(rendered.len() < 400, "{} bytes", rendered.len());
    insta::assert_snapshot!("long-line", rendered, "(a=1 and ... a=1 b=2 ... and a=1)");
}
