//! Percent-encoding a filter for a query string, and decoding the
//! form-encoded spelling seen in URLs.

use crate::{Error, ErrorKind, Span};

/// Percent-encodes `text` for a query-string value, exactly once.
///
/// Every byte outside `A-Z a-z 0-9 - . _ ~` becomes `%XX` (upper-case
/// hex): a space is `%20`, which every decoder reads as a space, and a
/// `+` is `%2B`, because form decoding would read a raw `+` as a space.
///
/// ```
/// use nxlog_filter::encode_query_value;
///
/// assert_eq!(encode_query_value(r#"(q="a+b&c=d")"#), "%28q%3D%22a%2Bb%26c%3Dd%22%29");
/// ```
pub fn encode_query_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    push_encoded(&mut out, text);
    out
}

/// Appends `text` to `out`, percent-encoded as [`encode_query_value`]
/// does.
pub(crate) fn push_encoded(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.reserve(text.len() * 3);
    for &b in text.as_bytes() {
        let is_unreserved = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~');
        if is_unreserved {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xF)]));
        }
    }
}

/// A sink for printed text that percent-encodes it on the way into a
/// string, so a filter is encoded without printing it first.
pub(crate) struct Encoder<'a>(pub(crate) &'a mut String);

impl std::fmt::Write for Encoder<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        push_encoded(self.0, text);
        Ok(())
    }
}

/// Decodes form encoding: `+` is a space and `%XX` a byte.
///
/// A bad `%` sequence or bytes that are not UTF-8 are an error with a
/// span in `input` (the encoded text).
pub(crate) fn decode_form(input: &str) -> Result<String, Error> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    // Where each decoded byte came from, to point at bad UTF-8.
    let mut origins = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        origins.push(i);
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                let Some(hex) = hex else {
                    let end = (i + 3).min(bytes.len());
                    let found = String::from_utf8_lossy(&bytes[i..end]).into_owned();
                    let message = format!("expected `%` and two hex digits, found `{found}`");
                    let kind = ErrorKind::InvalidFormEncoding { message };
                    return Err(Error::new(kind, Span::new(i, end), input));
                };
                out.push(hex_value(hex[0]) << 4 | hex_value(hex[1]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        let at = origins[e.utf8_error().valid_up_to()];
        let len = if bytes[at] == b'%' { 3 } else { 1 };
        let message = "expected the decoded bytes to be utf-8, found invalid bytes".to_string();
        let kind = ErrorKind::InvalidFormEncoding { message };
        Error::new(kind, Span::new(at, at + len), input)
    })
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_exactly_once() {
        let check = |input: &str, expected: &str| assert_eq!(encode_query_value(input), expected);
        check("", "");
        check("AZaz09-._~", "AZaz09-._~");
        check(" ", "%20");
        check("+", "%2B");
        check("%", "%25");
        check("%20", "%2520");
        check("#&=/", "%23%26%3D%2F");
        check("é", "%C3%A9");
    }

    #[test]
    fn decodes_form() {
        let check = |input: &str, expected: &str| assert_eq!(decode_form(input).unwrap(), expected);
        check("a+b", "a b");
        check("%28a%3d1%29", "(a=1)");
        check("%2B", "+");
        check("%C3%A9", "é");
        check("plain", "plain");
    }

    #[test]
    fn rejects_bad_form_encoding() {
        let check = |input: &str, span: (usize, usize)| {
            let err = decode_form(input).unwrap_err();
            assert_eq!(
                (err.kind().code(), (err.span().start, err.span().end)),
                ("invalid-form-encoding", span),
                "{input}"
            );
        };
        check("a%G1", (1, 4));
        check("a%1", (1, 3));
        check("a%", (1, 2));
        check("%+1", (0, 3));
        check("%FF", (0, 3));
    }
}
