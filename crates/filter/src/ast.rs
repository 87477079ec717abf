//! The syntax tree the parser builds: the input as written, with a byte
//! span on every node.

use std::borrow::Cow;

use crate::Span;

/// A filter expression as written, borrowing from the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr<'a> {
    /// `a or b or ...`, two or more terms.
    Or(Vec<Expr<'a>>, Span),
    /// `a and b and ...`, two or more terms.
    And(Vec<Expr<'a>>, Span),
    /// `not a`; the span starts at the keyword.
    Not(Box<Expr<'a>>, Span),
    /// `path op value`, boxed to keep the recursive parser's frames small.
    Cmp(Box<Comparison<'a>>),
}

/// `path op value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Comparison<'a> {
    pub(crate) path: &'a str,
    pub(crate) path_span: Span,
    pub(crate) op: Op,
    pub(crate) op_span: Span,
    pub(crate) value: Value<'a>,
    /// From the first byte of the path to the last byte of the value.
    pub(crate) span: Span,
}

/// A value with escapes decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Value<'a> {
    /// Borrowed unless escapes had to be decoded.
    pub(crate) text: Cow<'a, str>,
    /// The quote character, or `None` for a bare word.
    pub(crate) quote: Option<char>,
    /// The whole value, quotes included.
    pub(crate) span: Span,
}

impl Value<'_> {
    /// The span of the characters between the quotes.
    pub(crate) fn content_span(&self) -> Span {
        match self.quote {
            Some(_) => Span::new(self.span.start + 1, self.span.end.saturating_sub(1)),
            None => self.span,
        }
    }

    /// Maps a byte offset into the decoded text to a byte offset into the
    /// input, stepping over escapes (`\"` is two input bytes, one decoded).
    pub(crate) fn input_offset(&self, input: &str, decoded: usize) -> usize {
        let content = self.content_span();
        let raw = &input[content.start..content.end];
        let mut seen = 0;
        let mut chars = raw.char_indices();
        while let Some((at, c)) = chars.next() {
            if seen >= decoded {
                return content.start + at;
            }
            let c = if c == '\\' && self.quote.is_some() {
                chars.next().map_or(c, |(_, next)| next)
            } else {
                c
            };
            seen += c.len_utf8();
        }
        content.end
    }
}

/// A comparison operator, in its canonical form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

impl Op {
    /// The canonical spelling: `=`, `!=`, `lt`, `le`, `gt`, `ge`, `LIKE`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
            Op::Like => "LIKE",
        }
    }

    pub(crate) fn is_ordering(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
}
