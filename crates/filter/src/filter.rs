//! The canonical filter: what a checked, normalised filter means, printed
//! in one spelling, and built in code.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::ast::Op;
use crate::schema::{self, FieldType};
use crate::{Error, timestamp};

/// A checked, normalised filter.
///
/// Two filters that mean the same thing in the same shape are equal, and
/// `Display` prints the canonical text, which parses back to an equal
/// filter:
///
/// ```
/// use nxlog_filter::Filter;
///
/// let filter: Filter = "(hostname=PC1) AND (certificate/not-after < '2024-09-22 00:00:00 UTC')"
///     .parse()
///     .unwrap();
/// let text = filter.to_string();
/// assert_eq!(text, r#"(hostname = "PC1" and certificate/not-after lt "2024-09-22T00:00:00Z")"#);
/// assert_eq!(text.parse::<Filter>().unwrap(), filter);
///
/// let built = Filter::field("hostname").eq("PC1");
/// assert_eq!(built.to_string(), r#"(hostname = "PC1")"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub(crate) node: Node,
}

/// A node of the canonical tree.
///
/// Invariant: an `And` holds no `And` directly and an `Or` no `Or` (they
/// are flattened), and both hold two or more terms. Printing relies on it
/// to round-trip.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Node {
    Cmp(Cmp),
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
}

/// `path op value`, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cmp {
    /// Borrowed from the schema for known fields.
    pub(crate) path: Cow<'static, str>,
    pub(crate) op: Op,
    pub(crate) value: Val,
}

/// A normalised value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Val {
    Str(String),
    Time(DateTime<Utc>),
}

impl Node {
    /// Joins two nodes with `and` or `or`, flattening same-kind nodes.
    pub(crate) fn join(a: Node, b: Node, is_and: bool) -> Node {
        let mut terms = Vec::new();
        for node in [a, b] {
            match (node, is_and) {
                (Node::And(inner), true) | (Node::Or(inner), false) => terms.extend(inner),
                (node, _) => terms.push(node),
            }
        }
        if is_and { Node::And(terms) } else { Node::Or(terms) }
    }
}

impl Filter {
    /// The filter as a query-string value, percent-encoded exactly once;
    /// see [`encode_query_value`](crate::encode_query_value).
    ///
    /// ```
    /// let filter = nxlog_filter::parse("(hostname=PC1)").unwrap();
    /// assert_eq!(filter.to_query(), "%28hostname%20%3D%20%22PC1%22%29");
    /// ```
    pub fn to_query(&self) -> String {
        // Printed straight into the encoder: the same text as
        // `encode_query_value(&self.to_string())`, without the copy.
        let mut out = String::with_capacity(128);
        let _ = write_filter(&mut crate::encode::Encoder(&mut out), &self.node);
        out
    }

    /// The length in bytes of the canonical text, counted without
    /// building it.
    pub(crate) fn canonical_len(&self) -> usize {
        struct Count(usize);
        impl fmt::Write for Count {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0 += s.len();
                Ok(())
            }
        }
        let mut count = Count(0);
        let _ = write_filter(&mut count, &self.node);
        count.0
    }

    /// Starts a comparison on the field at `path`, such as `hostname` or
    /// `certificate/not-after`.
    ///
    /// The path is not checked here: a malformed path (`"a b"`) gives a
    /// filter whose text [`parse`](crate::parse) rejects. Parse text from
    /// users instead of building it.
    pub fn field(path: &str) -> FieldBuilder {
        FieldBuilder { path: path.to_string() }
    }

    /// Both this filter and `other`.
    pub fn and(self, other: Filter) -> Filter {
        Filter { node: Node::join(self.node, other.node, true) }
    }

    /// This filter or `other`.
    pub fn or(self, other: Filter) -> Filter {
        Filter { node: Node::join(self.node, other.node, false) }
    }

    /// The negation of this filter.
    #[allow(clippy::should_implement_trait, reason = "the builder reads as `a.and(b).not()`")]
    pub fn not(self) -> Filter {
        Filter { node: Node::Not(Box::new(self.node)) }
    }
}

/// Builds a comparison; made by [`Filter::field`].
#[derive(Clone, Debug)]
pub struct FieldBuilder {
    path: String,
}

impl FieldBuilder {
    fn cmp(self, op: Op, value: Val) -> Filter {
        let path = match schema::known(&self.path) {
            Some((known, _)) => Cow::Borrowed(known),
            None => Cow::Owned(self.path),
        };
        Filter { node: Node::Cmp(Cmp { path, op, value }) }
    }

    /// A text value, normalised as parsing would: a timestamp field's
    /// value becomes an instant when it parses as one (relative times
    /// against the current clock), a UUID is lower-cased.
    fn text(&self, value: &str, op: Op) -> Val {
        match (schema::field_type(&self.path), op) {
            (Some(FieldType::Timestamp), Op::Eq | Op::Ne) => {
                match timestamp::parse(value, Utc::now()) {
                    Ok(t) => Val::Time(t),
                    Err(_) => Val::Str(value.to_string()),
                }
            }
            (Some(FieldType::Uuid), Op::Eq | Op::Ne) if crate::check::is_uuid(value) => {
                Val::Str(value.to_ascii_lowercase())
            }
            _ => Val::Str(value.to_string()),
        }
    }

    /// `path = value`.
    pub fn eq(self, value: &str) -> Filter {
        let value = self.text(value, Op::Eq);
        self.cmp(Op::Eq, value)
    }

    /// `path != value`.
    pub fn ne(self, value: &str) -> Filter {
        let value = self.text(value, Op::Ne);
        self.cmp(Op::Ne, value)
    }

    /// `path LIKE pattern`, where `%` matches any run of characters and
    /// `_` one character.
    pub fn like(self, pattern: &str) -> Filter {
        self.cmp(Op::Like, Val::Str(pattern.to_string()))
    }

    /// `path lt instant`.
    pub fn lt(self, instant: DateTime<Utc>) -> Filter {
        self.cmp(Op::Lt, Val::Time(instant))
    }

    /// `path le instant`.
    pub fn le(self, instant: DateTime<Utc>) -> Filter {
        self.cmp(Op::Le, Val::Time(instant))
    }

    /// `path gt instant`.
    pub fn gt(self, instant: DateTime<Utc>) -> Filter {
        self.cmp(Op::Gt, Val::Time(instant))
    }

    /// `path ge instant`.
    pub fn ge(self, instant: DateTime<Utc>) -> Filter {
        self.cmp(Op::Ge, Val::Time(instant))
    }
}

/// The canonical text: one outer pair of parentheses, single spaces
/// around operators and keywords, lower-case keywords and word operators,
/// upper-case `LIKE`, values double-quoted, timestamps in RFC 3339 UTC,
/// inner parentheses only where precedence needs them.
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_filter(f, &self.node)
    }
}

/// The canonical text of a whole filter, written in pieces with
/// `write_str` only (no formatting machinery), so that any sink, such as
/// the query encoder, takes it as it comes.
fn write_filter<W: fmt::Write>(f: &mut W, node: &Node) -> fmt::Result {
    f.write_str("(")?;
    write_node(f, node)?;
    f.write_str(")")
}

/// Parses with [`Options::default`](crate::Options), like
/// [`parse`](crate::parse).
impl FromStr for Filter {
    type Err = Error;

    fn from_str(s: &str) -> Result<Filter, Error> {
        crate::parse(s)
    }
}

fn write_node<W: fmt::Write>(f: &mut W, node: &Node) -> fmt::Result {
    match node {
        Node::Cmp(cmp) => write_cmp(f, cmp),
        Node::Or(terms) => write_terms(f, terms, " or ", |t| matches!(t, Node::Or(_))),
        Node::And(terms) => {
            write_terms(f, terms, " and ", |t| matches!(t, Node::Or(_) | Node::And(_)))
        }
        Node::Not(inner) => {
            f.write_str("not ")?;
            let needs_parens = matches!(**inner, Node::Or(_) | Node::And(_));
            write_maybe_grouped(f, inner, needs_parens)
        }
    }
}

fn write_terms<W: fmt::Write>(
    f: &mut W,
    terms: &[Node],
    separator: &str,
    needs_parens: fn(&Node) -> bool,
) -> fmt::Result {
    for (i, term) in terms.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write_maybe_grouped(f, term, needs_parens(term))?;
    }
    Ok(())
}

fn write_maybe_grouped<W: fmt::Write>(f: &mut W, node: &Node, grouped: bool) -> fmt::Result {
    if grouped {
        f.write_str("(")?;
        write_node(f, node)?;
        f.write_str(")")
    } else {
        write_node(f, node)
    }
}

fn write_cmp<W: fmt::Write>(f: &mut W, cmp: &Cmp) -> fmt::Result {
    f.write_str(&cmp.path)?;
    f.write_str(" ")?;
    f.write_str(cmp.op.as_str())?;
    f.write_str(" \"")?;
    match &cmp.value {
        Val::Time(t) => f.write_str(timestamp::Formatted::new(*t).as_str())?,
        Val::Str(s) => {
            // Runs without `"` or `\\` are written whole.
            let mut rest = s.as_str();
            while let Some(at) = rest.find(['"', '\\']) {
                f.write_str(&rest[..at])?;
                f.write_str("\\")?;
                f.write_str(&rest[at..=at])?;
                rest = &rest[at + 1..];
            }
            f.write_str(rest)?;
        }
    }
    f.write_str("\"")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn check(filter: Filter, expected: &str) {
        assert_eq!(filter.to_string(), expected);
        assert_eq!(crate::parse(expected).unwrap(), filter, "{expected}");
    }

    #[test]
    fn builds_and_prints() {
        let f = Filter::field;
        let t = Utc.with_ymd_and_hms(2024, 9, 22, 0, 0, 0).unwrap();
        check(f("hostname").eq("PC1"), r#"(hostname = "PC1")"#);
        check(f("hostname").ne("a\"b\\c"), r#"(hostname != "a\"b\\c")"#);
        check(f("name").like("New%"), r#"(name LIKE "New%")"#);
        check(
            f("certificate/not-after").lt(t),
            r#"(certificate/not-after lt "2024-09-22T00:00:00Z")"#,
        );
        check(
            f("certificate/not-after").le(t),
            r#"(certificate/not-after le "2024-09-22T00:00:00Z")"#,
        );
        check(
            f("certificate/not-before").gt(t),
            r#"(certificate/not-before gt "2024-09-22T00:00:00Z")"#,
        );
        check(f("x").ge(t), r#"(x ge "2024-09-22T00:00:00Z")"#);
        check(
            f("certificate/not-after").eq("2024-09-22 02:00:00+02:00"),
            r#"(certificate/not-after = "2024-09-22T00:00:00Z")"#,
        );
        check(
            f("id").eq("1589A98A-66B3-11EE-80D5-4F584C6F672D"),
            r#"(id = "1589a98a-66b3-11ee-80d5-4f584c6f672d")"#,
        );
        check(
            f("a").eq("1").and(f("b").eq("2")).and(f("c").eq("3")),
            r#"(a = "1" and b = "2" and c = "3")"#,
        );
        check(
            f("a").eq("1").and(f("b").eq("2").or(f("c").eq("3"))),
            r#"(a = "1" and (b = "2" or c = "3"))"#,
        );
        check(
            f("a").eq("1").and(f("b").eq("2")).or(f("c").eq("3")),
            r#"(a = "1" and b = "2" or c = "3")"#,
        );
        check(f("a").eq("1").or(f("b").eq("2")).not(), r#"(not (a = "1" or b = "2"))"#);
        check(f("a").eq("1").not().not(), r#"(not not a = "1")"#);
        check(f("a").eq("1").not().and(f("b").eq("2")), r#"(not a = "1" and b = "2")"#);
    }
}
