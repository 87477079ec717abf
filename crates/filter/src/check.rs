//! Options, and the stages after parsing: validate each comparison
//! against the field schema, then normalise into a [`Filter`].

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::ast::{Comparison, Expr, Op};
use crate::filter::{Cmp, Node, Val};
use crate::schema::{self, FieldType};
use crate::{Error, ErrorKind, Filter, Span, parser, timestamp};

/// The hard maximum of [`Options::max_depth`]: the deepest nesting that
/// parsing, printing, compiling and matching are known to survive on a
/// 2 MiB thread (the size of a tokio worker's stack) in a debug build.
/// Measured: the deepest inputs allowed need about 1.5 MiB there, the
/// parser's recursion through nested parentheses being the deepest part.
pub const MAX_DEPTH: usize = 256;

/// How to parse and check a filter, including the limits that bound the
/// work a filter can cause.
///
/// # Limits
///
/// - [`max_len`](Options::max_len): the longest input accepted, in bytes;
///   default 64 KiB (65 536). Checked before parsing, and again on the
///   canonical text once the filter is normalised (which can be longer:
///   `a<now` prints as `a lt "2026-01-01T00:00:00Z"`), so that every
///   accepted filter's canonical text parses again with the same options.
/// - [`max_depth`](Options::max_depth): how deeply parentheses and `not`
///   may nest, each `(` and each `not` one level; default and hard
///   maximum [`MAX_DEPTH`] (256). Checked while parsing, so a hostile
///   input such as 100 000 `(` stops with an error at the first `(`
///   beyond the limit instead of exhausting the stack. A pair of
///   parentheses around the whole filter is not counted, so the canonical
///   text of a parsed filter (which adds that pair) always parses again.
///
/// Parsing takes time linear in the input length.
///
/// ```
/// use nxlog_filter::Options;
///
/// let checked = Options::new().parse("(hostnme=PC1)").unwrap();
/// assert_eq!(checked.warnings[0].to_string(), "unknown field `hostnme` (did you mean `hostname`?)");
///
/// let err = Options::new().strict(true).parse("(hostnme=PC1)").unwrap_err();
/// assert_eq!(err.kind().code(), "unknown-field");
/// ```
#[derive(Clone, Debug)]
pub struct Options {
    strict: bool,
    now: Option<DateTime<Utc>>,
    max_len: usize,
    max_depth: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options { strict: false, now: None, max_len: 64 * 1024, max_depth: MAX_DEPTH }
    }
}

impl Options {
    /// The defaults: lenient, the system clock, 64 KiB, depth 256.
    pub fn new() -> Options {
        Options::default()
    }

    /// In strict mode an unknown field is an error instead of a warning.
    pub fn strict(mut self, yes: bool) -> Options {
        self.strict = yes;
        self
    }

    /// The instant relative times (`now`, `now-7d`) are resolved against;
    /// by default the system clock at the moment of parsing.
    pub fn now(mut self, now: DateTime<Utc>) -> Options {
        self.now = Some(now);
        self
    }

    /// The longest input accepted, in bytes; the canonical text of an
    /// accepted filter is no longer either.
    pub fn max_len(mut self, bytes: usize) -> Options {
        self.max_len = bytes;
        self
    }

    /// How deeply parentheses and `not` may nest; values above
    /// [`MAX_DEPTH`] are lowered to it, since deeper trees can exhaust a
    /// small thread stack.
    pub fn max_depth(mut self, depth: usize) -> Options {
        self.max_depth = depth.min(MAX_DEPTH);
        self
    }

    /// Parses, validates and normalises `input`.
    pub fn parse(&self, input: &str) -> Result<Checked, Error> {
        if input.len() > self.max_len {
            let kind = ErrorKind::TooLong { len: input.len(), max: self.max_len };
            return Err(Error::new(kind, Span::new(self.max_len, input.len()), input));
        }
        if let Some((at, found, in_quotes)) = parser::invalid_char(input) {
            let kind = ErrorKind::InvalidCharacter { found, in_quotes };
            return Err(Error::new(kind, Span::new(at, at + found.len_utf8()), input));
        }

        let mut stage = Check {
            input,
            strict: self.strict,
            now: self.now.unwrap_or_else(Utc::now),
            warnings: Vec::new(),
        };

        // The common shape is checked while it is read, with no syntax
        // tree in between; anything else is parsed in full, then checked.
        let mut direct = Direct { check: &mut stage, error: None };
        let node = match parser::simple_with(input, &mut direct) {
            Some(_) if direct.error.is_some() => return Err(direct.error.take().expect("checked")),
            Some(node) => node,
            None => {
                stage.warnings.clear();
                let expr = parser::parse_full(input, self.max_depth)?;
                stage.expr(&expr)?
            }
        };
        let filter = Filter { node };
        // The canonical text is at most ten times the input plus the outer
        // pair (a comparison's value grows at most tenfold, from `now` to a
        // 30-byte instant; operators, spaces and quotes add at most nine
        // bytes to a comparison of at least three), so short inputs need
        // no count. Debug builds count anyway and check the bound.
        let is_short = input.len().saturating_mul(10).saturating_add(2) <= self.max_len;
        if is_short && !cfg!(debug_assertions) {
            return Ok(Checked { filter, warnings: stage.warnings });
        }
        let len = filter.canonical_len();
        debug_assert!(len <= input.len() * 10 + 2, "canonical text of {input:?} is {len} bytes");
        if len > self.max_len {
            let kind =
                ErrorKind::CanonicalTooLong { len, input_len: input.len(), max: self.max_len };
            return Err(Error::new(kind, Span::new(0, input.len()), input));
        }
        Ok(Checked { filter, warnings: stage.warnings })
    }
}

/// A filter that parsed and passed the schema, with what looked wrong
/// but is allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    /// The normalised filter.
    pub filter: Filter,
    /// Things worth telling the user, such as an unknown field.
    pub warnings: Vec<Warning>,
}

/// Something allowed but probably not meant, such as an unknown field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// One lowercase line.
    pub message: String,
    /// Where, as byte offsets into the input.
    pub span: Span,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The validate and normalise stages over one parsed input.
struct Check<'a> {
    input: &'a str,
    strict: bool,
    now: DateTime<Utc>,
    warnings: Vec<Warning>,
}

impl Check<'_> {
    /// Normalises a tree, flattening `a and (b and c)` into one `and`.
    ///
    /// The parser bounds the depth, so this recursion is bounded too.
    fn expr(&mut self, expr: &Expr<'_>) -> Result<Node, Error> {
        Ok(match expr {
            Expr::Cmp(cmp) => Node::Cmp(self.comparison(cmp)?),
            Expr::Not(inner, _) => Node::Not(Box::new(self.expr(inner)?)),
            Expr::And(terms, _) | Expr::Or(terms, _) => {
                // One pass, so a long chain of terms stays linear.
                let is_and = matches!(expr, Expr::And(..));
                let mut nodes = Vec::with_capacity(terms.len());
                for term in terms {
                    match (self.expr(term)?, is_and) {
                        (Node::And(inner), true) | (Node::Or(inner), false) => nodes.extend(inner),
                        (node, _) => nodes.push(node),
                    }
                }
                if is_and { Node::And(nodes) } else { Node::Or(nodes) }
            }
        })
    }

    /// Validates one comparison against the schema and normalises its
    /// value.
    ///
    /// An unknown field is a warning (an error when strict). Its type is
    /// taken from the operator: ordering operators compare instants, so
    /// their value must be a timestamp; other operators compare text.
    fn comparison(&mut self, cmp: &Comparison<'_>) -> Result<Cmp, Error> {
        let known = schema::known(cmp.path);
        if known.is_none() {
            self.unknown_field(cmp)?;
        }
        let path =
            known.map_or_else(|| Cow::Owned(cmp.path.to_string()), |(p, _)| Cow::Borrowed(p));
        let known = known.map(|(_, t)| t);
        let field_type = known.unwrap_or(if cmp.op.is_ordering() {
            FieldType::Timestamp
        } else {
            FieldType::String
        });

        let is_allowed = match field_type {
            FieldType::Uuid | FieldType::String => !cmp.op.is_ordering(),
            FieldType::Timestamp => cmp.op != Op::Like,
        };
        if !is_allowed {
            let kind = ErrorKind::OperatorNotAllowed {
                operator: cmp.op.as_str(),
                path: cmp.path.to_string(),
                field_type: field_type.name(),
                allowed: field_type.allowed(),
            };
            return Err(self.error(kind, cmp.op_span));
        }

        let text = &cmp.value.text;
        let value = match (field_type, cmp.op) {
            (FieldType::Timestamp, _) => Val::Time(self.timestamp(cmp)?),
            (FieldType::Uuid, Op::Eq | Op::Ne) => {
                if !is_uuid(text) {
                    return Err(self.error(ErrorKind::InvalidUuid, cmp.value.span));
                }
                Val::Str(text.to_ascii_lowercase())
            }
            _ => Val::Str(text.to_string()),
        };
        Ok(Cmp { path, op: cmp.op, value })
    }

    fn unknown_field(&mut self, cmp: &Comparison<'_>) -> Result<(), Error> {
        let kind = ErrorKind::UnknownField {
            path: cmp.path.to_string(),
            suggestion: schema::suggest(cmp.path),
        };
        if self.strict {
            return Err(self.error(kind, cmp.path_span));
        }
        self.warnings.push(Warning { message: kind.to_string(), span: cmp.path_span });
        Ok(())
    }

    /// Parses a timestamp value; the parser's error offsets are mapped
    /// back through quotes and escapes into the filter input.
    fn timestamp(&self, cmp: &Comparison<'_>) -> Result<DateTime<Utc>, Error> {
        timestamp::parse(&cmp.value.text, self.now).map_err(|e| {
            let start = cmp.value.input_offset(self.input, e.start);
            let end = cmp.value.input_offset(self.input, e.end);
            self.error(ErrorKind::InvalidTimestamp { message: e.message }, Span::new(start, end))
        })
    }

    fn error(&self, kind: ErrorKind, span: Span) -> Error {
        Error::new(kind, span, self.input)
    }
}

/// Checks each comparison as the one-pass reader finds it, building the
/// normalised tree. Only the first error is kept, and returned once the
/// reader has taken the whole input; if it does not, the caller throws
/// everything away and parses in full, so that a syntax error later in
/// the input still comes first, as it does there.
struct Direct<'c, 'a> {
    check: &'c mut Check<'a>,
    error: Option<Error>,
}

impl<'i> parser::Build<'i> for Direct<'_, '_> {
    type Node = Node;

    fn comparison(&mut self, cmp: Comparison<'i>) -> Node {
        if self.error.is_none() {
            match self.check.comparison(&cmp) {
                Ok(cmp) => return Node::Cmp(cmp),
                Err(error) => self.error = Some(error),
            }
        }
        // A placeholder; the tree is dropped with the error.
        Node::And(Vec::new())
    }

    /// The reader's lists never hold a list of their own kind, so there
    /// is nothing to flatten.
    fn list(&mut self, is_and: bool, terms: Vec<Node>, _span: Span) -> Node {
        if is_and { Node::And(terms) } else { Node::Or(terms) }
    }

    fn group(&mut self, _node: &mut Node, _span: Span) {}
}

/// Whether `text` is a UUID in the 8-4-4-4-12 hex form, any letter case.
pub(crate) fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn options() -> Options {
        Options::new().now(Utc.with_ymd_and_hms(2026, 1, 1, 12, 0, 0).unwrap())
    }

    /// Normalises to `expected` with the warnings' messages `warnings`.
    fn check(input: &str, expected: &str, warnings: &[&str]) {
        let checked = options().parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(checked.filter.to_string(), expected, "{input:?}");
        let got: Vec<String> = checked.warnings.iter().map(|w| w.to_string()).collect();
        assert_eq!(got, warnings, "{input:?}");
    }

    fn check_err(input: &str, code: &str, span: (usize, usize), message: &str) {
        let err = options().parse(input).expect_err(input);
        let got = (err.kind().code(), (err.span().start, err.span().end));
        assert_eq!(got, (code, span), "{input:?}: {err}");
        assert!(err.to_string().contains(message), "{input:?}: {err}");
    }

    #[test]
    fn normalises_to() {
        check("(hostname=PC1)", r#"(hostname = "PC1")"#, &[]);
        check("hostname eq 'PC1'", r#"(hostname = "PC1")"#, &[]);
        check(
            r#"(certificate/not-after lt "2024-09-22 00:00:00 UTC")"#,
            r#"(certificate/not-after lt "2024-09-22T00:00:00Z")"#,
            &[],
        );
        check(
            r#"(certificate/not-after >= "2024-09-22T02:00:00.500+02:00")"#,
            r#"(certificate/not-after ge "2024-09-22T00:00:00.5Z")"#,
            &[],
        );
        check(
            "(certificate/not-before<now)",
            r#"(certificate/not-before lt "2026-01-01T12:00:00Z")"#,
            &[],
        );
        check(
            "(certificate/not-after le now+30d)",
            r#"(certificate/not-after le "2026-01-31T12:00:00Z")"#,
            &[],
        );
        check(
            "(certificate/not-after ne now-1w)",
            r#"(certificate/not-after != "2025-12-25T12:00:00Z")"#,
            &[],
        );
        check(
            r#"(name LIKE "New agents")"#,
            r#"(name LIKE "New agents")"#,
            &["unknown field `name`"],
        );
        check("(hostname like 'PC%')", r#"(hostname LIKE "PC%")"#, &[]);
        check(
            "(id=1589A98A-66B3-11EE-80D5-4F584C6F672D)",
            r#"(id = "1589a98a-66b3-11ee-80d5-4f584c6f672d")"#,
            &[],
        );
        check("(id like '1589%')", r#"(id LIKE "1589%")"#, &[]);
        check(
            "(hostnme=PC1)",
            r#"(hostnme = "PC1")"#,
            &["unknown field `hostnme` (did you mean `hostname`?)"],
        );
        check("(os gt now)", r#"(os gt "2026-01-01T12:00:00Z")"#, &["unknown field `os`"]);
        check(
            "(a=1) and ((b=2) and (c=3))",
            r#"(a = "1" and b = "2" and c = "3")"#,
            &["unknown field `a`", "unknown field `b`", "unknown field `c`"],
        );
        check(
            "((a=1) or (b=2)) or (c=3)",
            r#"(a = "1" or b = "2" or c = "3")"#,
            &["unknown field `a`", "unknown field `b`", "unknown field `c`"],
        );
        check(
            "(hostname=PC1) and ((os=linux) or (os=bsd))",
            r#"(hostname = "PC1" and (os = "linux" or os = "bsd"))"#,
            &["unknown field `os`", "unknown field `os`"],
        );
        check("NOT (hostname=a OR hostname=b)", r#"(not (hostname = "a" or hostname = "b"))"#, &[]);
        check(r#"(hostname="")"#, r#"(hostname = "")"#, &[]);
    }

    #[test]
    fn fails_at_span_with() {
        check_err(
            "(hostname lt PC1)",
            "operator-not-allowed",
            (10, 12),
            "expected `=`, `!=` or `LIKE` for string field `hostname`, found `lt`",
        );
        check_err("(hostname >= PC1)", "operator-not-allowed", (10, 12), "found `ge`");
        check_err("(id < x)", "operator-not-allowed", (4, 5), "uuid field `id`");
        check_err(
            "(certificate/not-after like '2024%')",
            "operator-not-allowed",
            (23, 27),
            "timestamp field",
        );
        check_err(
            "(certificate/not-after lt yesterday)",
            "invalid-timestamp",
            (26, 35),
            "invalid timestamp",
        );
        check_err(
            r#"(certificate/not-after lt "")"#,
            "invalid-timestamp",
            (27, 27),
            "invalid timestamp",
        );
        check_err("(os lt linux)", "invalid-timestamp", (7, 12), "invalid timestamp");
        check_err("(id=42)", "invalid-uuid", (4, 6), "invalid uuid");
        check_err("(id='')", "invalid-uuid", (4, 6), "invalid uuid");
    }

    /// The checked tree the slow route gives: the grammar functions, then
    /// the checks over the syntax tree.
    fn by_full_parse(input: &str) -> Result<Checked, Error> {
        let options = options();
        let mut stage = Check {
            input,
            strict: options.strict,
            now: options.now.expect("fixed clock"),
            warnings: Vec::new(),
        };
        let expr = parser::parse_full(input, options.max_depth)?;
        let node = stage.expr(&expr)?;
        Ok(Checked { filter: Filter { node }, warnings: stage.warnings })
    }

    fn same_as_full_parse(input: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let show = |r: Result<Checked, Error>| r.map_err(|e| (e.to_string(), e.span()));
        proptest::prop_assert_eq!(
            show(options().parse(input)),
            show(by_full_parse(input)),
            "{:?}",
            input
        );
        Ok(())
    }

    #[test]
    fn one_pass_route_checks_as_the_full_parse() {
        for input in [
            "(hostname=PC1)",
            "(hostnme=PC1 or hostname=PC2)",
            "(certificate/not-after lt yesterday or (a=1",
            "(certificate/not-after lt yesterday or a=1)",
            "(id=42 and hostname lt x)",
            "(os lt linux) and x=",
            "(certificate/not-after lt '2024-09-22 00:00:00 UTC' and id like '1589%')",
        ] {
            same_as_full_parse(input).unwrap();
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(1000))]

        /// Checking while reading gives the result of checking after a
        /// full parse: the same filter and warnings, or the same error.
        #[test]
        fn one_pass_route_agrees_with_the_full_parse(
            input in r#"[ (]{0,1}(hostname|hostnme|id|os|certificate/not-after|certificate/notAfter) ?(=|!=|lt|LIKE|ge| ) ?('2024-09-22 00:00:00 UTC'|now-7d|PC%|1589A98A-66B3-11EE-80D5-4F584C6F672D|x\(|"a b")( (and|or|OR) (hostname|os|certificate/not-before) ?(=|lt|<) ?(PC1|now|'x y'|)){0,3}[ )]{0,2}"#
        ) {
            same_as_full_parse(&input)?;
        }
    }

    #[test]
    fn strict_mode_rejects_unknown_fields() {
        let err = options()
            .strict(true)
            .parse("(hostname=a) and (certificate/notAfter lt now)")
            .unwrap_err();
        assert_eq!(err.span(), Span::new(18, 38));
        assert_eq!(
            err.to_string(),
            "unknown field `certificate/notAfter` (did you mean `certificate/not-after`?)"
        );
        assert!(options().strict(true).parse("(hostname=a)").is_ok());
    }

    #[test]
    fn limits() {
        let err = options().max_len(4).parse("(a=1)").unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("input-too-long", Span::new(4, 5)));
        // The canonical text `(a = "1")` is 9 bytes.
        assert!(options().max_len(9).parse("(a=1)").is_ok());
        let err = options().max_len(8).parse("(a=1)").unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("canonical-too-long", Span::new(0, 5)));
        assert_eq!(
            err.to_string(),
            "filter too long once normalised: expected at most 8 bytes of canonical text, found 9 (from 5 bytes of input)"
        );
        // The pair around the whole filter does not count.
        assert!(options().max_depth(1).parse("((a=1))").is_ok());
        let err = options().max_depth(1).parse("(((a=1)))").unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(2, 3)));
        assert!(options().max_depth(1).parse("(not a=1)").is_ok());
        let err = options().max_depth(1).parse("(not not a=1)").unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(5, 8)));
        // `max_depth` can lower the hard maximum, never raise it.
        let nots = |n: usize| format!("{}a=1", "not ".repeat(n));
        let deep = options().max_depth(usize::MAX).max_len(1 << 20);
        assert!(deep.parse(&nots(MAX_DEPTH)).is_ok());
        let err = deep.parse(&nots(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nesting too deep: expected at most 256 levels of parentheses and `not` (a pair around the whole filter not counted), found 257"
        );
    }
}
