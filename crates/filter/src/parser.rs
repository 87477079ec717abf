//! The grammar: text to [`Expr`], with a byte span on every node.
//!
//! One function per rule, named after it, the rule in its doc comment.
//! nom stays inside this module: [`parse`] turns nom's leftover input
//! into byte offsets and returns the crate's [`Error`].
//!
//! Every rule decides what to do from the next character or word, and a
//! rule that has started never hands its input back to another one, so
//! parsing is linear in the input. Nesting (parentheses and `not`) is
//! counted while parsing and stops at the configured depth, before the
//! recursion can exhaust the stack.

use std::borrow::Cow;

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::{IResult, Parser};

use crate::ast::{Comparison, Expr, Op, Value};
use crate::{Error, ErrorKind, Span};

/// What the parser knows about the whole input while it runs.
struct Cx {
    /// Length of the whole input, to turn leftover input into offsets.
    len: usize,
    max_depth: usize,
    /// Offset of the `(` that encloses the whole filter, if one does; it
    /// does not count towards the depth, so that printing (which adds
    /// that pair) never makes a filter too deep to parse back.
    free_group: Option<usize>,
}

impl Cx {
    /// Byte offset of the leftover input `rest` in the whole input.
    fn at(&self, rest: &str) -> usize {
        self.len - rest.len()
    }
}

/// The parser's error: either ours, with a span, or nom's, with only the
/// leftover input (its length, so the type has no lifetime).
#[derive(Debug)]
enum PError {
    Ours(Box<(ErrorKind, Span)>),
    Nom { rest_len: usize },
}

impl<'a> nom::error::ParseError<&'a str> for PError {
    fn from_error_kind(input: &'a str, _kind: nom::error::ErrorKind) -> Self {
        PError::Nom { rest_len: input.len() }
    }

    fn append(_input: &'a str, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

type PResult<'a, T> = IResult<&'a str, T, PError>;

/// Stops the parse with an error of ours.
fn fail<'a, T>(kind: ErrorKind, span: Span) -> PResult<'a, T> {
    Err(nom::Err::Failure(PError::Ours(Box::new((kind, span)))))
}

/// Parses a whole filter. Limits on length are checked by the caller.
///
/// The common shape is read by [`simple`] in one pass; anything it does
/// not take, errors included, goes through the grammar functions below.
#[cfg(test)]
pub(crate) fn parse(input: &str, max_depth: usize) -> Result<Expr<'_>, Error> {
    match simple(input) {
        Some(expr) => Ok(expr),
        None => parse_full(input, max_depth),
    }
}

/// [`parse`] without the one-pass reader: every rule, every error.
pub(crate) fn parse_full(input: &str, max_depth: usize) -> Result<Expr<'_>, Error> {
    let free_group = enclosing_group(input);
    let cx = Cx { len: input.len(), max_depth, free_group };
    match filter(&cx, input) {
        Ok((_, expr)) => Ok(expr),
        Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
            let (kind, span) = match e {
                PError::Ours(boxed) => *boxed,
                PError::Nom { rest_len } => {
                    let at = input.len() - rest_len;
                    let rest = &input[at..];
                    let kind = unexpected("a comparison", rest);
                    (kind, Span::new(at, at + token(rest).len()))
                }
            };
            Err(Error::new(kind, span, input))
        }
        // Only streaming parsers report this, and this module uses none.
        Err(nom::Err::Incomplete(_)) => Err(Error::new(
            ErrorKind::UnexpectedEnd { expected: "a complete filter".into() },
            Span::empty(input.len()),
            input,
        )),
    }
}

/// The common shape of a filter read in one pass over the bytes, for
/// speed: comparisons joined by `and` and `or`, with at most one pair of
/// parentheses around the whole filter, ASCII whitespace, and values that
/// are bare or quoted without escapes. It builds exactly the tree the
/// grammar functions build, spans included (a differential property test
/// checks this), and returns `None` for anything else, including every
/// error, `not`, inner parentheses and non-ASCII text outside quotes, so
/// that the grammar functions decide and explain those.
#[cfg(test)]
fn simple(input: &str) -> Option<Expr<'_>> {
    simple_with(input, &mut Syntax)
}

/// What [`simple_with`] builds from the comparisons it reads: the syntax
/// tree ([`Syntax`]), or, for speed, the checked tree directly (in
/// `check.rs`), with no syntax tree in between.
pub(crate) trait Build<'a> {
    type Node;
    /// One comparison.
    fn comparison(&mut self, cmp: Comparison<'a>) -> Self::Node;
    /// Two or more terms joined by `and` (`is_and`) or `or`.
    fn list(&mut self, is_and: bool, terms: Vec<Self::Node>, span: Span) -> Self::Node;
    /// The parentheses around the whole filter enclose `node`, at `span`.
    fn group(&mut self, node: &mut Self::Node, span: Span);
}

/// Builds the syntax tree, as the grammar functions do; the checked
/// tree is built in `check.rs`, so this one serves the tests that compare
/// the two routes.
#[cfg(test)]
struct Syntax;

#[cfg(test)]
impl<'a> Build<'a> for Syntax {
    type Node = Expr<'a>;

    fn comparison(&mut self, cmp: Comparison<'a>) -> Expr<'a> {
        Expr::Cmp(Box::new(cmp))
    }

    fn list(&mut self, is_and: bool, terms: Vec<Expr<'a>>, span: Span) -> Expr<'a> {
        if is_and { Expr::And(terms, span) } else { Expr::Or(terms, span) }
    }

    fn group(&mut self, node: &mut Expr<'a>, span: Span) {
        // As in `primary`: the parentheses belong to the span of a list.
        if let Expr::Or(_, s) | Expr::And(_, s) = node {
            *s = span;
        }
    }
}

/// The common shape of a filter read in one pass over the bytes, for
/// speed: comparisons joined by `and` and `or`, with at most one pair of
/// parentheses around the whole filter, ASCII whitespace, and values that
/// are bare or quoted without escapes. With [`Syntax`] it builds exactly
/// the tree the grammar functions build, spans included (a differential
/// property test checks this). It returns `None` for anything else,
/// including every syntax error, `not`, inner parentheses and non-ASCII
/// text outside quotes, so that the grammar functions decide and explain
/// those; what `build` made is then thrown away.
pub(crate) fn simple_with<'a, B: Build<'a>>(input: &'a str, build: &mut B) -> Option<B::Node> {
    let mut r = Simple { s: input, b: input.as_bytes(), pos: 0 };
    r.ws()?;
    let open = if r.eat(b'(') { Some(r.pos - 1) } else { None };
    r.ws()?;

    let mut ors = Terms::new();
    let mut ands = Terms::new();
    let first_start = r.pos;
    let mut and_start = r.pos;
    let mut end;
    loop {
        let cmp = r.comparison()?;
        end = cmp.span.end;
        ands.push(build.comparison(cmp));
        r.ws()?;
        if r.keyword(b"and") {
            r.ws()?;
        } else if r.keyword(b"or") {
            ors.push(ands.finish(build, true, Span::new(and_start, end)));
            r.ws()?;
            and_start = r.pos;
        } else {
            break;
        }
    }
    ors.push(ands.finish(build, true, Span::new(and_start, end)));
    let mut node = ors.finish(build, false, Span::new(first_start, end));

    if let Some(open) = open {
        if !r.eat(b')') {
            return None;
        }
        build.group(&mut node, Span::new(open, r.pos));
        r.ws()?;
    }
    (r.pos == r.b.len()).then_some(node)
}

/// The terms of one `and` or `or` list; one term stays itself, as in
/// [`join`].
struct Terms<N> {
    first: Option<N>,
    more: Vec<N>,
}

impl<N> Terms<N> {
    fn new() -> Self {
        Terms { first: None, more: Vec::new() }
    }

    fn push(&mut self, node: N) {
        match self.first {
            None => self.first = Some(node),
            Some(_) => self.more.push(node),
        }
    }

    /// The single term, or a list of all terms; empties the list.
    fn finish<'a, B: Build<'a, Node = N>>(&mut self, build: &mut B, is_and: bool, span: Span) -> N {
        let first = self.first.take().expect("a list holds a term before it is finished");
        if self.more.is_empty() {
            return first;
        }
        let mut more = std::mem::take(&mut self.more);
        more.insert(0, first);
        build.list(is_and, more, span)
    }
}

/// The cursor of [`simple`].
struct Simple<'a> {
    s: &'a str,
    b: &'a [u8],
    pos: usize,
}

impl<'a> Simple<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let is_next = self.peek() == Some(byte);
        self.pos += usize::from(is_next);
        is_next
    }

    /// ASCII whitespace; `None` at a non-ASCII byte, which may be
    /// Unicode whitespace.
    fn ws(&mut self) -> Option<()> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => self.pos += 1,
                0x80.. => return None,
                _ => break,
            }
        }
        Some(())
    }

    /// The end of the run of path characters at `at`.
    fn path_run(&self, at: usize) -> usize {
        let mut end = at;
        while self.b.get(end).is_some_and(|b| BYTE_CLASS[usize::from(*b)] & PATH != 0) {
            end += 1;
        }
        end
    }

    /// `word` in any letter case, not followed by a path character.
    fn keyword(&mut self, word: &[u8]) -> bool {
        let end = self.pos + word.len();
        let is_word = self.b.get(self.pos..end).is_some_and(|w| w.eq_ignore_ascii_case(word))
            && self.b.get(end).is_none_or(|b| BYTE_CLASS[usize::from(*b)] & PATH == 0);
        if is_word {
            self.pos = end;
        }
        is_word
    }

    /// `comparison = path ws operator ws value`
    fn comparison(&mut self) -> Option<Comparison<'a>> {
        let start = self.pos;
        // A keyword as the first word (`not` the keyword or a field name,
        // `and` or `or` where a comparison belongs) is left to the grammar
        // functions.
        let word = &self.b[start..self.path_run(start)];
        if [&b"not"[..], b"and", b"or"].iter().any(|k| word.eq_ignore_ascii_case(k)) {
            return None;
        }
        loop {
            if !self.peek()?.is_ascii_alphabetic() {
                return None;
            }
            let segment = self.pos;
            self.pos = self.path_run(self.pos);
            // A keyword as a segment is an error the grammar explains.
            if is_keyword(&self.s[segment..self.pos]) {
                return None;
            }
            if !self.eat(b'/') {
                break;
            }
        }
        let path_span = Span::new(start, self.pos);
        self.ws()?;

        let op_start = self.pos;
        let op = self.operator()?;
        let op_span = Span::new(op_start, self.pos);
        self.ws()?;

        let value = self.value()?;
        let span = Span::new(start, value.span.end);
        let path = &self.s[path_span.start..path_span.end];
        Some(Comparison { path, path_span, op, op_span, value, span })
    }

    /// The operators of [`operator`], in the same order.
    fn operator(&mut self) -> Option<Op> {
        let b = self.b;
        let at = self.pos;
        let (op, len) = match (b.get(at), b.get(at + 1)) {
            (Some(b'='), Some(b'=')) => (Op::Eq, 2),
            (Some(b'!'), Some(b'=')) => (Op::Ne, 2),
            (Some(b'<'), Some(b'>')) => (Op::Ne, 2),
            (Some(b'<'), Some(b'=')) => (Op::Le, 2),
            (Some(b'>'), Some(b'=')) => (Op::Ge, 2),
            (Some(b'='), _) => (Op::Eq, 1),
            (Some(b'<'), _) => (Op::Lt, 1),
            (Some(b'>'), _) => (Op::Gt, 1),
            _ => {
                let end = self.path_run(at);
                let word = &b[at..end];
                let op = [
                    (&b"eq"[..], Op::Eq),
                    (b"ne", Op::Ne),
                    (b"lt", Op::Lt),
                    (b"le", Op::Le),
                    (b"gt", Op::Gt),
                    (b"ge", Op::Ge),
                    (b"like", Op::Like),
                ]
                .into_iter()
                .find(|(spelling, _)| word.eq_ignore_ascii_case(spelling))?
                .1;
                (op, end - at)
            }
        };
        self.pos += len;
        Some(op)
    }

    /// A bare value of ASCII characters, or a quoted one without escapes.
    fn value(&mut self) -> Option<Value<'a>> {
        let start = self.pos;
        let quote = self.peek()?;
        if quote == b'"' || quote == b'\'' {
            let len = self.b[start + 1..].iter().position(|b| *b == quote || *b == b'\\')?;
            let close = start + 1 + len;
            if self.b[close] != quote {
                return None;
            }
            self.pos = close + 1;
            let text = Cow::Borrowed(&self.s[start + 1..close]);
            let span = Span::new(start, self.pos);
            return Some(Value { text, quote: Some(char::from(quote)), span });
        }
        while self.peek().is_some_and(|b| BYTE_CLASS[usize::from(b)] & BARE != 0) {
            self.pos += 1;
        }
        let len = self.pos - start;
        // Empty, or followed by what the grammar functions must explain
        // (`(`) or judge (non-ASCII text).
        if len == 0 || self.peek().is_some_and(|b| b == b'(' || !b.is_ascii()) {
            return None;
        }
        let text = Cow::Borrowed(&self.s[start..self.pos]);
        Some(Value { text, quote: None, span: Span::new(start, self.pos) })
    }
}

/// [`BYTE_CLASS`] bit: the byte is a path character ([`is_path_char`]).
const PATH: u8 = 1;
/// [`BYTE_CLASS`] bit: the byte is an ASCII character of a bare value
/// ([`is_bare_char`]).
const BARE: u8 = 2;

/// The classes of each byte value, from the grammar's own predicates.
static BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' {
            table[b] |= PATH;
        }
        let is_delimiter = matches!(
            c,
            b' ' | b'\t'
                | b'\n'
                | 0x0b
                | 0x0c
                | b'\r'
                | b'"'
                | b'\''
                | b'('
                | b')'
                | b'='
                | b'!'
                | b'<'
                | b'>'
                | b'&'
                | b'|'
        );
        if !is_delimiter {
            table[b] |= BARE;
        }
        b += 1;
    }
    table
};

/// `filter = ws or_expr ws EOF`
///
/// The outer parentheses are an ordinary group, so they are optional.
fn filter<'a>(cx: &Cx, i: &'a str) -> PResult<'a, Expr<'a>> {
    let trimmed = i.trim();
    let is_empty = trimmed.is_empty() || trimmed == "()";
    if is_empty {
        return fail(ErrorKind::EmptyFilter, Span::new(0, i.len()));
    }

    let (i, _) = ws(i)?;
    let (i, expr) = or_expr(cx, i, 0)?;
    let (i, _) = ws(i)?;
    if !i.is_empty() {
        return fail(after_operand("end of input", i), token_span(cx, i));
    }
    Ok((i, expr))
}

/// The offset of a `(` that encloses the whole input, found by one pass
/// that tracks quotes the way the grammar does (a quote outside a quoted
/// value always opens one, since bare values cannot hold quotes).
fn enclosing_group(input: &str) -> Option<usize> {
    let trimmed = input.trim();
    let start = input.len() - input.trim_start().len();
    let bytes = trimmed.as_bytes();
    if bytes.first() != Some(&b'(') || bytes.last() != Some(&b')') {
        return None;
    }
    let mut open = 0usize;
    let mut quote = None;
    let mut escaped = false;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if b == b'\\' => escaped = true,
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None => match b {
                b'"' | b'\'' => quote = Some(b),
                b'(' => open += 1,
                b')' => {
                    open = open.checked_sub(1)?;
                    let closes_first = open == 0;
                    if closes_first {
                        return (i == bytes.len() - 1).then_some(start);
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// `or_expr = and_expr *(ws "or" ws and_expr)`
fn or_expr<'a>(cx: &Cx, i: &'a str, depth: usize) -> PResult<'a, Expr<'a>> {
    let start = cx.at(i);
    let (mut i, first) = and_expr(cx, i, depth)?;
    let mut terms = Vec::new();
    loop {
        let (rest, _) = ws(i)?;
        if rest.starts_with('|') {
            return fail(symbolic(rest, "`or`"), token_span(cx, rest));
        }
        let Ok((rest, _)) = keyword("or", rest) else { break };
        let (rest, _) = ws(rest)?;
        let (rest, term) = and_expr(cx, rest, depth)?;
        terms.push(term);
        i = rest;
    }
    Ok((i, join(first, terms, start, cx.at(i), Expr::Or)))
}

/// `and_expr = not_expr *(ws "and" ws not_expr)`
fn and_expr<'a>(cx: &Cx, i: &'a str, depth: usize) -> PResult<'a, Expr<'a>> {
    let start = cx.at(i);
    let (mut i, first) = not_expr(cx, i, depth)?;
    let mut terms = Vec::new();
    loop {
        let (rest, _) = ws(i)?;
        if rest.starts_with('&') {
            return fail(symbolic(rest, "`and`"), token_span(cx, rest));
        }
        let Ok((rest, _)) = keyword("and", rest) else { break };
        let (rest, _) = ws(rest)?;
        let (rest, term) = not_expr(cx, rest, depth)?;
        terms.push(term);
        i = rest;
    }
    Ok((i, join(first, terms, start, cx.at(i), Expr::And)))
}

/// One term stays itself; more become an `and` or `or` node. The list
/// of further terms is only allocated when there are some.
fn join<'a>(
    first: Expr<'a>,
    mut more: Vec<Expr<'a>>,
    start: usize,
    end: usize,
    node: fn(Vec<Expr<'a>>, Span) -> Expr<'a>,
) -> Expr<'a> {
    if more.is_empty() {
        return first;
    }
    more.insert(0, first);
    node(more, Span::new(start, end))
}

/// `not_expr = "not" ws not_expr / primary`
///
/// `not` is a keyword unless it was meant as a field name (see
/// [`not_is_field_name`]); then the path rule rejects it with a message,
/// since no path segment may be a keyword. Each `not` counts one level of
/// nesting.
fn not_expr<'a>(cx: &Cx, i: &'a str, depth: usize) -> PResult<'a, Expr<'a>> {
    let start = cx.at(i);
    if let Ok((rest, _)) = keyword("not", i) {
        let (after_ws, _) = ws(rest)?;
        let is_field_name = rest.starts_with('/') || not_is_field_name(cx, after_ws);
        if !is_field_name {
            let depth = deeper(cx, depth, Span::new(start, cx.at(rest)))?;
            let (rest, inner) = not_expr(cx, after_ws, depth)?;
            let span = Span::new(start, cx.at(rest));
            return Ok((rest, Expr::Not(Box::new(inner), span)));
        }
    }
    primary(cx, i, depth)
}

/// Whether a `not` followed by `after` (whitespace skipped) is a field
/// name: an operator follows it (`not<now`, `not lt now`), unless that is
/// a word operator which itself starts a comparison (`not lt lt now`
/// negates `lt lt now`).
fn not_is_field_name(cx: &Cx, after: &str) -> bool {
    if after.starts_with(['=', '<', '>']) || after.starts_with("!=") {
        return true;
    }
    let Ok((rest, _)) = word_operator(cx, after) else { return false };
    let Ok((rest, _)) = ws(rest) else { return false };
    operator(cx, rest).is_err()
}

/// `primary = "(" ws or_expr ws ")" / comparison`
///
/// Each `(` counts one level of nesting.
fn primary<'a>(cx: &Cx, i: &'a str, depth: usize) -> PResult<'a, Expr<'a>> {
    let Ok((inner, _)) = tag::<_, _, PError>("(").parse(i) else {
        return comparison(cx, i);
    };
    let open = Span::new(cx.at(i), cx.at(inner));
    let is_free = cx.free_group == Some(open.start);
    let depth = if is_free { depth } else { deeper(cx, depth, open)? };

    let (inner, _) = ws(inner)?;
    if inner.starts_with(['&', '|', '!']) {
        return fail(ldap_prefix(inner), token_span(cx, inner));
    }
    let (inner, mut expr) = or_expr(cx, inner, depth)?;
    let (inner, _) = ws(inner)?;
    let Ok((rest, _)) = tag::<_, _, PError>(")").parse(inner) else {
        return fail(after_operand("`)`", inner), token_span(cx, inner));
    };

    // The group's parentheses belong to the span of what they enclose.
    let span = Span::new(open.start, cx.at(rest));
    match &mut expr {
        Expr::Or(_, s) | Expr::And(_, s) | Expr::Not(_, s) => *s = span,
        Expr::Cmp(_) => {}
    }
    Ok((rest, expr))
}

/// `comparison = path ws operator ws value`
fn comparison<'a>(cx: &Cx, i: &'a str) -> PResult<'a, Expr<'a>> {
    let start = cx.at(i);
    if i.starts_with('!') {
        return fail(symbolic(i, "`not`"), token_span(cx, i));
    }
    if i.starts_with(['&', '|']) {
        return fail(ldap_prefix(i), token_span(cx, i));
    }
    if !i.starts_with(|c: char| c.is_ascii_alphabetic()) {
        let expected = "a comparison such as `hostname=PC1`, `(` or `not`";
        return fail(unexpected(expected, i), token_span(cx, i));
    }

    let (i, path_text) = path(cx, i)?;
    let path_span = Span::new(start, cx.at(i));
    let (i, _) = ws(i)?;
    let op_start = cx.at(i);
    let (i, (op, op_text)) = operator(cx, i)?;
    let op_span = Span::new(op_start, cx.at(i));
    let (i, _) = ws(i)?;
    let (i, value) = value(cx, i, path_text, op_text, op_span.end)?;

    let span = Span::new(start, value.span.end);
    let cmp = Comparison { path: path_text, path_span, op, op_span, value, span };
    Ok((i, Expr::Cmp(Box::new(cmp))))
}

/// `path = segment *("/" segment)`
fn path<'a>(cx: &Cx, i: &'a str) -> PResult<'a, &'a str> {
    let start = i;
    let (mut i, _) = segment(cx, i)?;
    while let Some(rest) = i.strip_prefix('/') {
        (i, _) = segment(cx, rest)?;
    }
    Ok((i, &start[..start.len() - i.len()]))
}

/// `segment = ALPHA *(ALPHA / DIGIT / "_" / "-")`
///
/// A segment must not be a keyword (`and`, `or`, `not`, any case): the
/// canonical text could not print `not lt "..."` so that it reads back as
/// a comparison, so no such path is accepted in any operator form.
fn segment<'a>(cx: &Cx, i: &'a str) -> PResult<'a, &'a str> {
    if !i.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return fail(ErrorKind::InvalidPath, token_span(cx, i));
    }
    let (rest, segment) = take_while1(is_path_char).parse(i)?;
    if is_keyword(segment) {
        let kind = ErrorKind::KeywordPath { keyword: segment.to_string() };
        return fail(kind, Span::new(cx.at(i), cx.at(rest)));
    }
    Ok((rest, segment))
}

/// `and`, `or` or `not` in any letter case.
fn is_keyword(word: &str) -> bool {
    ["and", "or", "not"].iter().any(|k| word.eq_ignore_ascii_case(k))
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// `operator = "==" / "=" / "!=" / "<>" / "<=" / "<" / ">=" / ">" / word_operator`
///
/// Two-character symbols are tried before their one-character prefixes.
fn operator<'a>(cx: &Cx, i: &'a str) -> PResult<'a, (Op, &'a str)> {
    const SYMBOLS: [(&str, Op); 8] = [
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<>", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    for (symbol, op) in SYMBOLS {
        if let Some(rest) = i.strip_prefix(symbol) {
            return Ok((rest, (op, symbol)));
        }
    }
    word_operator(cx, i)
}

/// `word_operator = "eq" / "ne" / "lt" / "le" / "gt" / "ge" / "like"`,
/// any letter case, not followed by a path character.
fn word_operator<'a>(cx: &Cx, i: &'a str) -> PResult<'a, (Op, &'a str)> {
    const WORDS: [(&str, Op); 7] = [
        ("eq", Op::Eq),
        ("ne", Op::Ne),
        ("lt", Op::Lt),
        ("le", Op::Le),
        ("gt", Op::Gt),
        ("ge", Op::Ge),
        ("like", Op::Like),
    ];
    let (rest, word) = take_while(is_path_char).parse(i)?;
    for (spelling, op) in WORDS {
        if word.eq_ignore_ascii_case(spelling) {
            return Ok((rest, (op, word)));
        }
    }
    let expected = "an operator (`=`, `!=`, `lt`, `le`, `gt`, `ge` or `LIKE`)";
    fail(unexpected(expected, i), token_span(cx, i))
}

/// `value = quoted / bare`
///
/// `after_op` is where the operator ends, for the missing-value error.
/// `path` and `op_text` are the comparison's, for the suggestion of the
/// unquoted-paren error.
fn value<'a>(
    cx: &Cx,
    i: &'a str,
    path: &str,
    op_text: &str,
    after_op: usize,
) -> PResult<'a, Value<'a>> {
    let is_missing = i.is_empty() || i.starts_with(')');
    if is_missing {
        let kind = ErrorKind::MissingValue { operator: op_text.to_string() };
        return fail(kind, Span::empty(after_op));
    }
    // A `(` right after a bare word (or in place of one) means the value
    // was meant to hold parentheses, which need quotes.
    let paren = match i.chars().next() {
        Some(quote @ ('"' | '\'')) => return quoted(cx, i, quote),
        Some('(') => i,
        _ => {
            let (rest, value) = bare(cx, i)?;
            if !rest.starts_with('(') {
                return Ok((rest, value));
            }
            rest
        }
    };
    let suggestion = quoted_suggestion(path, op_text, i);
    fail(ErrorKind::UnquotedParen { suggestion }, token_span(cx, paren))
}

/// The comparison as it should be written, for the unquoted-paren error:
/// `cn="Doe(x)"` for `cn=Doe(x)`. The value runs from the start of `i`
/// over balanced parentheses (spaces included inside them) to the first
/// whitespace, quote, operator character or unbalanced `)`; a long one is
/// cut with `…`.
fn quoted_suggestion(path: &str, op_text: &str, i: &str) -> String {
    let mut depth = 0usize;
    let mut end = i.len();
    for (at, c) in i.char_indices() {
        let ends = match c {
            '(' => {
                depth += 1;
                false
            }
            ')' if depth > 0 => {
                depth -= 1;
                false
            }
            ')' | '"' | '\'' | '=' | '!' | '<' | '>' | '&' | '|' => true,
            c => depth == 0 && c.is_whitespace(),
        };
        if ends {
            end = at;
            break;
        }
    }
    let value = &i[..end];
    let mut quoted = String::new();
    for c in value.chars().take(40) {
        if matches!(c, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    if value.chars().nth(40).is_some() {
        quoted.push('…');
    }
    let space = if op_text.starts_with(|c: char| c.is_ascii_alphabetic()) { " " } else { "" };
    format!("{path}{space}{op_text}{space}\"{quoted}\"")
}

/// `quoted = DQUOTE *(char / "\" DQUOTE / "\\") DQUOTE`
/// `       / SQUOTE *(char / "\" SQUOTE / "\\") SQUOTE`
fn quoted<'a>(cx: &Cx, i: &'a str, quote: char) -> PResult<'a, Value<'a>> {
    let start = cx.at(i);
    // The text is borrowed until the first escape, then copied.
    let mut text: Option<String> = None;
    let mut chars = i.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        if c == quote {
            let rest = &i[at + 1..];
            let span = Span::new(start, cx.at(rest));
            let text = text.map_or(Cow::Borrowed(&i[1..at]), Cow::Owned);
            return Ok((rest, Value { text, quote: Some(quote), span }));
        }
        if c == '\\' {
            let copied = text.get_or_insert_with(|| i[1..at].to_string());
            match chars.next() {
                Some((_, next)) if next == quote || next == '\\' => copied.push(next),
                found => {
                    let end = found.map_or(i.len(), |(at, c)| at + c.len_utf8());
                    let kind = ErrorKind::InvalidEscape { found: found.map(|(_, c)| c), quote };
                    return fail(kind, Span::new(start + at, start + end));
                }
            }
        } else if let Some(copied) = &mut text {
            copied.push(c);
        }
    }
    fail(ErrorKind::UnterminatedString { quote }, Span::new(start, cx.len))
}

/// `bare = 1*(any character but whitespace, quotes, parentheses, "=", "!",
/// "<", ">", "&" and "|")`
///
/// A bare word is always a value here, even `and` or `or`.
fn bare<'a>(cx: &Cx, i: &'a str) -> PResult<'a, Value<'a>> {
    let start = cx.at(i);
    let (rest, word) = match take_while1::<_, _, PError>(is_bare_char).parse(i) {
        Ok(ok) => ok,
        Err(_) => return fail(unexpected("a value", i), token_span(cx, i)),
    };
    let span = Span::new(start, cx.at(rest));
    Ok((rest, Value { text: Cow::Borrowed(word), quote: None, span }))
}

fn is_bare_char(c: char) -> bool {
    !(c.is_whitespace() || matches!(c, '"' | '\'' | '(' | ')' | '=' | '!' | '<' | '>' | '&' | '|'))
}

/// `keyword = word`, any letter case, not followed by a path character.
fn keyword<'a>(word: &'static str, i: &'a str) -> PResult<'a, &'a str> {
    let (rest, found) = take_while1(is_path_char).parse(i)?;
    if found.eq_ignore_ascii_case(word) {
        Ok((rest, found))
    } else {
        Err(nom::Err::Error(PError::Nom { rest_len: i.len() }))
    }
}

/// `ws = *(SP / HTAB / LF / CR)`, the same set that ends a bare value.
/// The predicate is Unicode whitespace, but [`invalid_char`] has already
/// rejected every other whitespace and control character outside quoted
/// values, so only those four reach here.
fn ws(i: &str) -> PResult<'_, &str> {
    take_while(char::is_whitespace).parse(i)
}

/// The first character no filter may hold, with its offset and whether
/// it is inside a quoted value: a control character (C0, DEL, C1), except
/// tab, line feed and carriage return between tokens; a byte order mark;
/// whitespace other than ASCII outside a quoted value (inside one it is
/// text). Checked before parsing, so the grammar only ever sees ASCII
/// whitespace between tokens and printable characters in values.
///
/// Quotes are tracked as in [`enclosing_group`]: outside a quoted value a
/// quote always opens one, since paths and bare values cannot hold one.
pub(crate) fn invalid_char(input: &str) -> Option<(usize, char, bool)> {
    use crate::error::{CharClass, char_class};

    // The usual text, printable ASCII, needs no closer look.
    if input.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    let mut quote = None;
    let mut escaped = false;
    for (at, c) in input.char_indices() {
        let is_invalid = match char_class(c) {
            CharClass::Control => quote.is_some() || !matches!(c, '\t' | '\n' | '\r'),
            CharClass::ByteOrderMark => true,
            CharClass::Whitespace => quote.is_none(),
            CharClass::Printable => false,
        };
        if is_invalid {
            return Some((at, c, quote.is_some()));
        }
        match quote {
            Some(_) if escaped => escaped = false,
            Some(_) if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None => {}
        }
    }
    None
}

/// One more level of nesting, or the too-deep error at `span`.
fn deeper(cx: &Cx, depth: usize, span: Span) -> Result<usize, nom::Err<PError>> {
    if depth >= cx.max_depth {
        let kind = ErrorKind::TooDeep { max: cx.max_depth };
        return Err(nom::Err::Failure(PError::Ours(Box::new((kind, span)))));
    }
    Ok(depth + 1)
}

/// The error for what follows a complete operand, when it is not `and`,
/// `or` or what `closer` names.
fn after_operand(closer: &str, rest: &str) -> ErrorKind {
    unexpected(&format!("`and`, `or` or {closer}"), rest)
}

/// `&&`, `||` or `!` where the language wants a word.
fn symbolic(rest: &str, use_instead: &'static str) -> ErrorKind {
    ErrorKind::SymbolicLogic { found: token(rest).to_string(), use_instead }
}

/// `(&(a=1)(b=2))`, the LDAP prefix form.
fn ldap_prefix(rest: &str) -> ErrorKind {
    let use_instead = match rest.as_bytes()[0] {
        b'&' => "`and` between comparisons, as in `(a=1) and (b=2)`",
        b'|' => "`or` between comparisons, as in `(a=1) or (b=2)`",
        _ => "`not` before a comparison, as in `not (a=1)`",
    };
    ErrorKind::SymbolicLogic { found: token(rest).to_string(), use_instead }
}

fn unexpected(expected: &str, rest: &str) -> ErrorKind {
    if rest.is_empty() {
        return ErrorKind::UnexpectedEnd { expected: expected.to_string() };
    }
    ErrorKind::UnexpectedToken {
        expected: expected.to_string(),
        found: format!("`{}`", token(rest)),
    }
}

fn token_span(cx: &Cx, rest: &str) -> Span {
    let start = cx.at(rest);
    Span::new(start, start + token(rest).len())
}

/// The token at the start of `rest`, for messages: a word, a
/// two-character symbol, or one character (empty at the end).
fn token(rest: &str) -> &str {
    const PAIRS: [&str; 7] = ["&&", "||", "==", "!=", "<>", "<=", ">="];
    if let Some(pair) = PAIRS.iter().find(|p| rest.starts_with(**p)) {
        return &rest[..pair.len()];
    }
    let word_len = rest.find(|c: char| !is_path_char(c)).unwrap_or(rest.len());
    if word_len > 0 {
        // Long words are cut to keep one-line messages short.
        let mut end = word_len.min(40);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        return &rest[..end];
    }
    rest.chars().next().map_or("", |c| &rest[..c.len_utf8()])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Renders the tree compactly: `And(Eq(a,"1"),Not(Lt(b,"2")))`.
    fn show(e: &Expr<'_>) -> String {
        let list = |name: &str, terms: &[Expr<'_>]| {
            format!("{name}({})", terms.iter().map(show).collect::<Vec<_>>().join(","))
        };
        match e {
            Expr::Or(t, _) => list("Or", t),
            Expr::And(t, _) => list("And", t),
            Expr::Not(inner, _) => format!("Not({})", show(inner)),
            Expr::Cmp(c) => format!("{:?}({},{:?})", c.op, c.path, c.value.text),
        }
    }

    fn check(input: &str, expected: &str) {
        let expr = parse(input, 256).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(show(&expr), expected, "{input:?}");
    }

    fn check_err(input: &str, code: &str, span: (usize, usize), message: &str) {
        let err = parse(input, 256).expect_err(input);
        let got = (err.kind().code(), (err.span().start, err.span().end));
        assert_eq!(got, (code, span), "{input:?}: {err}");
        assert!(err.to_string().contains(message), "{input:?}: {err}");
    }

    #[test]
    fn parses_to() {
        check("(hostname=PC1)", r#"Eq(hostname,"PC1")"#);
        check("hostname=PC1", r#"Eq(hostname,"PC1")"#);
        check("((hostname=PC1))", r#"Eq(hostname,"PC1")"#);
        check(
            r#"(certificate/not-after lt "2024-09-22 00:00:00 UTC")"#,
            r#"Lt(certificate/not-after,"2024-09-22 00:00:00 UTC")"#,
        );
        check(r#"(name LIKE "New agents")"#, r#"Like(name,"New agents")"#);
        check("(a==1)", r#"Eq(a,"1")"#);
        check("(a eq 1)", r#"Eq(a,"1")"#);
        check("(a EQ 1)", r#"Eq(a,"1")"#);
        check("(a<>1)", r#"Ne(a,"1")"#);
        check("(a ne 1)", r#"Ne(a,"1")"#);
        check("(a != 1)", r#"Ne(a,"1")"#);
        check("(a<1)", r#"Lt(a,"1")"#);
        check("(a<=1)", r#"Le(a,"1")"#);
        check("(a>1)", r#"Gt(a,"1")"#);
        check("(a>=1)", r#"Ge(a,"1")"#);
        check("(a Gt 1)", r#"Gt(a,"1")"#);
        check("(a like 'x%')", r#"Like(a,"x%")"#);
        check(r#"(a lt"x")"#, r#"Lt(a,"x")"#);
        check("(a='it\\'s')", r#"Eq(a,"it's")"#);
        check(r#"(a="\\")"#, r#"Eq(a,"\\")"#);
        check(r#"(a="")"#, r#"Eq(a,"")"#);
        check("(a=and)", r#"Eq(a,"and")"#);
        check("(a=or)", r#"Eq(a,"or")"#);
        check("(a=not)", r#"Eq(a,"not")"#);
        check("(a=1 and b=2 or c=3)", r#"Or(And(Eq(a,"1"),Eq(b,"2")),Eq(c,"3"))"#);
        check("(a=1 or b=2 and c=3)", r#"Or(Eq(a,"1"),And(Eq(b,"2"),Eq(c,"3")))"#);
        check("(not a=1 and b=2)", r#"And(Not(Eq(a,"1")),Eq(b,"2"))"#);
        check("(NOT not a=1)", r#"Not(Not(Eq(a,"1")))"#);
        check("not(a=1)", r#"Not(Eq(a,"1"))"#);
        check("(a=1)AND(b=2)", r#"And(Eq(a,"1"),Eq(b,"2"))"#);
        check("(a=1) Or (b=2) oR (c=3)", r#"Or(Eq(a,"1"),Eq(b,"2"),Eq(c,"3"))"#);
        check("(a=x) and ((b=1) or (c=2))", r#"And(Eq(a,"x"),Or(Eq(b,"1"),Eq(c,"2")))"#);
        check(" \t(a=1)\n ", r#"Eq(a,"1")"#);
        check("a=1\u{a0}and\u{2003}b=2", r#"And(Eq(a,"1"),Eq(b,"2"))"#);
        check("(a=now+30d)", r#"Eq(a,"now+30d")"#);
        check("(a=日本)", r#"Eq(a,"日本")"#);
        check("(a_b-c/d9=x)", r#"Eq(a_b-c/d9,"x")"#);
    }

    #[test]
    fn fails_at_span_with() {
        check_err("(mail=)", "missing-value", (6, 6), "missing value after `=`");
        check_err("(mail= )", "missing-value", (6, 6), "write `\"\"`");
        check_err("(mail eq)", "missing-value", (8, 8), "after `eq`");
        check_err("(mail=", "missing-value", (6, 6), "missing value");
        check_err("(cn=Doe(x))", "unquoted-paren", (7, 8), "must be quoted");
        check_err("(cn=(x))", "unquoted-paren", (4, 5), "must be quoted");
        check_err("(a=1) && (b=2)", "symbolic-logic", (6, 8), "expected `and`, found `&&`");
        check_err("(a=1) || (b=2)", "symbolic-logic", (6, 8), "expected `or`, found `||`");
        check_err("!(a=1)", "symbolic-logic", (0, 1), "expected `not`, found `!`");
        check_err("(&(a=1)(b=2))", "symbolic-logic", (1, 2), "`and` between");
        check_err("(|(a=1)(b=2))", "symbolic-logic", (1, 2), "`or` between");
        check_err("(!(a=1))", "symbolic-logic", (1, 2), "`not` before");
        check_err(
            "(a=1 b=2)",
            "unexpected-token",
            (5, 6),
            "expected `and`, `or` or `)`, found `b`",
        );
        check_err("a=1)", "unexpected-token", (3, 4), "or end of input, found `)`");
        check_err(
            "(a=1",
            "unexpected-end",
            (4, 4),
            "expected `and`, `or` or `)`, found end of input",
        );
        check_err("(a ~ 1)", "unexpected-token", (3, 4), "expected an operator");
        check_err("(a is 1)", "unexpected-token", (3, 5), "found `is`");
        check_err("(1a=1)", "unexpected-token", (1, 3), "expected a comparison");
        check_err("(a//b=1)", "invalid-path", (3, 4), "invalid field path");
        check_err("(a/=1)", "invalid-path", (3, 4), "invalid field path");
        check_err(r#"(a="x)"#, "unterminated-string", (3, 6), "expected closing `\"`");
        check_err(r#"(a="C:\temp")"#, "invalid-escape", (6, 8), "found `\\t`");
        check_err("(a='it\\\"s')", "invalid-escape", (6, 8), "expected `\\'`");
        check_err("", "empty-filter", (0, 0), "must not be empty");
        check_err("  ", "empty-filter", (0, 2), "must not be empty");
        check_err("()", "empty-filter", (0, 2), "must not be empty");
        check_err("(a=1) and ()", "unexpected-token", (11, 12), "expected a comparison");
        check_err("(a=1) and", "unexpected-end", (9, 9), "expected a comparison");
        check_err("(a=1) andy", "unexpected-token", (6, 10), "found `andy`");
        check_err("(a=<1)", "unexpected-token", (3, 4), "expected a value, found `<`");
        check_err("(é=1)", "unexpected-token", (1, 3), "found `é`");
        check_err("(cn=Smith(jr) and x=y)", "unquoted-paren", (9, 10), "`cn=\"Smith(jr)\"`");
        check_err("(cn LIKE (x%))", "unquoted-paren", (9, 10), "`cn LIKE \"(x%)\"`");
        check_err("(cn=a\\b(c d))", "unquoted-paren", (7, 8), r#"`cn="a\\b(c d)"`"#);
    }

    /// Keywords as path segments, in every operator form and letter case.
    #[test]
    fn keyword_path_rejected() {
        let check = |input: &str, span: (usize, usize), found: &str| {
            check_err(input, "keyword-path", span, &format!("found `{found}`"))
        };
        check("(not<now)", (1, 4), "not");
        check("(NOT<=now)", (1, 4), "NOT");
        check("(not > now)", (1, 4), "not");
        check("(nOt>=now)", (1, 4), "nOt");
        check("(not = 1)", (1, 4), "not");
        check("(not != 1)", (1, 4), "not");
        check("(not <> 1)", (1, 4), "not");
        check("(not/x = 1)", (1, 4), "not");
        check("(and lt now)", (1, 4), "and");
        check("(not lt now)", (1, 4), "not");
        check("(NOT like \"x\")", (1, 4), "NOT");
        check("(not ge)", (1, 4), "not");
        check("(Or=1)", (1, 3), "Or");
        check("(a/or=1)", (3, 5), "or");
        check("(a=1 and and=1)", (9, 12), "and");
        check("(a=1 or x/AND/y like z)", (10, 13), "AND");
        check("a=1 and not or=1", (12, 14), "or");
        // Negations of comparisons on fields named like word operators.
        self::check("(not lt lt now)", r#"Not(Lt(lt,"now"))"#);
        self::check("(not like = x)", r#"Not(Eq(like,"x"))"#);
    }

    /// The one-pass reader takes the common shapes, and gives the same
    /// tree as the grammar functions.
    #[test]
    fn simple_reader_takes() {
        let check = |input: &str, takes: bool| {
            let fast = simple(input);
            assert_eq!(fast.is_some(), takes, "{input:?}");
            if let Some(fast) = fast {
                let full = parse_full(input, 256).map_err(|e| e.to_string());
                assert_eq!(Ok(fast), full, "{input:?}");
            }
        };
        check("(hostname=PC1)", true);
        check(r#"(certificate/not-after lt "2024-09-22 00:00:00 UTC")"#, true);
        check("(hostname=PC1 or hostname=PC2 OR hostname = 'PC3')", true);
        check(" hostname LIKE 'PC%' and certificate/not-after ge now-7d ", true);
        check("(a=1 and b=2 or c=3 and d=4)", true);
        check(r#"a="x"and b=2"#, true);
        check("(a=\"日本\")", true);
        check("(a=日本)", false);
        check("(a=1\u{a0}and b=2)", false);
        check("not a=1", false);
        check("(not = 1)", false);
        check("(a=1) and (b=2)", false);
        check("(a=(1))", false);
        check(r#"(a="x\"y")"#, false);
        check("(a=1", false);
        check("(a=)", false);
        check("a=1 && b=2", false);
        check("(a lt5)", false);
        check("", false);
        check("()", false);
    }

    #[test]
    fn byte_classes_follow_the_predicates() {
        for b in 0u8..=255 {
            let c = char::from(b);
            let is_path = BYTE_CLASS[usize::from(b)] & PATH != 0;
            let is_bare = BYTE_CLASS[usize::from(b)] & BARE != 0;
            assert_eq!(is_path, b.is_ascii() && is_path_char(c), "{b}");
            assert_eq!(is_bare, b.is_ascii() && is_bare_char(c), "{b}");
        }
    }

    /// Whatever the one-pass reader takes, the grammar functions read to
    /// the same tree, spans included.
    fn agrees(input: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        if let Some(fast) = simple(input) {
            let full = parse_full(input, 256).map_err(|e| e.to_string());
            proptest::prop_assert_eq!(Ok(fast), full, "{:?}", input);
        }
        Ok(())
    }

    /// Text near the common shape: comparisons, joiners and parentheses,
    /// with the spellings and slips the reader must hand on.
    fn near_simple() -> impl proptest::strategy::Strategy<Value = String> {
        let term = r#"[a-zA-Z][a-zA-Z0-9_/-]{0,5} ?(=|==|!=|<>|<|<=|>|>=|=<|eq|LT|Like|lt5|not| ) ?("[^"\\]{0,4}"|'[a-z"\\ ]{0,3}'|[a-z0-9%é()=&|]{0,4})"#;
        let joiner = r#" ?(and|or|AND|oR|andy|not|&&|\x{a0}and) ?"#;
        let pattern = format!("[ (]{{0,2}}{term}({joiner}{term}){{0,3}}[ )]{{0,2}}");
        proptest::string::string_regex(&pattern).expect("valid pattern")
    }

    /// Text in the common shape, mostly valid.
    fn simple_shaped() -> impl proptest::strategy::Strategy<Value = String> {
        let term = r#"[a-zA-Z][a-zA-Z0-9_/-]{0,5}( ?(=|==|!=|<>|<|<=|>|>=) ?| (eq|LT|Like|ne|gE) )("[^"\\]{0,4}"|'[a-z "]{0,3}'|[a-z0-9%:.+-]{1,4})"#;
        let pattern = format!("[ (]{{0,1}}{term}( (and|or|AND|oR) {term}){{0,3}}[ )]{{0,2}}");
        proptest::string::string_regex(&pattern).expect("valid pattern")
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(2000))]

        #[test]
        fn simple_reader_agrees_on_common_shapes(input in simple_shaped()) {
            agrees(&input)?;
        }

        #[test]
        fn simple_reader_agrees_with_the_grammar(input in near_simple()) {
            agrees(&input)?;
        }

        #[test]
        fn simple_reader_agrees_on_any_text(input in r#"[ ()aAnNdDoOrRtT=!<>"'\\a-c0-9/%é\x{a0}-]{0,30}"#) {
            agrees(&input)?;
        }
    }

    #[test]
    fn depth_limit_counts_parens_and_not() {
        // The pair around the whole filter is free.
        let nested = |n: usize| format!("{}a=1{}", "(".repeat(n), ")".repeat(n));
        assert!(parse(&nested(257), 256).is_ok());
        let err = parse(&nested(258), 256).unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(257, 258)));
        let unclosed = |n: usize| format!("{}a=1", "(".repeat(n));
        let err = parse(&unclosed(257), 256).unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(256, 257)));

        let nots = |n: usize| format!("{}a=1", "not ".repeat(n));
        assert!(parse(&nots(256), 256).is_ok());
        let err = parse(&nots(257), 256).unwrap_err();
        assert_eq!((err.kind().code(), err.span()), ("nesting-too-deep", Span::new(1024, 1027)));
    }

    #[test]
    fn finds_the_group_around_everything() {
        let check = |input: &str, expected: Option<usize>| {
            assert_eq!(enclosing_group(input), expected, "{input}")
        };
        check("(a=1)", Some(0));
        check("  ((a=1)) ", Some(2));
        check("(a=1) and (b=2)", None);
        check("a=1", None);
        check(r#"(a=")")"#, Some(0));
        check(r#"(a="\")" and b=1)"#, Some(0));
        check(r#"(a="\\") and (b=1)"#, None);
        check("   ", None);
        check(r#"(a="x") and (b=")")"#, None);
        check("(a=1))", None);
        check("((a=1)", None);
    }

    #[test]
    fn spans_cover_nodes() {
        let input = r#"(a=1) and (b = "x\"y")"#;
        let Expr::And(terms, span) = parse(input, 256).unwrap() else { panic!() };
        assert_eq!(span, Span::new(0, input.len()));
        let Expr::Cmp(c) = &terms[1] else { panic!() };
        assert_eq!(
            (c.path_span, c.op_span, c.value.span),
            (Span::new(11, 12), Span::new(13, 14), Span::new(15, 21))
        );
        assert_eq!(c.value.text, "x\"y");
        // Offset 2 of the decoded text (`y`) is after the escape in the input.
        assert_eq!(c.value.input_offset(input, 2), 19);
    }
}
