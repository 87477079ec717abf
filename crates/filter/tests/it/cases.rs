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
        "nesting too deep: expected at most 256 levels of parentheses and `not` (a pair around the whole filter not counted), found 257"
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

#[test]
fn keyword_field_name_breaks_round_trip() {
    // A path segment that is a keyword is rejected in every operator form,
    // so no accepted filter prints as `not lt "..."`.
    let keyword = |input: &str, span: (usize, usize)| {
        fails_at(input, "keyword-path", span, "`and`, `or` and `not` are keywords")
    };
    keyword("(not<now)", (1, 4));
    keyword("(NOT<=now)", (1, 4));
    keyword("(not>now)", (1, 4));
    keyword("(not >= now)", (1, 4));
    keyword("(not lt now)", (1, 4));
    keyword("(not = 1)", (1, 4));
    keyword("(and lt now)", (1, 4));
    keyword("(or lt now)", (1, 3));
    keyword("(a/Not=1)", (3, 6));
    // As values, keywords are text.
    parses_to("(a=not)", r#"(a = "not")"#);
    // A built filter with such a path prints text that is rejected, not
    // misread.
    let text =
        Filter::field("not").lt(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()).to_string();
    assert_eq!(text, r#"(not lt "2026-01-01T00:00:00Z")"#);
    fails_at(&text, "keyword-path", (1, 4), "found `not`");
}

#[test]
fn canonical_text_longer_than_max_len() {
    // Accepted input whose canonical text would not parse back under the
    // same limit is rejected, naming both sizes.
    let input = format!("{}(h=1)", "(certificate/not-after<now) or ".repeat(2100));
    assert_eq!(input.len(), 65_105);
    let err = options().parse(&input).unwrap_err();
    assert_eq!((err.kind().code(), err.span()), ("canonical-too-long", Span::new(0, 65_105)));
    assert_eq!(
        err.to_string(),
        "filter too long once normalised: expected at most 65536 bytes of canonical text, found 107109 (from 65105 bytes of input)"
    );
    // Just under the limit, the canonical text parses back.
    let input = format!("{}(h=1)", "(certificate/not-after<now) or ".repeat(1280));
    let filter = options().parse(&input).unwrap().filter;
    let text = filter.to_string();
    assert!(text.len() > 65_000 && text.len() <= 65_536, "{}", text.len());
    assert_eq!(options().parse(&text).unwrap().filter, filter);
}

/// Runs `f` on a thread with a 2 MiB stack, the size of a tokio worker's.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let thread = std::thread::Builder::new().stack_size(2 << 20).spawn(f).unwrap();
    thread.join().unwrap();
}

#[test]
fn max_depth_unbounded_stack_overflow() {
    on_small_stack(|| {
        // A larger `max_depth` is lowered to the hard maximum.
        let limitless = options().max_len(10_000_000).max_depth(100_000_000);
        let parens = |n: usize| format!("{}a=b{}", "(".repeat(n), ")".repeat(n));
        let err = limitless.parse(&parens(3000)).unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(257, 258)));
        let err = limitless.parse(&format!("{}a=b", "not ".repeat(6000))).unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(1024, 1027)));

        // The deepest trees allowed, of every shape, go through every stage.
        let agent = serde_json::json!({"a": "b"});
        let mut and_or = String::from("a=b");
        let mut not_group = String::from("a=b");
        for level in 0..nxlog_filter::MAX_DEPTH {
            let keyword = if level % 2 == 0 { "and" } else { "or" };
            and_or = format!("a=b {keyword} ({and_or})");
            if level % 2 == 0 {
                not_group = format!("not ({not_group} {keyword} a=c)");
            }
        }
        let nots = format!("{}a=b", "not ".repeat(nxlog_filter::MAX_DEPTH));
        for input in [parens(nxlog_filter::MAX_DEPTH + 1), nots, and_or, not_group] {
            let filter = limitless.parse(&input).unwrap_or_else(|e| panic!("{e}")).filter;
            let text = filter.to_string();
            assert_eq!(limitless.parse(&text).unwrap().filter, filter);
            let _ = filter.to_query();
            let _ = filter.compile().matches(&agent);
        }
    });
}

#[test]
fn depth_limit_off_by_one_for_parentheses() {
    // Each `(` and each `not` is one level; only a pair around the whole
    // filter is free, however it is nested inside.
    let deep = |input: &str| options().max_len(1 << 20).parse(input).map(|_| ());
    let too_deep = |input: &str| {
        let err = options().max_len(1 << 20).parse(input).unwrap_err();
        assert_eq!(err.kind().code(), "nesting-too-deep", "{err}");
        assert!(err.to_string().ends_with("found 257"), "{err}");
    };
    let parens = |n: usize| format!("{}a=1{}", "(".repeat(n), ")".repeat(n));
    let nots = |n: usize| format!("{}a=1", "not ".repeat(n));
    assert!(deep(&parens(257)).is_ok()); // the outer pair and 256 levels
    too_deep(&parens(258));
    too_deep(&format!("{} and b=1", parens(257))); // no pair around the whole filter
    assert!(deep(&format!("{} and b=1", parens(256))).is_ok());
    assert!(deep(&nots(256)).is_ok());
    too_deep(&nots(257));
    assert!(deep(&format!("({})", nots(256))).is_ok());
    too_deep(&format!("({})", nots(257)));
    assert!(deep(&format!("not {}", parens(255))).is_ok());
    too_deep(&format!("not {}", parens(256)));
}

#[test]
fn control_characters_and_unicode_whitespace() {
    let invalid = |input: &str, span: (usize, usize), message: &str| {
        fails_at(input, "invalid-character", span, message)
    };
    invalid(
        "(hostname=ab\0c)",
        (12, 13),
        "expected a printable character, found control character U+0000",
    );
    invalid("(hostname=a\x1b[31mRED)", (11, 12), "found control character U+001B");
    invalid(
        "(hostname=\"a\x1b]0;x\x07\")",
        (12, 13),
        "in a quoted value, found control character U+001B",
    );
    invalid("(a=b \x01)", (5, 6), "U+0001");
    invalid("(a=1)\x7f", (5, 6), "U+007F");
    invalid("(a=\"\u{85}\")", (4, 6), "U+0085");
    invalid("(a=1)\x0b", (5, 6), "U+000B");
    invalid("(a=\"x\ty\")", (5, 6), "in a quoted value, found control character U+0009");
    invalid("(a='x\ny')", (5, 6), "U+000A");
    invalid(
        "(hostname=\u{a0}PC1)",
        (10, 12),
        "expected a plain space, found non-breaking space U+00A0",
    );
    invalid("(hostname=PC\u{a0}1)", (12, 14), "non-breaking space U+00A0");
    invalid("a=1\u{2028}and b=2", (3, 6), "line separator U+2028");
    invalid("a=1\u{2003}and b=2", (3, 6), "whitespace U+2003");
    invalid(
        "\u{feff}(hostname=PC1)",
        (0, 3),
        "expected text without a byte order mark, found byte order mark U+FEFF",
    );
    invalid("(a=\"\u{feff}\")", (4, 7), "U+FEFF");
    // Tab, line feed and carriage return between tokens are whitespace;
    // other whitespace inside a quoted value is text.
    parses_to("\t(a=1)\r\n and\n(b=2)", r#"(a = "1" and b = "2")"#);
    parses_to("(a=\"x\u{a0}y\")", "(a = \"x\u{a0}y\")");
    parses_to(
        "(a='\"\u{3000}' and b=\"\\\"\u{2028}\")",
        "(a = \"\\\"\u{3000}\" and b = \"\\\"\u{2028}\")",
    );
}

#[test]
fn hard_coded_unquoted_paren_hint() {
    let hint = |input: &str, at: usize, suggestion: &str| {
        fails_at(input, "unquoted-paren", (at, at + 1), &format!("such as `{suggestion}`"))
    };
    hint("(cn=Doe(x))", 7, r#"cn="Doe(x)""#);
    hint("(cn=Smith(jr) and x=y)", 9, r#"cn="Smith(jr)""#);
    hint("(cn=(x))", 4, r#"cn="(x)""#);
    hint("(cn != Doe(John Smith))", 10, r#"cn!="Doe(John Smith)""#);
    hint("(name like New(%) )", 14, r#"name like "New(%)""#);
}
