//! The one error type of the crate, its kinds, and the caret renderer.

use std::fmt;

/// A byte range into the input as it was given (`start..end`).
///
/// An empty span (`start == end`) points between two characters, for
/// example at the end of the input where something was expected.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    /// Offset of the first byte.
    pub start: usize,
    /// Offset one past the last byte.
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }

    /// The empty span at `at`.
    pub const fn empty(at: usize) -> Span {
        Span { start: at, end: at }
    }
}

/// What went wrong. Each variant shows an input that triggers it.
///
/// New kinds may be added in minor releases; match with a wildcard arm.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is empty or only whitespace: ``, `   `, `()`.
    EmptyFilter,
    /// Something other than what the grammar allows at this point:
    /// `(hostname=PC1 os=linux)`, `(hostname ~ PC1)`.
    UnexpectedToken {
        /// What the grammar allows here, tokens in backticks.
        expected: String,
        /// What the input holds here, in backticks.
        found: String,
    },
    /// The input stops before the filter is complete: `(hostname=PC1`.
    UnexpectedEnd {
        /// What the grammar needs here, tokens in backticks.
        expected: String,
    },
    /// A quoted value has no closing quote: `(hostname="PC1)`.
    UnterminatedString {
        /// The quote character that opened the value.
        quote: char,
    },
    /// A backslash in a quoted value is followed by something other than
    /// the quote or a backslash: `(path="C:\temp")`.
    InvalidEscape {
        /// The character after the backslash (`None` at end of input).
        found: Option<char>,
        /// The quote character of the value.
        quote: char,
    },
    /// An operator has no value after it: `(mail=)`.
    MissingValue {
        /// The operator as written.
        operator: String,
    },
    /// A bare value runs into a parenthesis: `(cn=Doe(x))`.
    UnquotedParen {
        /// The comparison with its value quoted, as the user should write
        /// it: `cn="Doe(x)"`.
        suggestion: String,
    },
    /// Symbolic logic, which the language spells with words: `(a=1) && (b=2)`,
    /// `!(a=1)`, `(&(a=1)(b=2))`.
    SymbolicLogic {
        /// The symbol as written.
        found: String,
        /// The word to use instead.
        use_instead: &'static str,
    },
    /// A field path that is not `segment/segment...` with segments of
    /// letters, digits, `_` and `-` starting with a letter: `(a//b=1)`.
    InvalidPath,
    /// A path segment that is a keyword (`and`, `or`, `not`, any letter
    /// case), which the canonical text could not print unambiguously:
    /// `(not<now)`, `(a/OR=1)`.
    KeywordPath {
        /// The segment as written.
        keyword: String,
    },
    /// A character no filter should hold: a control character (C0, DEL
    /// or C1) other than tab, line feed and carriage return between
    /// tokens, any control character inside a quoted value, a byte order
    /// mark, or whitespace other than ASCII outside a quoted value:
    /// `(hostname=a\u{1b}b)`, `(hostname=\u{a0}PC1)`.
    InvalidCharacter {
        /// The character.
        found: char,
        /// Whether it is inside a quoted value.
        in_quotes: bool,
    },
    /// The canonical text of the filter would be longer than
    /// `Options::max_len`, so it could not be parsed back with the same
    /// options: `(a<now)` repeated until the input nears the limit.
    CanonicalTooLong {
        /// Length of the canonical text in bytes.
        len: usize,
        /// Length of the input in bytes.
        input_len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// The input is longer than `Options::max_len`.
    TooLong {
        /// Length of the input in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
    /// Parentheses and `not` nest deeper than `Options::max_depth` (at
    /// most [`MAX_DEPTH`](crate::MAX_DEPTH)): `(` repeated 300 times, then
    /// `a=1`, then `)` 300 times.
    TooDeep {
        /// The limit in force.
        max: usize,
    },
    /// A field the schema does not know, in strict mode: `(hostnme=PC1)`.
    UnknownField {
        /// The path as written.
        path: String,
        /// The closest known path, if one is close.
        suggestion: Option<&'static str>,
    },
    /// An operator that the field's type does not support:
    /// `(hostname lt "PC1")`, `(certificate/not-after LIKE "2024%")`.
    OperatorNotAllowed {
        /// The canonical spelling of the operator.
        operator: &'static str,
        /// The path of the field.
        path: String,
        /// The type of the field, such as `string`.
        field_type: &'static str,
        /// The operators the field supports, tokens in backticks.
        allowed: &'static str,
    },
    /// A value for a timestamp field that is not a timestamp:
    /// `(certificate/not-after lt "yesterday")`.
    InvalidTimestamp {
        /// What the timestamp parser said.
        message: String,
    },
    /// A value for a UUID field that is not a UUID: `(id=42)`.
    InvalidUuid,
    /// A `%` in form-encoded input that is not followed by two hex digits,
    /// or bytes that do not decode to UTF-8: `(hostname=PC%G1)`.
    InvalidFormEncoding {
        /// What is wrong.
        message: String,
    },
}

impl ErrorKind {
    /// A stable identifier of the kind, such as `"unexpected-token"`.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::EmptyFilter => "empty-filter",
            ErrorKind::UnexpectedToken { .. } => "unexpected-token",
            ErrorKind::UnexpectedEnd { .. } => "unexpected-end",
            ErrorKind::UnterminatedString { .. } => "unterminated-string",
            ErrorKind::InvalidEscape { .. } => "invalid-escape",
            ErrorKind::MissingValue { .. } => "missing-value",
            ErrorKind::UnquotedParen { .. } => "unquoted-paren",
            ErrorKind::SymbolicLogic { .. } => "symbolic-logic",
            ErrorKind::InvalidPath => "invalid-path",
            ErrorKind::KeywordPath { .. } => "keyword-path",
            ErrorKind::InvalidCharacter { .. } => "invalid-character",
            ErrorKind::CanonicalTooLong { .. } => "canonical-too-long",
            ErrorKind::TooLong { .. } => "input-too-long",
            ErrorKind::TooDeep { .. } => "nesting-too-deep",
            ErrorKind::UnknownField { .. } => "unknown-field",
            ErrorKind::OperatorNotAllowed { .. } => "operator-not-allowed",
            ErrorKind::InvalidTimestamp { .. } => "invalid-timestamp",
            ErrorKind::InvalidUuid => "invalid-uuid",
            ErrorKind::InvalidFormEncoding { .. } => "invalid-form-encoding",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::EmptyFilter => {
                f.write_str("filter must not be empty: expected a comparison such as `(hostname=PC1)`, found nothing")
            }
            ErrorKind::UnexpectedToken { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
            ErrorKind::UnexpectedEnd { expected } => {
                write!(f, "expected {expected}, found end of input")
            }
            ErrorKind::UnterminatedString { quote } => {
                write!(f, "unterminated value: expected closing `{quote}`, found end of input")
            }
            ErrorKind::InvalidEscape { found, quote } => {
                let found = match found {
                    Some(c) => format!("`\\{c}`"),
                    None => "end of input".to_string(),
                };
                write!(f, "invalid escape: expected `\\{quote}` or `\\\\`, found {found}")
            }
            ErrorKind::MissingValue { operator } => write!(
                f,
                "missing value after `{operator}`: expected a value, found none (write `\"\"` for an empty string)"
            ),
            ErrorKind::UnquotedParen { suggestion } => write!(
                f,
                "parentheses in a value must be quoted: expected a quoted value such as `{suggestion}`, found `(`"
            ),
            ErrorKind::SymbolicLogic { found, use_instead } => write!(
                f,
                "symbolic logic is not supported: expected {use_instead}, found `{found}`"
            ),
            ErrorKind::InvalidPath => f.write_str(
                "invalid field path: expected segments of letters, digits, `_` and `-` starting with a letter, joined by `/`",
            ),
            ErrorKind::KeywordPath { keyword } => write!(
                f,
                "invalid field path: `and`, `or` and `not` are keywords: expected a field name, found `{keyword}`"
            ),
            ErrorKind::InvalidCharacter { found, in_quotes } => {
                let expected = match (char_class(*found), in_quotes) {
                    (CharClass::Whitespace, _) => "a plain space",
                    (CharClass::ByteOrderMark, _) => "text without a byte order mark",
                    (_, true) => "a printable character in a quoted value",
                    (_, false) => "a printable character",
                };
                write!(f, "invalid character: expected {expected}, found {}", char_name(*found))
            }
            ErrorKind::CanonicalTooLong { len, input_len, max } => write!(
                f,
                "filter too long once normalised: expected at most {max} bytes of canonical text, found {len} (from {input_len} bytes of input)"
            ),
            ErrorKind::TooLong { len, max } => {
                write!(f, "input too long: expected at most {max} bytes, found {len}")
            }
            ErrorKind::TooDeep { max } => write!(
                f,
                "nesting too deep: expected at most {max} levels of parentheses and `not` (a pair around the whole filter not counted), found {}",
                max + 1
            ),
            ErrorKind::UnknownField { path, suggestion } => {
                write!(f, "unknown field `{path}`")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean `{s}`?)")?;
                }
                Ok(())
            }
            ErrorKind::OperatorNotAllowed { operator, path, field_type, allowed } => write!(
                f,
                "expected {allowed} for {field_type} field `{path}`, found `{operator}`"
            ),
            ErrorKind::InvalidTimestamp { message } => write!(f, "invalid timestamp: {message}"),
            ErrorKind::InvalidUuid => f.write_str(
                "invalid uuid: expected 32 hex digits as 8-4-4-4-12, such as `1589a98a-66b3-11ee-80d5-4f584c6f672d`",
            ),
            ErrorKind::InvalidFormEncoding { message } => {
                write!(f, "invalid form encoding: {message}")
            }
        }
    }
}

/// What kind of character an [`ErrorKind::InvalidCharacter`] holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum CharClass {
    /// A printable character, allowed everywhere a value may be.
    Printable,
    /// C0 (including tab, line feed and carriage return), DEL or C1.
    Control,
    /// Whitespace other than ASCII, such as U+00A0.
    Whitespace,
    /// U+FEFF.
    ByteOrderMark,
}

pub(crate) fn char_class(c: char) -> CharClass {
    if c.is_control() {
        CharClass::Control
    } else if c == '\u{feff}' {
        CharClass::ByteOrderMark
    } else if c.is_whitespace() && !c.is_ascii() {
        CharClass::Whitespace
    } else {
        CharClass::Printable
    }
}

/// The character for a message: its name where it has a common one, and
/// always its code point, since it may be invisible: `non-breaking space
/// U+00A0`, `control character U+001B`.
fn char_name(c: char) -> String {
    let name = match (c, char_class(c)) {
        ('\u{a0}', _) => "non-breaking space",
        ('\u{202f}', _) => "narrow non-breaking space",
        ('\u{2028}', _) => "line separator",
        ('\u{2029}', _) => "paragraph separator",
        ('\u{3000}', _) => "ideographic space",
        (_, CharClass::Whitespace) => "whitespace",
        (_, CharClass::ByteOrderMark) => "byte order mark",
        (_, CharClass::Control) => "control character",
        (_, CharClass::Printable) => "character",
    };
    format!("{name} U+{:04X}", u32::from(c))
}

/// A filter that could not be parsed or checked: what, where, and the
/// input it refers to.
///
/// `Display` is one lowercase line; [`render`] draws a caret diagram.
///
/// ```
/// let err = nxlog_filter::parse("(mail=)").unwrap_err();
/// assert_eq!(err.kind().code(), "missing-value");
/// assert_eq!(err.span().start, 6);
/// assert_eq!(err.line_column(), (1, 7));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    span: Span,
    input: String,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, span: Span, input: &str) -> Error {
        // Clamp the span to the input on char boundaries, so rendering can
        // never slice in the middle of a character.
        let clamp = |mut at: usize| {
            at = at.min(input.len());
            while !input.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let start = clamp(span.start);
        let end = clamp(span.end).max(start);
        Error { kind, span: Span { start, end }, input: input.to_string() }
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Where, as byte offsets into [`Error::input`].
    pub fn span(&self) -> Span {
        self.span
    }

    /// The text the span refers to (for `parse_form_encoded`, the decoded
    /// text unless the encoding itself was bad).
    pub fn input(&self) -> &str {
        &self.input
    }

    /// 1-based line and column of the span's start; columns count
    /// characters, not bytes.
    pub fn line_column(&self) -> (usize, usize) {
        let before = &self.input[..self.span.start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.kind.fmt(f)
    }
}

impl std::error::Error for Error {}

/// A caret diagram of an error, for people reading a terminal:
///
/// ```text
/// error[missing-value]: missing value after `=`: ...
///  --> 1:7
///   |
/// 1 | (mail=)
///   |       ^
/// ```
///
/// `^` marks every character of the span on its first line; an empty
/// span gets one `^`. Carets are placed by display width, so they stay
/// under the right character after wide (CJK, emoji) text. A line longer
/// than 120 characters is cut to a window of 40 characters on each side
/// of the marked text (itself cut to 40 characters), with `…` where text
/// was left out.
#[derive(Debug, Clone, Copy)]
pub struct Render<'a>(pub &'a Error);

impl fmt::Display for Render<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let err = self.0;
        let (line_no, column) = err.line_column();
        let input = err.input();
        let line_start = input[..err.span.start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = input[line_start..].find('\n').map_or(input.len(), |i| line_start + i);
        let line = input[line_start..line_end].trim_end_matches('\r');

        // Mark the span on this line only; a span that crosses a line
        // break is marked up to the end of its first line.
        let line_end = line_start + line.len();
        let start = err.span.start.min(line_end);
        let marked_end = err.span.end.min(line_end).max(start);
        let is_long = line.chars().nth(WHOLE_LINE).is_some();
        let window = if is_long { (CONTEXT, MAX_MARKED) } else { (WHOLE_LINE, WHOLE_LINE) };
        let (before, cut_left) = last_chars(&input[line_start..start], window.0);
        let (marked, cut_marked) = first_chars(&input[start..marked_end], window.1);
        let (after, cut_right) = if cut_marked {
            ("", true)
        } else {
            first_chars(&input[marked_end..line_end], window.0)
        };
        let left = if cut_left { "…" } else { "" };
        let right = if cut_right { "…" } else { "" };
        let shown = format!("{left}{before}{marked}{after}{right}");
        let pad = width(left) + width(before);
        let carets = width(marked).max(1);

        let gutter = line_no.to_string().len();
        let blank = " ".repeat(gutter);
        writeln!(f, "error[{}]: {}", err.kind.code(), err)?;
        writeln!(f, "{blank}--> {line_no}:{column}")?;
        writeln!(f, "{blank} |")?;
        writeln!(f, "{}", format!("{line_no} | {}", printable(&shown)).trim_end())?;
        write!(f, "{blank} | {}{}", " ".repeat(pad), "^".repeat(carets))
    }
}

/// Lines of at most this many characters are shown whole.
const WHOLE_LINE: usize = 120;
/// Characters of a longer line shown on each side of the marked text.
const CONTEXT: usize = 40;
/// Marked characters shown at most; the rest of the span is cut.
const MAX_MARKED: usize = 40;

/// The last `n` characters of `text`, and whether any were cut.
fn last_chars(text: &str, n: usize) -> (&str, bool) {
    match text.char_indices().rev().nth(n.saturating_sub(1)) {
        Some((at, _)) if n > 0 => (&text[at..], at > 0),
        _ => (text, false),
    }
}

/// The first `n` characters of `text`, and whether any were cut.
fn first_chars(text: &str, n: usize) -> (&str, bool) {
    match text.char_indices().nth(n) {
        Some((at, _)) => (&text[..at], true),
        None => (text, false),
    }
}

/// Tabs and other control characters would shift the caret; show them
/// as one space each.
fn printable(line: &str) -> String {
    line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// Terminal columns `text` takes, as [`printable`] shows it.
fn width(text: &str) -> usize {
    use unicode_width::UnicodeWidthChar;
    text.chars().map(|c| if c.is_control() { 1 } else { c.width().unwrap_or(0) }).sum()
}

/// Renders an error as a caret diagram; see [`Render`].
///
/// ```
/// let err = nxlog_filter::parse("(cn=Doe(x))").unwrap_err();
/// let text = nxlog_filter::render(&err);
/// assert!(text.ends_with("1 | (cn=Doe(x))\n  |        ^"));
/// ```
pub fn render(err: &Error) -> String {
    Render(err).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, span: (usize, usize), line_col: (usize, usize), caret: &str) {
        let err = Error::new(ErrorKind::InvalidPath, Span::new(span.0, span.1), input);
        assert_eq!(err.line_column(), line_col, "{input:?}");
        let rendered = render(&err);
        let last = rendered.lines().last().unwrap();
        assert_eq!(last.split_once(" | ").unwrap().1, caret, "{input:?}");
    }

    #[test]
    fn caret_positions() {
        check("(a=b)", (1, 2), (1, 2), " ^");
        check("(a=b)", (5, 5), (1, 6), "     ^");
        check("(a=b)", (3, 4), (1, 4), "   ^");
        check("(né=ü)", (5, 7), (1, 5), "    ^");
        check("(né=üü)", (5, 9), (1, 5), "    ^^");
        check("(a=b)\nand (c", (12, 12), (2, 7), "      ^");
        check("(a=\"x\ny\")", (3, 9), (1, 4), "   ^^");
        check("", (0, 0), (1, 1), "^");
        check("日本語", (4, 4), (1, 2), "  ^"); // clamped to a char boundary
    }

    /// Carets are placed by display width; columns still count characters.
    #[test]
    fn caret_under_wide_characters() {
        check("(hostname=日本語(x))", (19, 20), (1, 14), "                ^");
        check("(hostname=\"😀😀\" xx)", (21, 23), (1, 16), "                 ^^");
        check("(a=\"日本語", (3, 13), (1, 4), "   ^^^^^^^");
        check("(a=e\u{301}x)", (6, 7), (1, 6), "    ^"); // a combining accent takes no column
    }

    /// A long line is cut to a window around the span, with `…` markers.
    #[test]
    fn long_line_windowed() {
        let long = format!("({})", "a=1 and ".repeat(2000));
        let at = long.len() / 2;
        let err = Error::new(ErrorKind::InvalidPath, Span::new(at, at + 1), &long);
        let rendered = render(&err);
        let lines: Vec<&str> = rendered.lines().collect();
        let shown = lines[3].split_once(" | ").unwrap().1;
        let caret = lines[4].split_once(" | ").unwrap().1;
        assert!(shown.starts_with('…') && shown.ends_with('…'), "{shown}");
        assert_eq!(shown.chars().count(), 1 + 40 + 1 + 40 + 1, "{shown}");
        assert_eq!(caret, format!("{}^", " ".repeat(41)));
        assert_eq!(&long[at..at + 1], &shown[41 + 2..42 + 2]); // `…` is 3 bytes
        assert!(rendered.len() < 300, "{rendered}");

        // A long span is marked for 40 characters, then cut.
        let err = Error::new(ErrorKind::InvalidPath, Span::new(0, long.len()), &long);
        let rendered = render(&err);
        let caret = rendered.lines().last().unwrap().split_once(" | ").unwrap().1;
        assert_eq!(caret, "^".repeat(40));
        assert!(rendered.lines().nth(3).unwrap().ends_with("and…"), "{rendered}");
    }
}
