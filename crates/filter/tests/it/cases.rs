//! Inputs from public bug reports about filters, dates in filters and
//! query encoding, each with the behaviour we promise. Tests are named
//! after the cause of the fault.

use chrono::{TimeZone, Utc};
use nxlog_filter::{Filter, Options, Span, encode_query_value, parse, parse_form_encoded};

fn options() -> Options {
    Options::new().now(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

/// Parses and prints as `canonical`, which parses back to the same filter.
fn parses_to(input: &str, canonical: &str) {
    let filter = options().parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}")).filter;
    assert_eq!(filter.to_string(), canonical, "{input:?}");
    assert_eq!(options().parse(canonical).unwrap().filter, filter, "{canonical:?}");
}

/// Fails with `code` at the byte offsets `span`, the message holding `message`.
fn fails_at(input: &str, code: &str, span: (usize, usize), message: &str) {
    let err = options().parse(input).expect_err(input);
    let got = (err.kind().code(), (err.span().start, err.span().end));
    assert_eq!(got, (code, span), "{input:?}: {err}");
    assert!(err.to_string().contains(message), "{input:?}: {err}");
}

/// Encodes to exactly `expected`, which decodes back to the input.
fn encodes_to(input: &str, expected: &str) {
    let encoded = encode_query_value(input);
    assert_eq!(encoded, expected, "{input:?}");
    assert!(!encoded.contains('+') && !encoded.contains(' ') && !encoded.contains("%25"));
    let filter = parse(input).unwrap();
    assert_eq!(parse_form_encoded(&filter.to_query()).unwrap(), filter, "{input:?}");
}

#[test]
fn documented_forms_parse_as_written() {
    parses_to("(hostname=PC1)", r#"(hostname = "PC1")"#);
    parses_to(
        r#"(certificate/not-after lt "2024-09-22 00:00:00 UTC")"#,
        r#"(certificate/not-after lt "2024-09-22T00:00:00Z")"#,
    );
    parses_to(r#"(name LIKE "New agents")"#, r#"(name LIKE "New agents")"#);
    let encoded = "(certificate/not-after+lt+'2024-09-22+00:00:00+UTC')";
    assert_eq!(
        parse_form_encoded(encoded).unwrap().to_string(),
        r#"(certificate/not-after lt "2024-09-22T00:00:00Z")"#
    );
    // Never guessed: as plain text, `+` is part of a bare word.
    fails_at(encoded, "unexpected-token", (22, 23), "expected an operator");
}

#[test]
fn quoting_escapes_decoded() {
    // B21
    parses_to(r#"(displayName="say \"hi\" now")"#, r#"(displayName = "say \"hi\" now")"#);
    parses_to(r#"(displayName="EDU All staff")"#, r#"(displayName = "EDU All staff")"#);
    parses_to(r#"(displayName='say "hi" now')"#, r#"(displayName = "say \"hi\" now")"#);
    parses_to(r#"(displayName='it\'s \\ ok')"#, r#"(displayName = "it's \\ ok")"#);
    let Ok(filter) = parse(r#"(displayName="say \"hi\" now")"#) else { panic!() };
    assert_eq!(filter, Filter::field("displayName").eq(r#"say "hi" now"#));
}

#[test]
fn grouping_precedence_kept() {
    // B23
    let input = "(hostname=PC1) and ((os=linux) or (os=bsd))";
    parses_to(input, r#"(hostname = "PC1" and (os = "linux" or os = "bsd"))"#);
    let expected = Filter::field("hostname")
        .eq("PC1")
        .and(Filter::field("os").eq("linux").or(Filter::field("os").eq("bsd")));
    assert_eq!(parse(input).unwrap(), expected);
    parses_to("(a=1 or b=2) and c=3", r#"((a = "1" or b = "2") and c = "3")"#);
    parses_to("a=1 or b=2 and c=3", r#"(a = "1" or b = "2" and c = "3")"#);
    parses_to("not (a=1 and b=2)", r#"(not (a = "1" and b = "2"))"#);
}

#[test]
fn bare_word_after_operator_is_a_value() {
    // B24
    let expected = Filter::field("hostname").eq("PC1").and(Filter::field("team").eq("and"));
    assert_eq!(parse("(hostname=PC1) and (team=and)").unwrap(), expected);
    parses_to("(team=or)", r#"(team = "or")"#);
    parses_to("(team=not)", r#"(team = "not")"#);
    parses_to("(team = AND and team != OR)", r#"(team = "AND" and team != "OR")"#);
    parses_to("(team LIKE like)", r#"(team LIKE "like")"#);
}

#[test]
fn parentheses_in_bare_value() {
    // B27
    fails_at("(cn=Doe(x))", "unquoted-paren", (7, 8), "parentheses in a value must be quoted");
    fails_at("(cn=Doe (x))", "unexpected-token", (8, 9), "expected `and`, `or` or `)`, found `(`");
    parses_to(r#"(cn="Doe (x)")"#, r#"(cn = "Doe (x)")"#);
}

#[test]
fn empty_value() {
    // B28
    fails_at("(mail=)", "missing-value", (6, 6), "missing value after `=`");
    fails_at("(mail=)", "missing-value", (6, 6), "write `\"\"` for an empty string");
    fails_at("(mail!=)", "missing-value", (7, 7), "missing value after `!=`");
    fails_at("(mail LIKE)", "missing-value", (10, 10), "missing value after `LIKE`");
    parses_to(r#"(mail="")"#, r#"(mail = "")"#);
    parses_to("(mail='')", r#"(mail = "")"#);
}

#[test]
fn deep_nesting_stack_overflow() {
    // B29, in the test thread's small stack and an unoptimised build.
    let nested = |n: usize| format!("{}hostname=PC1{}", "(".repeat(n), ")".repeat(n));
    parses_to(&nested(100), r#"(hostname = "PC1")"#);
    parses_to(&nested(257), r#"(hostname = "PC1")"#);

    // With the default limits the input is first too long.
    let hostile = nested(100_000);
    let err = parse(&hostile).unwrap_err();
    assert_eq!((err.kind().code(), err.span()), ("input-too-long", Span::new(65536, 200_012)));
    assert_eq!(err.to_string(), "input too long: expected at most 65536 bytes, found 200012");

    // With the length limit lifted, the depth limit stops it.
    let err = options().max_len(1 << 20).parse(&hostile).unwrap_err();
    // The pair around the whole filter is free, so the 258th `(` is too deep.
    assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(257, 258)));
    assert_eq!(
        err.to_string(),
        "nesting too deep: expected at most 256 levels of parentheses and `not`, found more"
    );
    let nots = format!("{}hostname=PC1", "not ".repeat(100_000));
    let err = options().max_len(1 << 20).parse(&nots).unwrap_err();
    assert_eq!(err.kind().code(), "nesting-too-deep");

    // The deepest trees allowed go through every later stage (checking,
    // printing, compiling, matching, dropping) on this small stack too.
    let agent = serde_json::json!({"hostname": "PC1"});
    let nots = format!("{}hostname=PC1", "not ".repeat(256));
    let filter = parse(&nots).unwrap();
    assert_eq!(parse(&filter.to_string()).unwrap(), filter);
    assert!(filter.compile().matches(&agent));
    let mut alternating = String::from("hostname=PC1");
    for level in 0..256 {
        let keyword = if level % 2 == 0 { "and" } else { "or" };
        alternating = format!("hostname=PC1 {keyword} ({alternating})");
    }
    let filter = parse(&alternating).unwrap();
    assert_eq!(parse(&filter.to_string()).unwrap(), filter);
    assert!(filter.compile().matches(&agent));
}

#[test]
fn exponential_backtracking() {
    // B30: the time is checked by hand (see the README), not here.
    let nested = |n: usize| format!("{}hostname=PC1{}", "(".repeat(n), ")".repeat(n));
    parses_to(&nested(30), r#"(hostname = "PC1")"#);
    let unclosed = format!("{}hostname=PC1", "(".repeat(30));
    fails_at(
        &unclosed,
        "unexpected-end",
        (42, 42),
        "expected `and`, `or` or `)`, found end of input",
    );
}

#[test]
fn query_encoding() {
    // B33, B34, B36
    encodes_to(
        r#"(certificate/not-after lt "2024-09-22T02:00:00+02:00")"#,
        "%28certificate%2Fnot-after%20lt%20%222024-09-22T02%3A00%3A00%2B02%3A00%22%29",
    );
    encodes_to(r#"(q="a+b&c=d")"#, "%28q%3D%22a%2Bb%26c%3Dd%22%29");
    encodes_to(r#"(displayName="EDU All staff")"#, "%28displayName%3D%22EDU%20All%20staff%22%29");
    let filter = parse(r#"(q="a+b&c=d")"#).unwrap();
    assert_eq!(filter.to_query(), "%28q%20%3D%20%22a%2Bb%26c%3Dd%22%29");
}

#[test]
fn double_encoding() {
    // B38
    encodes_to(r#"(path="a b")"#, "%28path%3D%22a%20b%22%29");
    let filter = parse(r#"(path="a b")"#).unwrap();
    assert!(!filter.to_query().contains("%25"));
    assert_eq!(parse(&filter.to_string()).unwrap().to_query(), filter.to_query());
}

#[test]
fn two_digit_year_pivot() {
    // B14, in filter form.
    parses_to(
        r#"(certificate/not-after lt "491231235959Z")"#,
        r#"(certificate/not-after lt "2049-12-31T23:59:59Z")"#,
    );
    parses_to(
        r#"(certificate/not-after lt "500101000000Z")"#,
        r#"(certificate/not-after lt "1950-01-01T00:00:00Z")"#,
    );
    parses_to(
        r#"(certificate/not-after lt "680922000000Z")"#,
        r#"(certificate/not-after lt "1968-09-22T00:00:00Z")"#,
    );
}

#[test]
fn generalized_time() {
    // B15
    parses_to(
        r#"(certificate/not-after gt "20500101000000Z")"#,
        r#"(certificate/not-after gt "2050-01-01T00:00:00Z")"#,
    );
    parses_to(
        r#"(certificate/not-after gt "99991231235959Z")"#,
        r#"(certificate/not-after gt "9999-12-31T23:59:59Z")"#,
    );
}

#[test]
fn symbolic_logic_names_the_word() {
    fails_at("(a=1) && (b=2)", "symbolic-logic", (6, 8), "expected `and`, found `&&`");
    fails_at("(a=1) || (b=2)", "symbolic-logic", (6, 8), "expected `or`, found `||`");
    fails_at("!(a=1)", "symbolic-logic", (0, 1), "expected `not`, found `!`");
    fails_at("(&(a=1)(b=2))", "symbolic-logic", (1, 2), "`and` between comparisons");
}

#[test]
fn timestamp_errors_point_into_the_value() {
    // The timestamp parser's offsets are mapped through the quote and
    // escapes to the filter input.
    let input = r#"(certificate/not-after lt "2024-09-22T00:00:00")"#;
    let err = options().parse(input).unwrap_err();
    assert_eq!(err.kind().code(), "invalid-timestamp");
    assert!(err.span().start >= 27 && err.span().end <= 46, "{:?}", err.span());
    let input = r#"(certificate/not-after lt '2024-09-22\\T00:00:00Z')"#;
    let err = options().parse(input).unwrap_err();
    assert!(err.span().start >= 27 && err.span().end <= 49, "{:?}", err.span());
}
