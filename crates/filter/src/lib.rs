//! The NXLog Platform agent filter language: parse, validate, normalise,
//! print, encode and evaluate filters such as `(hostname=PC1)`.
//!
//! Text goes through four stages: a parser builds a syntax tree that
//! keeps the byte span of every node; a validator checks each comparison
//! against the field schema; a normaliser produces a [`Filter`], whose
//! `Display` is the canonical text; [`Filter::compile`] turns it into a
//! [`Predicate`] that matches records.
//!
//! ```
//! use nxlog_filter::{Filter, Options};
//!
//! let filter = nxlog_filter::parse("(certificate/not-after lt '2024-09-22 00:00:00 UTC')")?;
//! assert_eq!(filter.to_string(), r#"(certificate/not-after lt "2024-09-22T00:00:00Z")"#);
//! assert_eq!(
//!     filter.to_query(),
//!     "%28certificate%2Fnot-after%20lt%20%222024-09-22T00%3A00%3A00Z%22%29",
//! );
//!
//! let agent = serde_json::json!({"hostname": "PC1", "certificate": {"notAfter": "2024-01-01T00:00:00Z"}});
//! assert!(filter.compile().matches(&agent));
//!
//! let err = nxlog_filter::parse("(cn=Doe(x))").unwrap_err();
//! assert_eq!(err.span().start, 7);
//! eprintln!("{}", nxlog_filter::render(&err));
//! # Ok::<(), nxlog_filter::Error>(())
//! ```
//!
//! The language, its limits and its error kinds are described in the
//! crate's README.

mod ast;
mod check;
mod encode;
mod error;
mod eval;
mod filter;
mod parser;
mod schema;
mod timestamp;

use chrono::{DateTime, Utc};

pub use check::{Checked, MAX_DEPTH, Options, Warning};
pub use encode::encode_query_value;
pub use error::{Error, ErrorKind, Render, Span, render};
pub use eval::{FieldValue, Predicate, Record};
pub use filter::{FieldBuilder, Filter};

/// Parses, validates and normalises a filter with the default
/// [`Options`]: lenient (unknown fields allowed), the system clock for
/// relative times, 64 KiB and depth 256 at most.
///
/// ```
/// let filter = nxlog_filter::parse("(hostname=PC1)").unwrap();
/// assert_eq!(filter.to_string(), r#"(hostname = "PC1")"#);
/// ```
pub fn parse(input: &str) -> Result<Filter, Error> {
    Options::default().parse(input).map(|checked| checked.filter)
}

/// Decodes form encoding (`+` as a space, `%XX` as a byte), then parses
/// the decoded text like [`parse`].
///
/// Use this only for a filter copied from a URL; [`parse`] never guesses
/// that text is encoded. The spans of a parse error refer to the decoded
/// text, which [`Error::input`] holds; the spans of a decoding error
/// refer to the encoded text.
///
/// ```
/// let filter = nxlog_filter::parse_form_encoded(
///     "(certificate/not-after+lt+'2024-09-22+00:00:00+UTC')",
/// ).unwrap();
/// assert_eq!(filter.to_string(), r#"(certificate/not-after lt "2024-09-22T00:00:00Z")"#);
/// ```
pub fn parse_form_encoded(input: &str) -> Result<Filter, Error> {
    let decoded = encode::decode_form(input)?;
    parse(&decoded)
}

/// Parses a timestamp in any accepted form, relative times against
/// `now`. The error's input is `text`.
///
/// ```
/// use chrono::{TimeZone, Utc};
///
/// let now = Utc.with_ymd_and_hms(2024, 9, 1, 0, 0, 0).unwrap();
/// let t = nxlog_filter::parse_timestamp("now+21d", now).unwrap();
/// assert_eq!(nxlog_filter::format_timestamp(t), "2024-09-22T00:00:00Z");
/// ```
pub fn parse_timestamp(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    timestamp::parse(text, now).map_err(|e| {
        let kind = ErrorKind::InvalidTimestamp { message: e.message };
        Error::new(kind, Span::new(e.start, e.end), text)
    })
}

/// Formats an instant in the canonical form: RFC 3339 in UTC with `Z`,
/// fractional seconds only when non-zero.
pub fn format_timestamp(t: DateTime<Utc>) -> String {
    timestamp::format(t)
}

/// The checks the fuzz targets run, shared with the test that replays
/// the fuzz corpus. Not part of the API.
#[doc(hidden)]
pub mod __fuzz {
    use chrono::{TimeZone, Utc};

    use crate::{FieldValue, Options, Record, parse_form_encoded, render};

    fn options() -> Options {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single().expect("valid instant");
        Options::new().now(now)
    }

    /// An agent with a few fields, to evaluate compiled filters against.
    struct Agent;

    impl Record for Agent {
        fn lookup(&self, key_path: &[&str]) -> Option<FieldValue<'_>> {
            match key_path {
                ["hostname"] => Some(FieldValue::Str("PC1")),
                ["certificate", "notAfter"] => Some(FieldValue::Str("2024-09-22T00:00:00Z")),
                ["certificate", "notBefore"] => {
                    Some(FieldValue::Str("Sun, 22 Sep 2024 00:00:00 GMT"))
                }
                ["os"] => Some(FieldValue::Time(Utc::now())),
                _ => None,
            }
        }
    }

    /// Any input: parsing, rendering errors, printing, encoding and
    /// matching must not panic, and error spans must lie in the input.
    pub fn never_panics(data: &[u8]) {
        let Ok(input) = std::str::from_utf8(data) else { return };
        for result in [options().parse(input).map(|c| c.filter), parse_form_encoded(input)] {
            match result {
                Ok(filter) => {
                    let _ = filter.to_query();
                    let _ = filter.compile().matches(&Agent);
                }
                Err(err) => {
                    let span = err.span();
                    assert!(span.start <= span.end && span.end <= err.input().len());
                    assert!(err.input().is_char_boundary(span.start));
                    assert!(err.input().is_char_boundary(span.end));
                    let _ = render(&err);
                }
            }
        }
    }

    /// Any input that parses: printing then parsing gives the same
    /// filter, printing is idempotent, and the query value decodes back.
    pub fn round_trip(data: &[u8]) {
        let Ok(input) = std::str::from_utf8(data) else { return };
        let Ok(checked) = options().parse(input) else { return };
        let text = checked.filter.to_string();
        let again = match options().parse(&text) {
            Ok(again) => again.filter,
            Err(err) => panic!("canonical text {text:?} does not parse: {err}"),
        };
        assert_eq!(again, checked.filter, "{text}");
        assert_eq!(again.to_string(), text);
        let decoded = parse_form_encoded(&checked.filter.to_query()).expect("query decodes");
        assert_eq!(decoded, checked.filter);
    }
}
