//! Properties: printing then parsing returns the same filter, normalising
//! twice changes nothing, and no input makes the parser panic.

use chrono::{DateTime, TimeZone, Utc};
use nxlog_filter::{Filter, Options, render};
use proptest::prelude::*;

fn options() -> Options {
    Options::new().now(Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap())
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (-62_135_596_800i64..253_402_300_799, prop_oneof![Just(0u32), 0u32..1_000_000_000])
        .prop_map(|(secs, nanos)| Utc.timestamp_opt(secs, nanos).unwrap())
}

/// A comparison on a field, with a value of the right type.
fn comparison() -> impl Strategy<Value = Filter> {
    let text_path = prop_oneof![Just("hostname"), Just("os"), Just("displayName"), Just("a/b-c")];
    let time_path =
        prop_oneof![Just("certificate/not-after"), Just("certificate/not-before"), Just("seen")];
    let text = "[ -~éü日\"'\\\\()%_]{0,12}";
    prop_oneof![
        (text_path.clone(), text).prop_map(|(p, v)| Filter::field(p).eq(&v)),
        (text_path.clone(), text).prop_map(|(p, v)| Filter::field(p).ne(&v)),
        (text_path, text).prop_map(|(p, v)| Filter::field(p).like(&v)),
        (time_path.clone(), instant()).prop_map(|(p, t)| Filter::field(p).lt(t)),
        (time_path.clone(), instant()).prop_map(|(p, t)| Filter::field(p).le(t)),
        (time_path.clone(), instant()).prop_map(|(p, t)| Filter::field(p).gt(t)),
        (time_path, instant()).prop_map(|(p, t)| Filter::field(p).ge(t)),
        "[0-9a-fA-F]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
            .prop_map(|id| Filter::field("id").eq(&id)),
    ]
}

/// A path with a keyword (`and`, `or`, `not`, any letter case) as a
/// segment, which no accepted filter may hold.
fn keyword_path() -> impl Strategy<Value = String> {
    let keyword = "(?i:and|or|not)";
    proptest::string::string_regex(&format!("({keyword}|{keyword}/a|a/{keyword}|a/{keyword}/b)"))
        .expect("valid pattern")
}

fn filter() -> impl Strategy<Value = Filter> {
    comparison().prop_recursive(6, 48, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.and(b)),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| a.or(b)),
            inner.prop_map(Filter::not),
        ]
    })
}

proptest! {
    #[test]
    fn print_then_parse_is_the_same_filter(filter in filter()) {
        let text = filter.to_string();
        let parsed = options().parse(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(&parsed.filter, &filter, "{}", text);
        prop_assert_eq!(parsed.filter.to_string(), text);
    }

    /// A comparison on a keyword path prints text that is rejected as
    /// such, never read back as another filter.
    #[test]
    fn keyword_paths_never_read_back(
        filter in filter(),
        path in keyword_path(),
        instant in instant(),
        op in 0..7usize,
        join in 0..3usize,
    ) {
        let field = Filter::field(&path);
        let cmp = match op {
            0 => field.eq("x"),
            1 => field.ne("x"),
            2 => field.like("x"),
            3 => field.lt(instant),
            4 => field.le(instant),
            5 => field.gt(instant),
            _ => field.ge(instant),
        };
        let built = match join {
            0 => filter.and(cmp),
            1 => filter.or(cmp),
            _ => cmp.not().and(filter),
        };
        let text = built.to_string();
        let err = options().parse(&text).map(|c| c.filter.to_string());
        prop_assert_eq!(err.map_err(|e| e.kind().code()), Err("keyword-path"), "{}", text);
    }

    #[test]
    fn normalising_twice_changes_nothing(input in "[(]{0,2}([a-z]{1,3}|(?i:not|and|or)|a/(?i:not|and|or)) ?(=|==|!=|<>|<|<=|>|>=|LIKE|eq|ne|lt|LE|gt|ge|not) ?(now|[a-z0-9%]{1,4})( (and|OR|Not|not not) (not|and|[a-z]{1,2}) ?(=|<|lt) ?(now|[a-z]{1,2})){0,3}[)]{0,2}") {
        if let Ok(once) = options().parse(&input) {
            let text = once.filter.to_string();
            let twice = options().parse(&text).unwrap().filter;
            prop_assert_eq!(&twice, &once.filter);
            prop_assert_eq!(twice.to_string(), text);
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(input in "\\PC{0,64}") {
        check_never_panics(&input);
    }

    /// Text with control characters, whitespace other than ASCII and byte
    /// order marks, in and out of quotes: whatever parses prints text that
    /// parses to the same filter.
    #[test]
    fn odd_characters_round_trip(input in r#"[(]?[a-c]{1,2}[ \t\n\r\x{a0}\x{2028}]?=[ \t\x{a0}]?(\"[a-c \x00\x1b\x7f\x{85}\x{a0}\x{feff}\t\n]{0,4}\"|[a-c\x00\x1b\x{85}\x{feff}\x{a0}]{1,4})[ \r\n\x{3000}]?[)]?"#) {
        if let Ok(once) = options().parse(&input) {
            let text = once.filter.to_string();
            let twice = options().parse(&text).map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
            prop_assert_eq!(&twice.filter, &once.filter);
        } else {
            check_never_panics(&input);
        }
    }

    #[test]
    fn filter_shaped_strings_never_panic(input in "[()aAnNdDoOrRtT =!<>&|'\"\\\\%_a-c0-9/-]{0,40}") {
        check_never_panics(&input);
    }
}

fn check_never_panics(input: &str) {
    match options().parse(input) {
        Ok(checked) => {
            let _ = checked.filter.to_query();
        }
        Err(err) => {
            let _ = render(&err);
            assert!(err.span().end <= input.len());
        }
    }
}
