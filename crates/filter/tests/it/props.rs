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

    #[test]
    fn normalising_twice_changes_nothing(input in "[(]{0,2}[a-z]{1,3} ?(=|!=|<|>=|LIKE|eq) ?[a-z0-9%]{1,4}( (and|OR|Not) [a-z]{1,2}=[a-z]{1,2}){0,3}[)]{0,2}") {
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
