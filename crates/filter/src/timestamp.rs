//! Timestamp values: every accepted spelling read into one instant, and that
//! instant printed back in the single canonical spelling.
//!
//! # Accepted forms
//!
//! The layout is chosen by the shape of the text, never by trying parsers
//! one after another:
//!
//! | starts with | form | example |
//! |---|---|---|
//! | `now` | relative time | `now`, `now-7d`, `now+30d` |
//! | four digits and `-` | RFC 3339, or the vendor's shape | `2024-09-22T00:00:00Z`, `2024-09-22 00:00:00 UTC` |
//! | ten or twelve digits | ASN.1 UTCTime | `240922000000Z` |
//! | fourteen digits | ASN.1 GeneralizedTime | `20240922000000Z`, `20240922020000+0200` |
//! | one or two digits, a day name or a comment | RFC 5322 (RFC 2822) | `Sun, 22 Sep 2024 00:00:00 +0000` |
//! | a month name | OpenSSL's printed form | `Sep 22 00:00:00 2024 GMT`, `Sep  2 00:00:00 2024 GMT` |
//!
//! So the `T` of `Tue` or `Thu` is never taken for the RFC 3339 separator,
//! and a 15-character ASN.1 value is never read as a two-digit year.
//!
//! The common spellings (RFC 3339, RFC 5322 with single spaces, ASN.1 as
//! X.509 writes it) are first read at fixed places for speed; anything
//! else goes through the full parsers, which also explain every error. A
//! property test requires both routes to agree.
//!
//! # Decisions
//!
//! - Whitespace around the whole value is ignored.
//! - A time without a zone is an error, never host local time: the error
//!   sits at the place where `Z` or an offset belongs. Nothing here reads
//!   the host's time zone.
//! - RFC 3339: the separator may be `T`, `t` or a space, `Z` may be
//!   lower-case, seconds are required, offsets are `+hh:mm` with hours
//!   00-23; `-00:00` is UTC. A date without a time is an error.
//! - The vendor's shape is RFC 3339 with ` UTC` (or ` GMT`) instead of
//!   `Z`.
//! - Fractional seconds need at least one digit after the dot; digits past
//!   the ninth (nanoseconds) are dropped, not rounded.
//! - Hour 24 is rejected in every form (RFC 3339 allows only 00-23; write
//!   00:00 of the next day instead). Second 61 is rejected. Second 60 is a
//!   leap second and is accepted only where it can be one, at 23:59:60 UTC
//!   once the offset is applied; it is read as the following second
//!   (00:00:00 of the next day), as POSIX time counts. The table of real
//!   leap seconds is not consulted.
//! - RFC 5322: day and month names in any letter case; the day name, when
//!   given, must agree with the date; seconds are optional; comments and
//!   folding whitespace (line breaks count as whitespace) are allowed
//!   between the parts as the RFC's obsolete syntax allows. Two-digit years
//!   00-49 mean 20xx, 50-99 and three-digit years mean 19xx (RFC 5322
//!   section 4.3). Zones: `+hhmm`/`-hhmm` (hours up to 99, as the RFC
//!   allows), `UT`, `GMT`, `EST`, `EDT`, `CST`, `CDT`, `MST`, `MDT`, `PST`,
//!   `PDT`, and also `UTC` and the military `Z`, which both mean zero
//!   offset. The other military letters are rejected: RFC 822 defined
//!   their signs backwards, so their offset is unknown. Any other zone name
//!   is rejected rather than guessed.
//! - ASN.1: UTCTime years 50-99 mean 19xx and 00-49 mean 20xx, as X.509
//!   requires; UTCTime seconds are optional; both types take `Z` or an
//!   offset `+hhmm`/`-hhmm`; GeneralizedTime needs seconds and may carry a
//!   fraction after a `.`.
//! - OpenSSL's form needs the trailing `GMT` (without it OpenSSL printed a
//!   local time of unknown zone).
//! - Relative times: `now`, or `now` followed by `+` or `-`, a whole number
//!   and one unit: `s` seconds, `m` minutes, `h` hours, `d` days (86 400
//!   seconds), `w` weeks. Results that cannot be represented are errors.
//! - Every result must fall in the years 0000-9999 UTC, the range RFC 3339
//!   can print.
//!
//! # Printing
//!
//! [`format`] writes RFC 3339 in UTC with `Z`. Fractional seconds are
//! printed only when non-zero, with trailing zeros trimmed (`.069`, `.5`,
//! `.123456789`), so the output is the shortest exact spelling.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, TimeDelta, Timelike, Utc, Weekday};

/// Why a timestamp did not parse.
///
/// `start` and `end` are byte offsets into the text given to [`parse`];
/// an empty span (`start == end`) points between two characters, as at the
/// end of the text when a zone is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TimestampError {
    /// Byte offset of the first byte of the offending part.
    pub(crate) start: usize,
    /// Byte offset just past the offending part.
    pub(crate) end: usize,
    /// One lowercase line without a trailing period.
    pub(crate) message: String,
}

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TimestampError {}

/// Errors travel boxed inside the parser, which keeps every `Result` small
/// enough to return in registers on the path that succeeds.
type Fail = Box<TimestampError>;

type Result<T> = std::result::Result<T, Fail>;

#[cold]
fn fail(start: usize, end: usize, message: impl Into<String>) -> Fail {
    Box::new(TimestampError { start, end, message: message.into() })
}

/// Parses a timestamp in any accepted form (see the module documentation)
/// into an instant; relative times are resolved against `now`.
pub(crate) fn parse(
    text: &str,
    now: DateTime<Utc>,
) -> std::result::Result<DateTime<Utc>, TimestampError> {
    // The common spellings first, read at fixed places; whatever
    // they do not take goes through the full parsers, which also explain
    // every error.
    let bytes = text.as_bytes();
    let fast = match bytes.first() {
        Some(b'0'..=b'9') if bytes.get(4) == Some(&b'-') => rfc3339_fast(bytes),
        Some(b'0'..=b'9') if matches!(bytes.len(), 13 | 15) && bytes.ends_with(b"Z") => {
            asn1_fast(bytes)
        }
        Some(b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z') => rfc5322_fast(bytes),
        _ => None,
    };
    match fast {
        Some(t) => Ok(t),
        None => parse_any(text, now).map_err(|e| *e),
    }
}

/// [`parse`] without the fast paths, with the error boxed.
#[inline(never)]
fn parse_any(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    // Whitespace around the value never changes its meaning.
    let is_space = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let bytes = text.as_bytes();
    let start = bytes.iter().position(|b| !is_space(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !is_space(b)).map_or(start, |i| i + 1);
    let mut sc = Scanner { text, bytes, start, pos: start, end };

    // Pick the layout by the shape of the first token.
    let Some(first) = sc.peek() else {
        return Err(fail(0, text.len(), "expected a timestamp, found an empty value"));
    };
    if first.is_ascii_digit() {
        let run = sc.digit_run(start);
        let next = sc.byte_at(start + run);
        return match run {
            4 if next == Some(b'-') => rfc3339(&mut sc),
            10 | 12 => asn1(&mut sc, false),
            14 => asn1(&mut sc, true),
            1 | 2 => rfc5322(&mut sc),
            _ => Err(sc.unrecognised(start)),
        };
    }
    if first.is_ascii_alphabetic() {
        let word_end = sc.alpha_end(start);
        let word = &text[start..word_end];
        if word == "now" {
            return relative(&mut sc, now);
        }
        if day_name(word.as_bytes()).is_some() || long_name(word, &DAY_NAMES).is_some() {
            return rfc5322(&mut sc);
        }
        if month_name(word.as_bytes()).is_some() || long_name(word, &MONTH_NAMES).is_some() {
            return openssl(&mut sc);
        }
        return Err(sc.unrecognised(start));
    }
    if first == b'(' {
        return rfc5322(&mut sc);
    }
    Err(sc.unrecognised(start))
}

/// Formats an instant as RFC 3339 in UTC with `Z`, e.g.
/// `2024-09-22T00:00:00Z` or `2024-09-22T00:00:00.069Z`.
///
/// Fractional seconds appear only when non-zero, with trailing zeros
/// trimmed. Years outside 0000-9999, which RFC 3339 cannot spell and
/// [`parse`] never returns, are printed with a sign in ISO 8601's expanded
/// form (`+10000-01-01T00:00:00Z`). A leap second held by chrono prints as
/// second `60`.
pub fn format(t: DateTime<Utc>) -> String {
    Formatted::new(t).as_str().to_owned()
}

/// An instant printed as [`format`] prints it, held on the stack, so
/// printing a filter needs no allocation per timestamp.
pub(crate) struct Formatted {
    buf: [u8; 48],
    len: usize,
}

impl Formatted {
    pub(crate) fn new(t: DateTime<Utc>) -> Formatted {
        let mut out = Formatted { buf: [0; 48], len: 0 };
        let year = t.year();
        if (0..=9999).contains(&year) {
            out.digits(year as u32, 4);
        } else {
            out.push(if year < 0 { b'-' } else { b'+' });
            let digits = year.unsigned_abs();
            out.digits(digits, if digits > 9999 { digits.ilog10() as usize + 1 } else { 4 });
        }

        out.push(b'-');
        out.digits(t.month(), 2);
        out.push(b'-');
        out.digits(t.day(), 2);
        out.push(b'T');
        out.digits(t.hour(), 2);
        out.push(b':');
        out.digits(t.minute(), 2);
        out.push(b':');

        // chrono keeps a leap second as a nanosecond count past one billion.
        let (second, mut nanos) = match t.nanosecond() {
            n if n >= 1_000_000_000 => (60, n - 1_000_000_000),
            n => (t.second(), n),
        };
        out.digits(second, 2);
        if nanos != 0 {
            let mut width = 9;
            while nanos % 10 == 0 {
                nanos /= 10;
                width -= 1;
            }
            out.push(b'.');
            out.digits(nanos, width);
        }
        out.push(b'Z');
        out
    }

    /// The text; every byte written is ASCII.
    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    /// Appends `value` as exactly `width` decimal digits, zero-padded.
    fn digits(&mut self, value: u32, width: usize) {
        let mut v = value;
        for slot in self.buf[self.len..self.len + width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
        self.len += width;
    }
}

/// A number read from the text, with the bytes it came from.
#[derive(Clone, Copy, Debug)]
struct Part {
    value: u32,
    start: usize,
    end: usize,
}

/// The fields of a calendar time as written, before validation.
#[derive(Debug)]
struct Fields {
    year: Part,
    month: Part,
    day: Part,
    hour: Part,
    minute: Part,
    second: Option<Part>,
    nanos: u32,
    /// Seconds east of UTC.
    offset: i64,
    /// The day name, when the text gave one: the weekday and its bytes.
    weekday: Option<(Weekday, usize, usize)>,
}

/// A cursor over the (trimmed) text; positions are byte offsets into the
/// whole text.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    /// Where the value starts, after leading whitespace.
    start: usize,
    pos: usize,
    end: usize,
}

impl Scanner<'_> {
    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.byte_at(self.pos)
    }

    #[inline(always)]
    fn byte_at(&self, at: usize) -> Option<u8> {
        if at < self.end { Some(self.bytes[at]) } else { None }
    }

    #[inline(always)]
    fn digit_run(&self, at: usize) -> usize {
        self.bytes[at..self.end].iter().take_while(|b| b.is_ascii_digit()).count()
    }

    #[inline(always)]
    fn alpha_end(&self, at: usize) -> usize {
        at + self.bytes[at..self.end].iter().take_while(|b| b.is_ascii_alphabetic()).count()
    }

    /// End of the token at `at`: everything up to whitespace, a comma, a
    /// parenthesis or the end.
    fn token_end(&self, at: usize) -> usize {
        let is_stop = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b',' | b'(' | b')');
        let len = self.bytes[at.min(self.end)..self.end].iter().take_while(|b| !is_stop(b)).count();
        at + len
    }

    /// The text at `at` for a message, and the span it covers: one
    /// character, or "end of input" with an empty span.
    fn found(&self, at: usize) -> (String, usize) {
        if at >= self.end {
            return ("end of input".to_owned(), at);
        }
        match self.text.get(at..).and_then(|rest| rest.chars().next()) {
            Some(c) => (format!("`{c}`"), at + c.len_utf8()),
            None => (format!("byte 0x{:02x}", self.bytes[at]), at + 1),
        }
    }

    /// "expected {what}, found …" at the current position.
    #[cold]
    fn expected(&self, what: &str) -> Fail {
        let (found, end) = self.found(self.pos);
        fail(self.pos, end, format!("expected {what}, found {found}"))
    }

    /// "expected {what}, found `token`" over the whole token at `at`.
    #[cold]
    fn expected_token(&self, at: usize, what: &str) -> Fail {
        let end = self.token_end(at);
        if end == at {
            let (found, end) = self.found(at);
            return fail(at, end, format!("expected {what}, found {found}"));
        }
        fail(at, end, format!("expected {what}, found {}", quote(&self.text[at..end])))
    }

    /// Reads a day or month name at the cursor with `lookup`; a long
    /// spelling of a name in `names` (`Sept`, `Sunday`) is an error that
    /// names the short form, anything else an error naming `expected`.
    fn name<T>(
        &mut self,
        lookup: fn(&[u8]) -> Option<T>,
        names: &[&'static str],
        what: &str,
        expected: &str,
    ) -> Result<(T, usize, usize)> {
        let start = self.pos;
        let end = self.alpha_end(start);
        let word = &self.text[start..end];
        let Some(value) = lookup(word.as_bytes()) else {
            return Err(match long_name(word, names) {
                Some(short) => {
                    fail(start, end, format!("{what} {} must be written as `{short}`", quote(word)))
                }
                None => self.expected_token(start, expected),
            });
        };
        self.pos = end;
        Ok((value, start, end))
    }

    #[cold]
    fn unrecognised(&self, at: usize) -> Fail {
        self.expected_token(
            at,
            "a timestamp such as `2024-09-22T00:00:00Z`, \
             `Sun, 22 Sep 2024 00:00:00 +0000` or `20240922000000Z`",
        )
    }

    #[inline(always)]
    fn eat(&mut self, byte: u8) -> bool {
        let hit = self.peek() == Some(byte);
        if hit {
            self.pos += 1;
        }
        hit
    }

    #[inline(always)]
    fn expect(&mut self, byte: u8, what: &str) -> Result<()> {
        if self.eat(byte) { Ok(()) } else { Err(self.expected(what)) }
    }

    /// Exactly `n` ASCII digits.
    #[inline(always)]
    fn digits(&mut self, n: usize, what: &str) -> Result<Part> {
        let start = self.pos;
        let mut value = 0;
        for _ in 0..n {
            match self.peek() {
                Some(b @ b'0'..=b'9') => {
                    value = value * 10 + u32::from(b - b'0');
                    self.pos += 1;
                }
                // Name the short run of digits if there is one.
                _ if self.pos > start => {
                    let found = quote(&self.text[start..self.pos]);
                    let message = format!("expected {what}, found {found}");
                    return Err(fail(start, self.pos, message));
                }
                _ => return Err(self.expected(what)),
            }
        }
        Ok(Part { value, start, end: self.pos })
    }

    /// An optional fraction: `.` and one or more digits, as nanoseconds;
    /// digits past the ninth are dropped.
    #[inline(always)]
    fn fraction(&mut self) -> Result<u32> {
        if !self.eat(b'.') {
            return Ok(0);
        }
        let run = self.digit_run(self.pos);
        if run == 0 {
            return Err(self.expected("a digit after `.`"));
        }
        let mut nanos = 0;
        for i in 0..9 {
            let digit = if i < run { u32::from(self.bytes[self.pos + i] - b'0') } else { 0 };
            nanos = nanos * 10 + digit;
        }
        self.pos += run;
        Ok(nanos)
    }

    /// Requires that nothing is left after the value.
    fn finish(&self, after: &str) -> Result<()> {
        if self.pos >= self.end {
            return Ok(());
        }
        let message = format!("unexpected {} after {after}", quote(&self.text[self.pos..self.end]));
        Err(fail(self.pos, self.end, message))
    }

    /// Skips whitespace and comments (RFC 5322 CFWS); says whether it
    /// skipped anything.
    fn cfws(&mut self) -> Result<bool> {
        let start = self.pos;
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'(' => self.comment()?,
                _ => break,
            }
        }
        Ok(self.pos > start)
    }

    /// A comment: parentheses that nest, with `\` quoting one character.
    /// Depth is a counter, so deep nesting costs no stack.
    fn comment(&mut self) -> Result<()> {
        let open = self.pos;
        let mut depth = 0usize;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                b'\\' if self.pos < self.end => self.pos += 1,
                _ => {}
            }
        }
        Err(fail(open, self.end, "unclosed comment, expected `)`"))
    }
}

/// Quotes user text in backticks for a message, shortened when long.
fn quote(s: &str) -> String {
    const MAX_CHARS: usize = 32;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("`{}…`", &s[..cut]),
        None => format!("`{s}`"),
    }
}

/// RFC 3339 date-time, or the vendor's `YYYY-MM-DD HH:MM:SS UTC`.
///
/// ```text
/// date-time = full-date ("T" / "t" / " ") partial-time zone
/// full-date = 4DIGIT "-" 2DIGIT "-" 2DIGIT
/// partial-time = 2DIGIT ":" 2DIGIT ":" 2DIGIT ["." 1*DIGIT]
/// zone = "Z" / "z" / ("+" / "-") 2DIGIT ":" 2DIGIT / " UTC" / " GMT"
/// ```
fn rfc3339(sc: &mut Scanner<'_>) -> Result<DateTime<Utc>> {
    let year = sc.digits(4, "a four-digit year")?;
    sc.expect(b'-', "`-`")?;
    let month = sc.digits(2, "a two-digit month")?;
    sc.expect(b'-', "`-`")?;
    let day = sc.digits(2, "a two-digit day")?;

    // A date alone is a whole day, not an instant.
    match sc.peek() {
        Some(b'T' | b't' | b' ') => sc.pos += 1,
        None => return Err(sc.expected("a time after the date, such as `T00:00:00Z`")),
        Some(_) => return Err(sc.expected("`T` or a space between the date and the time")),
    }

    let hour = sc.digits(2, "a two-digit hour")?;
    sc.expect(b':', "`:`")?;
    let minute = sc.digits(2, "a two-digit minute")?;
    sc.expect(b':', "`:` and seconds")?;
    let second = sc.digits(2, "two-digit seconds")?;
    let nanos = sc.fraction()?;

    let offset = match sc.peek() {
        Some(b'Z' | b'z') => {
            sc.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            sc.pos += 1;
            let hours = sc.digits(2, "a two-digit offset hour")?;
            sc.expect(b':', "`:` in the offset")?;
            let minutes = sc.digits(2, "two-digit offset minutes")?;
            offset_seconds(sign, hours, minutes, 23)?
        }
        Some(b' ') => vendor_zone(sc)?,
        _ => return Err(sc.expected("`Z` or an offset such as `+02:00`")),
    };
    sc.finish("the time zone")?;

    build(
        sc,
        Fields {
            year,
            month,
            day,
            hour,
            minute,
            second: Some(second),
            nanos,
            offset,
            weekday: None,
        },
    )
}

/// The zone of the vendor's shape: a space and `UTC` (or `GMT`).
fn vendor_zone(sc: &mut Scanner<'_>) -> Result<i64> {
    let space = sc.pos;
    sc.pos += 1;
    let word_end = sc.alpha_end(sc.pos);
    match &sc.text[sc.pos..word_end] {
        "UTC" | "GMT" => {
            sc.pos = word_end;
            Ok(0)
        }
        "Z" | "z" => Err(fail(space, space + 1, "unexpected space before the time zone")),
        "" if matches!(sc.peek(), Some(b'+' | b'-')) => {
            Err(fail(space, space + 1, "unexpected space before the time zone"))
        }
        "" => Err(sc.expected("`UTC`")),
        word => Err(fail(
            sc.pos,
            word_end,
            format!(
                "unknown time zone {}, expected `UTC`, `Z` or an offset such as `+02:00`",
                quote(word)
            ),
        )),
    }
}

/// Seconds east of UTC for a numeric offset; hours reach 23 in RFC 3339
/// and ASN.1, 99 in RFC 5322.
fn offset_seconds(sign: u8, hours: Part, minutes: Part, max_hours: u32) -> Result<i64> {
    if hours.value > max_hours {
        let message =
            format!("offset hour `{:02}` out of range, expected 00-{max_hours}", hours.value);
        return Err(fail(hours.start, hours.end, message));
    }
    if minutes.value > 59 {
        let message = format!("offset minutes `{:02}` out of range, expected 00-59", minutes.value);
        return Err(fail(minutes.start, minutes.end, message));
    }
    let magnitude = i64::from(hours.value * 3600 + minutes.value * 60);
    Ok(if sign == b'-' { -magnitude } else { magnitude })
}

/// ASN.1 UTCTime and GeneralizedTime.
///
/// ```text
/// UTCTime         = 2DIGIT 2DIGIT 2DIGIT 2DIGIT 2DIGIT [2DIGIT] zone
/// GeneralizedTime = 4DIGIT 2DIGIT 2DIGIT 2DIGIT 2DIGIT 2DIGIT ["." 1*DIGIT] zone
/// zone            = "Z" / ("+" / "-") 4DIGIT
/// ```
fn asn1(sc: &mut Scanner<'_>, generalized: bool) -> Result<DateTime<Utc>> {
    let year = if generalized {
        sc.digits(4, "a four-digit year")?
    } else {
        // X.509's window: 50-99 are 1950-1999, 00-49 are 2000-2049.
        let yy = sc.digits(2, "a two-digit year")?;
        Part { value: if yy.value >= 50 { 1900 + yy.value } else { 2000 + yy.value }, ..yy }
    };
    let month = sc.digits(2, "a two-digit month")?;
    let day = sc.digits(2, "a two-digit day")?;
    let hour = sc.digits(2, "a two-digit hour")?;
    let minute = sc.digits(2, "a two-digit minute")?;
    let second = if generalized || sc.peek().is_some_and(|b| b.is_ascii_digit()) {
        Some(sc.digits(2, "two-digit seconds")?)
    } else {
        None
    };
    let nanos = if generalized { sc.fraction()? } else { 0 };

    let offset = match sc.peek() {
        Some(b'Z') => {
            sc.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            sc.pos += 1;
            let hours = sc.digits(2, "a four-digit offset such as `+0200`")?;
            let minutes = sc.digits(2, "a four-digit offset such as `+0200`")?;
            offset_seconds(sign, hours, minutes, 23)?
        }
        // Without a zone, ASN.1 means local time of an unknown place.
        None => return Err(sc.expected("`Z` or an offset such as `+0200` (add `Z` for UTC)")),
        Some(_) => return Err(sc.expected("`Z` or an offset such as `+0200`")),
    };
    sc.finish("the time zone")?;

    build(sc, Fields { year, month, day, hour, minute, second, nanos, offset, weekday: None })
}

/// RFC 5322 date-time, with the obsolete syntax a receiver must accept.
///
/// ```text
/// date-time   = [CFWS] [day-name [CFWS] "," [CFWS]] day [CFWS] month [CFWS] year CFWS
///               hour [CFWS] ":" [CFWS] minute [[CFWS] ":" [CFWS] second] [CFWS] zone [CFWS]
/// day         = 1*2DIGIT
/// year        = 2DIGIT / 3DIGIT / 4DIGIT
/// zone        = ("+" / "-") 4DIGIT / "UT" / "GMT" / "UTC" / "Z" / "EST" / "EDT" / "CST"
///               / "CDT" / "MST" / "MDT" / "PST" / "PDT"
/// ```
fn rfc5322(sc: &mut Scanner<'_>) -> Result<DateTime<Utc>> {
    sc.cfws()?;

    // The optional day name, which is checked against the date later.
    let weekday = if sc.peek().is_some_and(|b| b.is_ascii_alphabetic()) {
        let expected = "a day name such as `Sun` or a day of the month";
        let (weekday, start, end) = sc.name(day_name, &DAY_NAMES, "day name", expected)?;
        sc.cfws()?;
        sc.expect(b',', "`,` after the day name")?;
        sc.cfws()?;
        Some((weekday, start, end))
    } else {
        None
    };

    // The day of the month: one or two digits ending the token.
    let day_start = sc.pos;
    let run = sc.digit_run(day_start);
    let after = sc.byte_at(day_start + run);
    let is_boundary = after.is_none_or(|b| {
        matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'(') || b.is_ascii_alphabetic()
    });
    if !(1..=2).contains(&run) || !is_boundary {
        return Err(sc.expected_token(day_start, "a day of the month"));
    }
    let day = sc.digits(run, "a day of the month")?;
    sc.cfws()?;

    let (month, start, end) =
        sc.name(month_name, &MONTH_NAMES, "month", "a month name such as `Sep`")?;
    let month = Part { value: month, start, end };
    sc.cfws()?;

    // Two- and three-digit years are obsolete but defined by RFC 5322.
    let year_start = sc.pos;
    let run = sc.digit_run(year_start);
    let after = sc.byte_at(year_start + run);
    let is_boundary = after.is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'('));
    if !(2..=4).contains(&run) || !is_boundary {
        return Err(sc.expected_token(year_start, "a year of four digits"));
    }
    let year = sc.digits(run, "a year")?;
    let year = match run {
        2 if year.value < 50 => Part { value: 2000 + year.value, ..year },
        2 | 3 => Part { value: 1900 + year.value, ..year },
        _ => year,
    };
    if !sc.cfws()? {
        return Err(sc.expected("a time after the year"));
    }

    let hour = sc.digits(2, "a two-digit hour")?;
    sc.cfws()?;
    sc.expect(b':', "`:`")?;
    sc.cfws()?;
    let minute = sc.digits(2, "a two-digit minute")?;
    sc.cfws()?;
    let second = if sc.eat(b':') {
        sc.cfws()?;
        let second = sc.digits(2, "two-digit seconds")?;
        sc.cfws()?;
        Some(second)
    } else {
        None
    };

    let offset = rfc5322_zone(sc)?;
    sc.cfws()?;
    sc.finish("the time zone")?;

    build(sc, Fields { year, month, day, hour, minute, second, nanos: 0, offset, weekday })
}

/// An RFC 5322 zone: `+hhmm`, `-hhmm` or one of the obsolete names.
fn rfc5322_zone(sc: &mut Scanner<'_>) -> Result<i64> {
    let start = sc.pos;
    match sc.peek() {
        Some(sign @ (b'+' | b'-')) => {
            sc.pos += 1;
            let hours = sc.digits(2, "a four-digit offset such as `+0200`")?;
            let minutes = sc.digits(2, "a four-digit offset such as `+0200`")?;
            offset_seconds(sign, hours, minutes, 99)
        }
        Some(b) if b.is_ascii_alphabetic() => {
            let end = sc.alpha_end(start);
            let word = &sc.text[start..end];
            let hours = match zone_hours(word.as_bytes()) {
                Some(hours) => hours,
                None if word.len() == 1 => {
                    let message = format!(
                        "military time zone {} is ambiguous (RFC 822 defined its sign \
                         backwards), use a numeric offset such as `+0100`",
                        quote(word)
                    );
                    return Err(fail(start, end, message));
                }
                None => {
                    let message = format!(
                        "unknown time zone {}, use a numeric offset such as `+0100`",
                        quote(word)
                    );
                    return Err(fail(start, end, message));
                }
            };
            sc.pos = end;
            Ok(hours * 3600)
        }
        _ => Err(sc.expected("a time zone such as `+0000` or `GMT`")),
    }
}

/// OpenSSL's printed form, `Mmm DD HH:MM:SS[.fff] YYYY GMT`, where the day
/// is padded with a space (`Sep  2`).
fn openssl(sc: &mut Scanner<'_>) -> Result<DateTime<Utc>> {
    let (month, start, end) =
        sc.name(month_name, &MONTH_NAMES, "month", "a month name such as `Sep`")?;
    let month = Part { value: month, start, end };

    spaces(sc, "a space after the month")?;
    let run = sc.digit_run(sc.pos);
    if !(1..=2).contains(&run) || sc.byte_at(sc.pos + run) != Some(b' ') {
        return Err(sc.expected_token(sc.pos, "a day of the month"));
    }
    let day = sc.digits(run, "a day of the month")?;

    spaces(sc, "a space after the day")?;
    if sc.digit_run(sc.pos) != 2 {
        return Err(sc.expected_token(sc.pos, "a time such as `00:00:00`"));
    }
    let hour = sc.digits(2, "a two-digit hour")?;
    sc.expect(b':', "`:`")?;
    let minute = sc.digits(2, "a two-digit minute")?;
    sc.expect(b':', "`:` and seconds")?;
    let second = sc.digits(2, "two-digit seconds")?;
    let nanos = sc.fraction()?;

    spaces(sc, "a space and the year")?;
    let year_start = sc.pos;
    if sc.digit_run(year_start) != 4 {
        return Err(sc.expected_token(year_start, "a four-digit year"));
    }
    let year = sc.digits(4, "a four-digit year")?;

    // Without `GMT`, OpenSSL printed a local time of unknown zone.
    if sc.peek().is_none() {
        return Err(sc.expected("` GMT` after the year"));
    }
    spaces(sc, "a space and `GMT`")?;
    let zone_end = sc.alpha_end(sc.pos);
    if &sc.text[sc.pos..zone_end] != "GMT" {
        return Err(sc.expected_token(sc.pos, "`GMT`"));
    }
    sc.pos = zone_end;
    sc.finish("`GMT`")?;

    build(
        sc,
        Fields {
            year,
            month,
            day,
            hour,
            minute,
            second: Some(second),
            nanos,
            offset: 0,
            weekday: None,
        },
    )
}

/// One or more spaces.
fn spaces(sc: &mut Scanner<'_>, what: &str) -> Result<()> {
    if !sc.eat(b' ') {
        return Err(sc.expected(what));
    }
    while sc.eat(b' ') {}
    Ok(())
}

/// A relative time: `now`, or `now` `+`/`-` a whole number and a unit.
///
/// ```text
/// relative = "now" [("+" / "-") 1*DIGIT ("s" / "m" / "h" / "d" / "w")]
/// ```
fn relative(sc: &mut Scanner<'_>, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    let start = sc.pos;
    sc.pos += 3;
    let sign = match sc.peek() {
        None => return Ok(now),
        Some(sign @ (b'+' | b'-')) => sign,
        Some(_) => return Err(sc.expected("`+` or `-` after `now`")),
    };
    sc.pos += 1;

    let number_start = sc.pos;
    let run = sc.digit_run(number_start);
    if run == 0 {
        return Err(sc.expected("a whole number"));
    }
    // Too many digits for any representable time is caught below.
    let count = sc.text[number_start..number_start + run].parse::<u64>().ok();
    sc.pos += run;

    let unit_start = sc.pos;
    let unit_end = sc.alpha_end(unit_start);
    let unit_seconds: u64 = match &sc.text[unit_start..unit_end] {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        "" => return Err(sc.expected("a unit `s`, `m`, `h`, `d` or `w`")),
        unit => {
            let message =
                format!("unknown unit {}, expected `s`, `m`, `h`, `d` or `w`", quote(unit));
            return Err(fail(unit_start, unit_end, message));
        }
    };
    sc.pos = unit_end;
    sc.finish("the unit")?;

    let delta = count
        .and_then(|n| n.checked_mul(unit_seconds))
        .and_then(|s| i64::try_from(s).ok())
        .and_then(TimeDelta::try_seconds);
    let moved = delta.and_then(|d| {
        if sign == b'+' { now.checked_add_signed(d) } else { now.checked_sub_signed(d) }
    });
    match moved {
        Some(t) if (0..=9999).contains(&t.year()) => Ok(t),
        _ => Err(fail(
            start,
            sc.end,
            format!("{} is out of range (years 0000-9999)", quote(&sc.text[start..sc.end])),
        )),
    }
}

/// Checks the fields and turns them into an instant.
fn build(sc: &Scanner<'_>, f: Fields) -> Result<DateTime<Utc>> {
    let out_of_range = |part: Part, what: &str, range: &str| {
        let message = format!(
            "{what} {} out of range, expected {range}",
            quote(&sc.text[part.start..part.end])
        );
        fail(part.start, part.end, message)
    };

    // The date.
    if !(1..=12).contains(&f.month.value) {
        return Err(out_of_range(f.month, "month", "01-12"));
    }
    if f.year.value > 9999 {
        return Err(out_of_range(f.year, "year", "0000-9999"));
    }
    let year = f.year.value as i32;
    let Some(date) = NaiveDate::from_ymd_opt(year, f.month.value, f.day.value) else {
        let last = days_in_month(year, f.month.value);
        let message = format!(
            "day {} out of range for {} {year:04}, which has {last} days",
            quote(&sc.text[f.day.start..f.day.end]),
            MONTH_NAMES[f.month.value as usize - 1],
        );
        return Err(fail(f.day.start, f.day.end, message));
    };
    if let Some((_, start, end)) = f.weekday.filter(|&(day, ..)| day != date.weekday()) {
        let message = format!(
            "weekday {} does not match {date} (a {})",
            quote(&sc.text[start..end]),
            DAY_NAMES[date.weekday().num_days_from_monday() as usize],
        );
        return Err(fail(start, end, message));
    }

    // The time of day; second 60 is held back until the offset is known.
    if f.hour.value > 23 {
        return Err(out_of_range(f.hour, "hour", "00-23"));
    }
    if f.minute.value > 59 {
        return Err(out_of_range(f.minute, "minute", "00-59"));
    }
    let second = f.second.map_or(0, |s| s.value);
    if second > 60 {
        return Err(out_of_range(
            f.second.unwrap_or(f.minute),
            "second",
            "00-59, or 60 for a leap second",
        ));
    }
    // To UTC, in seconds from the start of the written day.
    let whole_range = || {
        let message = "timestamp out of range, expected years 0000-9999 in UTC";
        fail(sc.start, sc.end, message)
    };
    let seconds = i64::from(f.hour.value * 3600 + f.minute.value * 60 + second) - f.offset;
    if second == 60 {
        let is_last_second_of_utc_day = (seconds - 1).rem_euclid(86_400) == 86_399;
        if !is_last_second_of_utc_day {
            let part = f.second.unwrap_or(f.minute);
            let message = "second `60` is only valid for a leap second, at 23:59:60 UTC";
            return Err(fail(part.start, part.end, message));
        }
        // POSIX time has no leap seconds: 23:59:60 counts as the next
        // 00:00:00, which `seconds` already is.
    }
    instant(date, seconds, f.nanos).ok_or_else(whole_range)
}

/// The instant `seconds` (plus `nanos`) after the start of `date` in UTC;
/// `seconds` may fall outside the day once an offset is taken off. `None`
/// outside the years 0000-9999.
#[inline(always)]
fn instant(date: NaiveDate, seconds: i64, nanos: u32) -> Option<DateTime<Utc>> {
    let date = match seconds.div_euclid(86_400) {
        0 => date,
        -1 => date.pred_opt()?,
        1 => date.succ_opt()?,
        // RFC 5322 offsets reach 99:59, several days.
        days => date.checked_add_signed(TimeDelta::try_days(days)?)?,
    };
    if !(0..=9999).contains(&date.year()) {
        return None;
    }
    let time_of_day = seconds.rem_euclid(86_400) as u32;
    let time = NaiveTime::from_num_seconds_from_midnight_opt(time_of_day, nanos)?;
    Some(date.and_time(time).and_utc())
}

/// Two ASCII digits at `at` as a number.
#[inline(always)]
fn two_digits(b: &[u8], at: usize) -> Option<u32> {
    let hi = b.get(at)?.wrapping_sub(b'0');
    let lo = b.get(at + 1)?.wrapping_sub(b'0');
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

/// The common RFC 3339 spelling read at fixed positions, for speed:
/// `YYYY-MM-DDTHH:MM:SS[.f…](Z|±HH:MM| UTC| GMT)` with no leap second. `None` hands
/// the text to [`rfc3339`], which accepts or explains it; both must agree
/// on everything this accepts.
#[inline]
fn rfc3339_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    let is_layout = b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't' | b' ')
        && b[13] == b':'
        && b[16] == b':';
    if !is_layout {
        return None;
    }
    let year = two_digits(b, 0)? * 100 + two_digits(b, 2)?;
    let (month, day) = (two_digits(b, 5)?, two_digits(b, 8)?);
    let (hour, minute, second) = (two_digits(b, 11)?, two_digits(b, 14)?, two_digits(b, 17)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let mut at = 19;
    let mut nanos = 0;
    if b[at] == b'.' {
        at += 1;
        let run = b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
        if run == 0 {
            return None;
        }
        for i in 0..9 {
            nanos = nanos * 10 + if i < run { u32::from(b[at + i] - b'0') } else { 0 };
        }
        at += run;
    }

    let offset = match &b[at..] {
        // The vendor's shape writes ` UTC` (or ` GMT`) where RFC 3339 has `Z`.
        [b'Z' | b'z'] | b" UTC" | b" GMT" => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (hours, minutes) = (two_digits(b, at + 1)?, two_digits(b, at + 4)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let east = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -east } else { east }
        }
        _ => return None,
    };

    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    instant(date, i64::from(hour * 3600 + minute * 60 + second) - offset, nanos)
}

/// ASN.1 times as X.509 writes them, read at fixed places for speed:
/// `YYMMDDHHMMSSZ` and `YYYYMMDDHHMMSSZ`, no leap second. `None` hands the
/// text to [`asn1`], which accepts or explains it; both must agree on
/// everything this accepts.
#[inline]
fn asn1_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    let (year, at) = match b.len() {
        13 => {
            let yy = two_digits(b, 0)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, 2)
        }
        15 => (two_digits(b, 0)? * 100 + two_digits(b, 2)?, 4),
        _ => return None,
    };
    let (month, day) = (two_digits(b, at)?, two_digits(b, at + 2)?);
    let (hour, minute) = (two_digits(b, at + 4)?, two_digits(b, at + 6)?);
    let second = two_digits(b, at + 8)?;
    if b[at + 10] != b'Z' || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    instant(date, i64::from(hour * 3600 + minute * 60 + second), 0)
}

/// The common RFC 5322 spelling read in one pass, for speed:
/// `[Ddd, ]D[D] Mmm YYYY HH:MM[:SS] ZONE` with single spaces, no comments
/// and no leap second. `None` hands the text to [`rfc5322`], which accepts
/// or explains it; both must agree on everything this accepts.
#[inline]
fn rfc5322_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    let mut at = 0;
    let weekday = if b.get(3) == Some(&b',') && b.get(4) == Some(&b' ') {
        at = 5;
        Some(day_name(b.get(..3)?)?)
    } else {
        None
    };

    let day = match (b.get(at + 1)?, b.get(at + 2)?) {
        (b' ', _) => {
            let digit = b[at].wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            at += 2;
            u32::from(digit)
        }
        (_, b' ') => {
            at += 3;
            two_digits(b, at - 3)?
        }
        _ => return None,
    };
    let month = month_name(b.get(at..at + 3)?)?;
    if b.get(at + 3) != Some(&b' ') || b.get(at + 8) != Some(&b' ') {
        return None;
    }
    let year = two_digits(b, at + 4)? * 100 + two_digits(b, at + 6)?;
    at += 9;

    let (hour, minute) = (two_digits(b, at)?, two_digits(b, at + 3)?);
    if b.get(at + 2) != Some(&b':') {
        return None;
    }
    at += 5;
    let second = if b.get(at) == Some(&b':') {
        at += 3;
        two_digits(b, at - 2)?
    } else {
        0
    };
    if b.get(at) != Some(&b' ') || day > 31 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    at += 1;

    let offset = match &b[at..] {
        [sign @ (b'+' | b'-'), ..] if b.len() == at + 5 => {
            let (hours, minutes) = (two_digits(b, at + 1)?, two_digits(b, at + 3)?);
            if minutes > 59 {
                return None;
            }
            let east = i64::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -east } else { east }
        }
        zone => zone_hours(zone)? * 3600,
    };

    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    if weekday.is_some_and(|w| w != date.weekday()) {
        return None;
    }
    instant(date, i64::from(hour * 3600 + minute * 60 + second) - offset, 0)
}

/// The offset in hours of a zone name RFC 5322 knows (plus `UTC` and the
/// military `Z`), in any letter case.
#[inline]
fn zone_hours(word: &[u8]) -> Option<i64> {
    let mut upper = [0u8; 3];
    let folded = match word.len() {
        1..=3 => {
            upper[..word.len()].copy_from_slice(word);
            upper.make_ascii_uppercase();
            &upper[..word.len()]
        }
        _ => return None,
    };
    Some(match folded {
        b"UT" | b"GMT" | b"UTC" | b"Z" => 0,
        b"EDT" => -4,
        b"EST" | b"CDT" => -5,
        b"CST" | b"MDT" => -6,
        b"MST" | b"PDT" => -7,
        b"PST" => -8,
        _ => return None,
    })
}

fn days_in_month(year: i32, month: u32) -> u32 {
    (28..=31).rev().find(|&d| NaiveDate::from_ymd_opt(year, month, d).is_some()).unwrap_or(28)
}

const DAY_NAMES: [&str; 7] =
    ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Three ASCII letters folded to lower case and packed into one number.
/// Only letters fold onto letters, so no other bytes can match a name.
#[inline(always)]
fn key3(word: &[u8]) -> Option<u32> {
    match *word {
        [a, b, c] => Some(key([a, b, c])),
        _ => None,
    }
}

#[inline(always)]
const fn key(name: [u8; 3]) -> u32 {
    (name[0] as u32 | 0x20) << 16 | (name[1] as u32 | 0x20) << 8 | (name[2] as u32 | 0x20)
}

/// A three-letter day name in any letter case.
#[inline]
fn day_name(word: &[u8]) -> Option<Weekday> {
    const MON: u32 = key(*b"mon");
    const TUE: u32 = key(*b"tue");
    const WED: u32 = key(*b"wed");
    const THU: u32 = key(*b"thu");
    const FRI: u32 = key(*b"fri");
    const SAT: u32 = key(*b"sat");
    const SUN: u32 = key(*b"sun");
    Some(match key3(word)? {
        MON => Weekday::Mon,
        TUE => Weekday::Tue,
        WED => Weekday::Wed,
        THU => Weekday::Thu,
        FRI => Weekday::Fri,
        SAT => Weekday::Sat,
        SUN => Weekday::Sun,
        _ => return None,
    })
}

/// A three-letter month name in any letter case, as its number.
#[inline]
fn month_name(word: &[u8]) -> Option<u32> {
    const KEYS: [u32; 12] = [
        key(*b"jan"),
        key(*b"feb"),
        key(*b"mar"),
        key(*b"apr"),
        key(*b"may"),
        key(*b"jun"),
        key(*b"jul"),
        key(*b"aug"),
        key(*b"sep"),
        key(*b"oct"),
        key(*b"nov"),
        key(*b"dec"),
    ];
    let k = key3(word)?;
    KEYS.iter().position(|&m| m == k).map(|i| i as u32 + 1)
}

/// For a longer spelling of a name (`Sept`, `July`, `Sunday`), the
/// three-letter form the formats require.
fn long_name(word: &str, names: &[&'static str]) -> Option<&'static str> {
    if word.len() <= 3 {
        return None;
    }
    names
        .iter()
        .find(|name| name.len() >= word.len() && name[..word.len()].eq_ignore_ascii_case(word))
        .map(|name| &name[..3])
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{FixedOffset, TimeZone};
    use proptest::prelude::*;

    /// The clock for relative times in these tests.
    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 8, 30, 0).unwrap() + TimeDelta::milliseconds(250)
    }

    /// `input` parses to the instant printed as `expected`.
    #[track_caller]
    fn check(input: &str, expected: &str) {
        match parse(input, now()) {
            Ok(t) => assert_eq!(format(t), expected, "input {input:?}"),
            Err(e) => panic!("input {input:?}: unexpected error {e:?}"),
        }
        let slow = parse_any(input, now()).map(format);
        assert_eq!(slow.as_deref(), Ok(expected), "input {input:?} without fast paths");
    }

    /// `input` fails over bytes `start..end` with a message containing
    /// `needle`.
    #[track_caller]
    fn fails(input: &str, start: usize, end: usize, needle: &str) {
        assert_eq!(parse_any(input, now()).map_err(|e| *e), parse(input, now()));
        match parse(input, now()) {
            Ok(t) => panic!("input {input:?}: expected an error, got {}", format(t)),
            Err(e) => {
                assert_eq!(
                    (e.start, e.end),
                    (start, end),
                    "input {input:?}: span of {:?}",
                    e.message
                );
                assert!(e.message.contains(needle), "input {input:?}: message {:?}", e.message);
                assert!(!e.message.ends_with('.'), "input {input:?}: message {:?}", e.message);
                let first = e.message.chars().next().unwrap();
                assert!(!first.is_uppercase(), "input {input:?}: message {:?}", e.message);
            }
        }
    }

    #[test]
    fn rfc3339_forms() {
        check("2024-09-22T00:00:00Z", "2024-09-22T00:00:00Z");
        check("2024-09-22t00:00:00z", "2024-09-22T00:00:00Z");
        check("2024-09-22 00:00:00Z", "2024-09-22T00:00:00Z");
        check("2024-09-22T00:00:00+00:00", "2024-09-22T00:00:00Z");
        check("2024-09-22T00:00:00-00:00", "2024-09-22T00:00:00Z");
        check("2024-09-22T02:00:00+02:00", "2024-09-22T00:00:00Z");
        check("2024-09-21T19:00:00-05:00", "2024-09-22T00:00:00Z");
        check("2024-09-22T05:45:00+05:45", "2024-09-22T00:00:00Z");
        check("2024-09-21T00:00:00+23:59", "2024-09-20T00:01:00Z");
        check("2024-02-29T12:00:00Z", "2024-02-29T12:00:00Z");
        check("0000-01-01T00:00:00Z", "0000-01-01T00:00:00Z");
        check("9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999999Z");
        check("  2024-09-22T00:00:00Z\t", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn fractional_seconds() {
        check("2024-09-22T00:00:00.069Z", "2024-09-22T00:00:00.069Z");
        check("2024-09-22T00:00:00.5Z", "2024-09-22T00:00:00.5Z");
        check("2024-09-22T00:00:00.000Z", "2024-09-22T00:00:00Z");
        check("2024-09-22T00:00:00.120+00:00", "2024-09-22T00:00:00.12Z");
        check("2024-09-22T00:00:00.000000001Z", "2024-09-22T00:00:00.000000001Z");
        // Digits past the ninth are dropped, not rounded.
        check("2024-09-22T00:00:00.1234567891Z", "2024-09-22T00:00:00.123456789Z");
        check("2024-09-22T00:00:00.9999999999Z", "2024-09-22T00:00:00.999999999Z");
        assert_eq!(parse("2024-09-22T00:00:00.069Z", now()).unwrap().nanosecond(), 69_000_000);
        assert_eq!(parse("2024-09-22T00:00:00.5Z", now()).unwrap().nanosecond(), 500_000_000);
    }

    #[test]
    fn vendor_shape() {
        check("2024-09-22 00:00:00 UTC", "2024-09-22T00:00:00Z");
        check("2024-09-22 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("2024-09-22T00:00:00 UTC", "2024-09-22T00:00:00Z");
        check("2024-09-22 00:00:00.25 UTC", "2024-09-22T00:00:00.25Z");
    }

    #[test]
    fn rfc5322_forms() {
        check("Sun, 22 Sep 2024 00:00:00 +0000", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00 -0000", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 05:30:00 +0530", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00 +0000", "2024-09-22T00:00:00Z");
        check("2 Sep 2024 00:00:00 GMT", "2024-09-02T00:00:00Z");
        check("02 Sep 2024 00:00:00 GMT", "2024-09-02T00:00:00Z");
        check("sun, 22 SEP 2024 00:00:00 gmt", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00 UTC", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00 Z", "2024-09-22T00:00:00Z");
        check("Sun,22 Sep 2024 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00 +9959", "2024-09-17T20:01:00Z");
    }

    #[test]
    fn rfc5322_obsolete_zones() {
        check("Sun, 22 Sep 2024 00:00:00 UT", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 20:00:00 EDT", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 19:00:00 EST", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 19:00:00 CDT", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 18:00:00 CST", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 18:00:00 MDT", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 17:00:00 MST", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 17:00:00 PDT", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 16:00:00 PST", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 16:00:00 pst", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn rfc5322_obsolete_syntax() {
        check("Sun, 22 Sep 24 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("22 Sep 49 00:00:00 GMT", "2049-09-22T00:00:00Z");
        check("22 Sep 50 00:00:00 GMT", "1950-09-22T00:00:00Z");
        check("22 Sep 124 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check(
            "Sun, 22 Sep 2024 00:00:00 +0000 (Coordinated Universal Time)",
            "2024-09-22T00:00:00Z",
        );
        check("(sent) Sun (x), 22 Sep 2024 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("Sun, 22 (a (nested) \\) comment) Sep 2024 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024\r\n 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("Sun , 22 Sep 2024 00 : 00 : 00 GMT", "2024-09-22T00:00:00Z");
        check("Sun, 22Sep 2024 00:00:00 GMT", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00GMT", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn asn1_forms() {
        check("240922000000Z", "2024-09-22T00:00:00Z");
        check("2409220000Z", "2024-09-22T00:00:00Z");
        check("240922020000+0200", "2024-09-22T00:00:00Z");
        check("20240922000000Z", "2024-09-22T00:00:00Z");
        check("20240922020000+0200", "2024-09-22T00:00:00Z");
        check("20240921190000-0500", "2024-09-22T00:00:00Z");
        check("20240922000000.069Z", "2024-09-22T00:00:00.069Z");
        check("99991231235959Z", "9999-12-31T23:59:59Z");
    }

    #[test]
    fn openssl_forms() {
        check("Sep 22 00:00:00 2024 GMT", "2024-09-22T00:00:00Z");
        check("Sep  2 00:00:00 2024 GMT", "2024-09-02T00:00:00Z");
        check("Sep 2 00:00:00 2024 GMT", "2024-09-02T00:00:00Z");
        check("Sep 22 00:00:00.5 2024 GMT", "2024-09-22T00:00:00.5Z");
        check("Feb 29 12:00:00 2024 GMT", "2024-02-29T12:00:00Z");
    }

    #[test]
    fn relative_forms() {
        check("now", "2026-12-03T08:30:00.25Z");
        check("now-7d", "2026-11-26T08:30:00.25Z");
        check("now+30d", "2027-01-02T08:30:00.25Z");
        check("now+1s", "2026-12-03T08:30:01.25Z");
        check("now-90m", "2026-12-03T07:00:00.25Z");
        check("now+2h", "2026-12-03T10:30:00.25Z");
        check("now+1w", "2026-12-10T08:30:00.25Z");
        check("now+0d", "2026-12-03T08:30:00.25Z");
        check(" now-1d ", "2026-12-02T08:30:00.25Z");
    }

    #[test]
    fn relative_errors() {
        fails("now+99999999999w", 0, 16, "`now+99999999999w` is out of range");
        fails("now+99999999999999999999999d", 0, 28, "out of range");
        fails("now-9999999w", 0, 12, "out of range");
        fails("now+30M", 6, 7, "unknown unit `M`, expected `s`, `m`, `h`, `d` or `w`");
        fails("now+30days", 6, 10, "unknown unit `days`");
        fails("now+30", 6, 6, "expected a unit `s`, `m`, `h`, `d` or `w`, found end of input");
        fails("now+", 4, 4, "expected a whole number, found end of input");
        fails("now+-1d", 4, 5, "expected a whole number, found `-`");
        fails("now7d", 3, 4, "expected `+` or `-` after `now`, found `7`");
        fails("now+1d2h", 6, 8, "unexpected `2h` after the unit");
    }

    #[test]
    fn leap_seconds() {
        check("2016-12-31T23:59:60Z", "2017-01-01T00:00:00Z");
        check("2016-12-31T23:59:60.5Z", "2017-01-01T00:00:00.5Z");
        check("2017-01-01T00:59:60+01:00", "2017-01-01T00:00:00Z");
        check("Sat, 31 Dec 2016 23:59:60 GMT", "2017-01-01T00:00:00Z");
        check("161231235960Z", "2017-01-01T00:00:00Z");
        fails("2024-09-22T12:00:60Z", 17, 19, "second `60` is only valid for a leap second");
        fails("2016-12-31T23:59:60+01:00", 17, 19, "at 23:59:60 UTC");
        fails("2024-09-22T00:00:61Z", 17, 19, "second `61` out of range");
    }

    #[test]
    fn impossible_dates_are_rejected_at_the_offending_part() {
        fails(
            "2024-02-30T00:00:00Z",
            8,
            10,
            "day `30` out of range for February 2024, which has 29 days",
        );
        fails("2023-02-29T00:00:00Z", 8, 10, "February 2023, which has 28 days");
        fails("2024-09-31T00:00:00Z", 8, 10, "September 2024, which has 30 days");
        fails("2024-09-00T00:00:00Z", 8, 10, "day `00` out of range");
        fails("2024-13-01T00:00:00Z", 5, 7, "month `13` out of range, expected 01-12");
        fails("2024-00-01T00:00:00Z", 5, 7, "month `00` out of range");
        fails("2024-09-22T24:00:00Z", 11, 13, "hour `24` out of range, expected 00-23");
        fails("2024-09-22T00:60:00Z", 14, 16, "minute `60` out of range");
        fails("30 Feb 2024 00:00:00 GMT", 0, 2, "day `30` out of range for February 2024");
        fails("Sun, 22 Sep 2024 24:00:00 GMT", 17, 19, "hour `24`");
        fails("240230000000Z", 4, 6, "day `30` out of range");
        fails("20241301000000Z", 4, 6, "month `13`");
        fails("Feb 30 00:00:00 2024 GMT", 4, 6, "day `30`");
        fails("2024-09-22T00:00:00+24:00", 20, 22, "offset hour `24` out of range");
        fails("2024-09-22T00:00:00+02:60", 23, 25, "offset minutes `60` out of range");
        fails("Sun, 22 Sep 2024 00:00:00 +0160", 29, 31, "offset minutes `60`");
        fails("9999-12-31T23:59:59-01:00", 0, 25, "out of range, expected years 0000-9999 in UTC");
        fails("0000-01-01T00:00:00+01:00", 0, 25, "out of range");
        fails("22 Sep 12024 00:00:00 GMT", 7, 12, "expected a year of four digits, found `12024`");
    }

    #[test]
    fn missing_zone_is_an_error_at_its_place() {
        fails(
            "2024-09-22 00:00:00",
            19,
            19,
            "expected `Z` or an offset such as `+02:00`, found end of input",
        );
        fails("2024-09-22T00:00:00.5", 21, 21, "expected `Z` or an offset");
        fails("2409220000", 10, 10, "add `Z` for UTC");
        fails("Sun, 22 Sep 2024 00:00:00", 25, 25, "expected a time zone such as `+0000` or `GMT`");
        fails("Sep 22 00:00:00 2024", 20, 20, "expected ` GMT` after the year, found end of input");
    }

    #[test]
    fn malformed_input_names_what_was_found() {
        fails("", 0, 0, "expected a timestamp, found an empty value");
        fails("   ", 0, 3, "found an empty value");
        fails("yesterday", 0, 9, "expected a timestamp such as `2024-09-22T00:00:00Z`");
        fails("2024/09/22", 0, 10, "found `2024/09/22`");
        fails("24092200000Z", 0, 12, "found `24092200000Z`");
        fails("-2024-09-22T00:00:00Z", 0, 21, "expected a timestamp");
        fails("2024-09-22", 10, 10, "expected a time after the date, such as `T00:00:00Z`");
        fails(
            "2024-09-22X00:00:00Z",
            10,
            11,
            "expected `T` or a space between the date and the time, found `X`",
        );
        fails("2024-9-22T00:00:00Z", 5, 6, "expected a two-digit month, found `9`");
        fails("2024-09-22T1:30:00Z", 11, 12, "expected a two-digit hour, found `1`");
        fails("2024-09-22T00:00Z", 16, 17, "expected `:` and seconds, found `Z`");
        fails("2024-09-22T00:00:00+0200", 22, 23, "expected `:` in the offset, found `0`");
        fails("2024-09-22T00:00:00+02", 22, 22, "found end of input");
        fails("2024-09-22T00:00:00Zjunk", 20, 24, "unexpected `junk` after the time zone");
        fails("2024-09-22T00:00:00 Z", 19, 20, "unexpected space before the time zone");
        fails("2024-09-22 00:00:00 +02:00", 19, 20, "unexpected space before the time zone");
        fails("2024-09-22 00:00:00 CET", 20, 23, "unknown time zone `CET`");
        fails("2024-09-22T00:00:00é", 19, 21, "found `é`");
        fails("240922000000z", 12, 13, "expected `Z` or an offset such as `+0200`, found `z`");
        fails("20240922000000,5Z", 14, 15, "found `,`");
        fails("20240922000000.Z", 15, 16, "expected a digit after `.`");
        fails("Sun, 22 Sep 2024 00:00:00 A", 26, 27, "military time zone `A` is ambiguous");
        fails("Sun, 22 Sep 2024 00:00:00 CET", 26, 29, "unknown time zone `CET`");
        fails(
            "Sun, 22 Sep 2024 00:00:00 +0000 extra",
            32,
            37,
            "unexpected `extra` after the time zone",
        );
        fails("Sun, 22 Sep 2024 00:00:00 GMT (open", 30, 35, "unclosed comment, expected `)`");
        fails(
            "Sunday, 22 Sep 2024 00:00:00 GMT",
            0,
            6,
            "day name `Sunday` must be written as `Sun`",
        );
        fails("Sun 22 Sep 2024 00:00:00 GMT", 4, 5, "expected `,` after the day name, found `2`");
        fails("Sun, 22 Sep 2024 0:00:00 GMT", 17, 18, "expected a two-digit hour, found `0`");
        fails(
            "Sun, 22 Sep 00:00:00 GMT",
            12,
            20,
            "expected a year of four digits, found `00:00:00`",
        );
        fails("Sun, 22 Sep 2024", 16, 16, "expected a time after the year");
        fails("(unclosed Sun, 22 Sep 2024 00:00:00 GMT", 0, 39, "unclosed comment");
        fails("Sep 22 00:00:00 2024 UTC", 21, 24, "expected `GMT`, found `UTC`");
        fails("September 22 00:00:00 2024 GMT", 0, 9, "month `September` must be written as `Sep`");
        fails(
            "Sep 22 2024 00:00:00 GMT",
            7,
            11,
            "expected a time such as `00:00:00`, found `2024`",
        );
        fails("Sep 222 00:00:00 2024 GMT", 4, 7, "expected a day of the month, found `222`");
    }

    #[test]
    fn weekday_mismatch_is_rejected() {
        fails(
            "Mon, 22 Sep 2024 00:00:00 +0000",
            0,
            3,
            "weekday `Mon` does not match 2024-09-22 (a Sunday)",
        );
        fails(
            "Fri, 24 Sep 2024 00:00:00 GMT",
            0,
            3,
            "weekday `Fri` does not match 2024-09-24 (a Tuesday)",
        );
        check("Sun, 22 Sep 2024 00:00:00 +0000", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn optional_rfc2822_day_name_is_accepted() {
        check("22 Sep 2024 02:00:00 +0200", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 02:00:00 +0200", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn obsolete_zone_names_are_accepted_and_non_rfc_tokens_named() {
        check("Sat, 21 Sep 2024 17:00:00 PDT", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 19:00:00 EST", "2024-09-22T00:00:00Z");
        check("Sun, 22 Sep 2024 00:00:00 UT", "2024-09-22T00:00:00Z");
        fails("22 Sept 2024", 3, 7, "month `Sept` must be written as `Sep`");
        fails("22 Sept 2024 00:00:00 GMT", 3, 7, "month `Sept` must be written as `Sep`");
        fails("6 July 2017", 2, 6, "month `July` must be written as `Jul`");
        fails("1:30:00", 0, 7, "expected a day of the month, found `1:30:00`");
        fails("22 Spt 2024 00:00:00 GMT", 3, 6, "expected a month name such as `Sep`, found `Spt`");
    }

    #[test]
    fn tue_and_thu_are_not_rfc3339_separators() {
        check("Tue, 24 Sep 2024 00:00:00 GMT", "2024-09-24T00:00:00Z");
        check("Thu, 26 Sep 2024 00:00:00 GMT", "2024-09-26T00:00:00Z");
    }

    #[test]
    fn rfc2822_offsets_are_applied() {
        check("Sun, 22 Sep 2024 02:00:00 +0200", "2024-09-22T00:00:00Z");
        check("Sat, 21 Sep 2024 22:00:00 -0200", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn z_designator_is_required() {
        check("2024-09-22T00:00:00Z", "2024-09-22T00:00:00Z");
        check("2024-09-22T00:00:00z", "2024-09-22T00:00:00Z");
        check("2024-09-22T00:00:00+00:00", "2024-09-22T00:00:00Z");
        fails("2024-09-22T00:00:00", 19, 19, "expected `Z` or an offset such as `+02:00`");
    }

    #[test]
    fn asn1_zone_is_required() {
        fails(
            "240922000000",
            12,
            12,
            "expected `Z` or an offset such as `+0200` (add `Z` for UTC), found end of input",
        );
        fails("20240922000000", 14, 14, "add `Z` for UTC");
    }

    #[test]
    fn utctime_uses_the_x509_year_window() {
        check("491231235959Z", "2049-12-31T23:59:59Z");
        check("500101000000Z", "1950-01-01T00:00:00Z");
        check("680922000000Z", "1968-09-22T00:00:00Z");
        check("000101000000Z", "2000-01-01T00:00:00Z");
        check("991231235959Z", "1999-12-31T23:59:59Z");
    }

    #[test]
    fn generalized_time_is_accepted() {
        check("20500101000000Z", "2050-01-01T00:00:00Z");
        check("99991231235959Z", "9999-12-31T23:59:59Z");
    }

    #[test]
    fn asn1_layout_is_chosen_by_length() {
        check("20240922000000Z", "2024-09-22T00:00:00Z");
        check("240922000000Z", "2024-09-22T00:00:00Z");
    }

    #[test]
    fn fraction_needs_a_digit() {
        check("2024-09-22T00:00:00.069Z", "2024-09-22T00:00:00.069Z");
        fails("2024-09-22T00:00:00.Z", 20, 21, "expected a digit after `.`, found `Z`");
    }

    #[test]
    fn openssl_form_ignores_host_time_zone() {
        check("Sep 22 00:00:00 2024 GMT", "2024-09-22T00:00:00Z");
        assert_eq!(parse("Sep 22 00:00:00 2024 GMT", now()).unwrap().timestamp(), 1_726_963_200);
    }

    /// Inputs whose result must not depend on the host's time zone.
    const TZ_INPUTS: [&str; 6] = [
        "Sep 22 00:00:00 2024 GMT",
        "2024-09-22 00:00:00 UTC",
        "Sun, 22 Sep 2024 00:00:00 GMT",
        "240922000000Z",
        "20240922000000Z",
        "2024-09-22T00:00:00",
    ];

    /// The child half of `host_time_zone_is_never_used`: prints what it
    /// parsed, and the host offset the process sees, when asked to.
    #[test]
    fn host_time_zone_child() {
        if std::env::var_os("NXLOG_FILTER_TZ_CHILD").is_none() {
            return;
        }
        for input in TZ_INPUTS {
            let result = parse(input, now()).map(|t| t.timestamp());
            println!("result {input:?} {result:?}");
        }
        println!("host offset {}", chrono::Local::now().offset());
    }

    /// Runs the parser in child processes under several `TZ` values and
    /// requires the same results from each.
    #[test]
    fn host_time_zone_is_never_used() {
        let module = module_path!().split_once("::").map_or(module_path!(), |(_, rest)| rest);
        let child_test = format!("{module}::host_time_zone_child");
        let zones = ["UTC0", "EST5EDT,M3.2.0,M11.1.0", "GMT0BST,M3.5.0/1,M10.5.0", "<+14>-14"];
        let mut outputs = Vec::new();
        for zone in zones {
            let output = std::process::Command::new(std::env::current_exe().unwrap())
                .args([child_test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
                .env("TZ", zone)
                .env("NXLOG_FILTER_TZ_CHILD", "1")
                .output()
                .unwrap();
            assert!(output.status.success(), "child under TZ={zone} failed");
            let stdout = String::from_utf8(output.stdout).unwrap();
            // libtest may print the test's name on the same line.
            let after = |marker: &'static str| {
                move |line: &str| line.find(marker).map(|at| line[at..].to_owned())
            };
            let results: Vec<String> = stdout.lines().filter_map(after("result ")).collect();
            let host = stdout.lines().find_map(after("host offset "));
            assert_eq!(results.len(), TZ_INPUTS.len(), "child under TZ={zone} printed {stdout}");
            outputs.push((zone, results.join("\n"), host));
        }

        // The children really ran under different zones...
        let hosts: std::collections::HashSet<_> = outputs.iter().map(|o| o.2.clone()).collect();
        assert!(hosts.len() > 1, "TZ did not change the host offset: {outputs:?}");
        // ...and parsed the same.
        for (zone, results, _) in &outputs[1..] {
            assert_eq!(results, &outputs[0].1, "results differ under TZ={zone}");
        }
        assert!(outputs[0].1.contains("Ok(1726963200)"));
        assert!(outputs[0].1.contains("\"2024-09-22T00:00:00\" Err("));
    }

    #[test]
    fn format_spelling() {
        let t = Utc.with_ymd_and_hms(2024, 9, 22, 0, 0, 0).unwrap();
        assert_eq!(format(t), "2024-09-22T00:00:00Z");
        assert_eq!(format(t + TimeDelta::milliseconds(69)), "2024-09-22T00:00:00.069Z");
        assert_eq!(format(t + TimeDelta::nanoseconds(1)), "2024-09-22T00:00:00.000000001Z");
        let far = Utc.with_ymd_and_hms(12024, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(format(far), "+12024-01-01T00:00:00Z");
        let before = Utc.with_ymd_and_hms(-1, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(format(before), "-0001-01-01T00:00:00Z");
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_nano_opt(23, 59, 59, 1_500_000_000))
            .unwrap()
            .and_utc();
        assert_eq!(format(leap), "2016-12-31T23:59:60.5Z");
    }

    /// Instants in the years 0000-9999, with nanoseconds.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        (-62_167_219_200i64..=253_402_300_799, 0u32..1_000_000_000)
            .prop_map(|(secs, nanos)| DateTime::from_timestamp(secs, nanos).unwrap())
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(t in instant()) {
            prop_assert_eq!(parse(&format(t), now()), Ok(t));
        }

        #[test]
        fn other_spellings_of_an_instant_agree(
            t in instant(),
            offset_minutes in -1439i32..=1439,
        ) {
            // Offsets and forms written by chrono's own formatter.
            let t = t.with_nanosecond(0).unwrap();
            let zone = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let local = t.with_timezone(&zone);
            let spellings = [
                local.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
                local.format("%a, %d %b %Y %H:%M:%S %z").to_string(),
                t.format("%b %e %H:%M:%S %Y GMT").to_string(),
                t.format("%Y%m%d%H%M%SZ").to_string(),
                local.format("%Y%m%d%H%M%S%z").to_string(),
            ];
            for spelling in &spellings {
                match parse(spelling, now()) {
                    // An offset may push a valid instant outside 0000-9999.
                    Err(e) if e.message.contains("out of range, expected years") => {}
                    other => prop_assert_eq!(other, Ok(t), "{}", spelling),
                }
            }
            if (1950..2050).contains(&t.year()) {
                prop_assert_eq!(parse(&t.format("%y%m%d%H%M%SZ").to_string(), now()), Ok(t));
            }
        }

        #[test]
        fn fast_paths_agree_with_the_full_parsers(
            t in instant(),
            offset_minutes in -1439i32..=1439,
            form in 0usize..10,
            edit in 0usize..3,
            at in any::<prop::sample::Index>(),
            with in prop::sample::select(&b"0123456789 :+-.,TtZzSsGMUECPDAJunw("[..]),
        ) {
            // A valid spelling, then the same with one byte replaced,
            // removed or added.
            let zone = FixedOffset::east_opt(offset_minutes * 60).unwrap();
            let local = t.with_timezone(&zone);
            let text = match form {
                0 => local.format("%Y-%m-%dT%H:%M:%S%.f%:z").to_string(),
                1 => t.format("%Y-%m-%d %H:%M:%S%.fZ").to_string(),
                2 => local.format("%a, %d %b %Y %H:%M:%S %z").to_string(),
                3 => local.format("%a, %-d %b %Y %H:%M %z").to_string(),
                4 => t.format("%-d %b %Y %H:%M:%S UT").to_string(),
                5 => t.format("%-d %b %Y %H:%M GMT").to_string(),
                6 => t.format("%Y%m%d%H%M%SZ").to_string(),
                8 => t.format("%Y-%m-%d %H:%M:%S%.f UTC").to_string(),
                9 => t.format("%Y-%m-%dT%H:%M:%S GMT").to_string(),
                _ => t.format("%y%m%d%H%M%SZ").to_string(),
            };
            let mut bytes = text.clone().into_bytes();
            let i = at.index(bytes.len());
            match edit {
                0 => bytes[i] = with,
                1 => drop(bytes.remove(i)),
                _ => bytes.insert(i, with),
            }
            let changed = String::from_utf8(bytes).unwrap();
            for text in [text, changed] {
                let slow = parse_any(&text, now()).map_err(|e| *e);
                prop_assert_eq!(parse(&text, now()), slow, "{}", text);
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in any::<String>()) {
            let _ = parse(&text, now());
        }

        #[test]
        fn timestamp_like_text_never_panics(
            text in "[0-9A-Za-z:+., ()\\\\é-]{0,40}",
        ) {
            if let Err(e) = parse(&text, now()) {
                prop_assert!(e.start <= e.end && e.end <= text.len());
                prop_assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            }
        }
    }
}
