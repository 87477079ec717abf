//! Errors: what went wrong, for which request, in one lowercase line.
//!
//! No message, `Debug` output or source chain ever holds the token: the
//! token lives only in a sensitive header value inside the client.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};

/// Most bytes of an unexpected body kept in [`Error::UnexpectedStatus`].
pub const BODY_KEEP: usize = 2 * 1024;
/// Most characters of a body shown in an error message.
const BODY_SHOW: usize = 200;

/// Something the caller gave is unusable; no request was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL is not an absolute `http` or `https` URL we can build on,
    /// e.g. `agents.example.com` (no scheme) or `ftp://host/`.
    #[error("invalid base url `{}`: {reason}", escape_controls(.input))]
    BaseUrl {
        /// The URL as given (never shown when it holds a password).
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// The base URL holds a user name or password, e.g. `https://u:p@host/`.
    #[error("base url must not hold a user name or password; give the token instead")]
    BaseUrlCredentials,
    /// The organisation id is empty or holds a character that cannot be a
    /// single path segment, e.g. `my/org`.
    #[error("invalid organisation id `{}`: {reason}", escape_controls(.input))]
    Org {
        /// The id as given.
        input: String,
        /// Why it was refused.
        reason: String,
    },
    /// The token is empty or only whitespace, e.g. `""` or `"\n"`.
    #[error("token is empty")]
    TokenEmpty,
    /// The token holds a control character, e.g. `"ab\ncd"`.
    #[error("token holds a control character at byte {position}")]
    TokenControl {
        /// Byte offset in the trimmed token.
        position: usize,
    },
    /// The token holds a character outside ASCII, e.g. `"abé"` or a
    /// leading no-break space (only ASCII whitespace is trimmed).
    #[error("token holds a non-ASCII character at byte {position}")]
    TokenNotAscii {
        /// Byte offset in the trimmed token.
        position: usize,
    },
    /// The token holds a space inside it, e.g. `"ab cd"`; a token never
    /// does, so this is a paste error.
    #[error("token holds a space at byte {position}")]
    TokenSpace {
        /// Byte offset in the trimmed token.
        position: usize,
    },
    /// The token starts with `Bearer `: the whole header value was given
    /// instead of the token alone.
    #[error("token starts with `Bearer `; give the token alone, without the scheme")]
    TokenScheme,
    /// A count or duration that must be positive is zero, e.g. concurrency 0.
    #[error("{setting} must be greater than zero")]
    Zero {
        /// The setting's name.
        setting: &'static str,
    },
    /// The CA bundle is not PEM or holds no certificate.
    #[error("invalid ca bundle: {reason}")]
    CaBundle {
        /// Why it was refused.
        reason: String,
    },
    /// An agent id is not a UUID, e.g. `*` or `PC1`.
    #[error(
        "invalid agent id `{}`: expected a uuid such as `1589a98a-66b3-11ee-80d5-4f584c6f672d`",
        escape_controls(.input)
    )]
    AgentId {
        /// The id as given.
        input: String,
    },
    /// The HTTP stack could not be set up.
    #[error("cannot set up the http client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

/// Why a redirect was not followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedirectRefusal {
    /// Commands (`POST`) never follow a redirect: a client would otherwise
    /// resend them elsewhere or silently turn them into a `GET`.
    Command,
    /// The target is another origin (scheme, host or port differ); the
    /// token must not travel there.
    CrossOrigin,
    /// More redirects than the configured limit.
    TooMany,
    /// The answer had no usable `Location` header.
    NoLocation,
}

impl fmt::Display for RedirectRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RedirectRefusal::Command => "commands never follow redirects",
            RedirectRefusal::CrossOrigin => "the token is never sent to another origin",
            RedirectRefusal::TooMany => "too many redirects",
            RedirectRefusal::NoLocation => "no usable `Location` header",
        })
    }
}

/// An error body the Platform sent as JSON: `{"message": ..., "help": ...}`.
///
/// The members are kept as sent; `Display` escapes control characters
/// (`\u{1b}`, `\n`), so server text never drives a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiMessage {
    /// What went wrong.
    pub message: String,
    /// What to do about it, when the server says.
    pub help: Option<String>,
}

impl ApiMessage {
    /// Reads a JSON error body; `None` when the body is not such an object.
    pub(crate) fn from_body(body: &[u8]) -> Option<ApiMessage> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        ApiMessage::from_value(&value)
    }

    /// Reads `message` and `help` from a JSON object.
    pub(crate) fn from_value(value: &serde_json::Value) -> Option<ApiMessage> {
        let object = value.as_object()?;
        let message = object.get("message")?.as_str()?.to_owned();
        let help = object.get("help").and_then(|h| h.as_str()).map(str::to_owned);
        Some(ApiMessage { message, help })
    }
}

impl fmt::Display for ApiMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape_controls(&self.message))?;
        if let Some(help) = &self.help {
            write!(f, " (help: {})", escape_controls(help))?;
        }
        Ok(())
    }
}

/// Coarse kinds of [`Error`], for a CLI to pick an exit code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// Bad configuration or input; nothing was sent.
    Usage,
    /// `401`: the token is missing, unknown or expired.
    Authentication,
    /// `403`: the token is valid but may not do this (e.g. read-only).
    Authorization,
    /// The Platform could not be reached or did not answer in time.
    Network,
    /// The Platform answered with an error status.
    Api,
    /// The Platform answered something this client cannot accept
    /// (undecodable body, refused redirect, endless paging).
    Protocol,
}

/// Everything that can go wrong talking to the Platform.
///
/// Messages name the method and path of the request, never the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Unusable configuration or input; no request was sent.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// The connection failed or broke: refused, reset, TLS, DNS.
    #[error("cannot reach the platform for `{method} {path}`: {detail}")]
    Transport {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The innermost cause, e.g. `connection refused`.
        detail: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The request or connection did not finish within its timeout.
    #[error("`{method} {path}` timed out after {after:?}")]
    Timeout {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The configured limit that ran out.
        after: Duration,
    },

    /// `401 Unauthorized`: the token is missing, unknown or expired.
    #[error("the platform did not accept the token for `{method} {path}` (401 unauthorized){}", suffix(.message))]
    Unauthenticated {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The server's explanation, when it sent JSON.
        message: Option<ApiMessage>,
    },

    /// `403 Forbidden`: the token may not do this, e.g. a read-only token
    /// running a command.
    #[error("the token may not `{method} {path}` (403 forbidden){}", suffix(.message))]
    Forbidden {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The server's explanation, when it sent JSON.
        message: Option<ApiMessage>,
    },

    /// Another error status with a JSON `{"message", "help"}` body, e.g.
    /// `400` for a filter the server refused or `404` for an unknown agent.
    #[error("`{method} {path}` failed with {}: {message}", status_text(*.status))]
    Api {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The status code.
        status: StatusCode,
        /// The server's explanation.
        message: ApiMessage,
    },

    /// A status this client does not expect, with a body that is not a JSON
    /// error (HTML, plain text, empty).
    #[error("`{method} {path}` answered {}{}", status_text(*.status), body_suffix(.body))]
    UnexpectedStatus {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The status code.
        status: StatusCode,
        /// The first 2 KiB of the body (cut at a character
        /// boundary, invalid UTF-8 replaced).
        body: String,
        /// Whether the body was longer than what is kept.
        truncated: bool,
    },

    /// A redirect that was not followed.
    #[error("`{method} {path}` answered {} with location `{}`, not followed: {refusal}", status_text(*.status), escape_controls(.location))]
    Redirect {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The redirect status code.
        status: StatusCode,
        /// The `Location` header as sent (empty when missing).
        location: String,
        /// Why it was not followed.
        refusal: RedirectRefusal,
    },

    /// A success answer whose body is not what the API promises.
    #[error("cannot decode the answer to `{method} {path}`: {source}; body starts `{snippet}`")]
    Decode {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The start of the body, on one line.
        snippet: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },

    /// The answer was larger than the configured limit.
    #[error("the answer to `{method} {path}` is larger than {limit} bytes")]
    BodyTooLarge {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The limit.
        limit: usize,
    },

    /// A many-id command skipped this id: an earlier request of the same
    /// command was refused with `401` or `403`, so this one was not sent.
    #[error("`{method} {path}` not sent: an earlier request was refused with {}", status_text(*.refused))]
    NotSent {
        /// Request method.
        method: Method,
        /// Request path (without the query).
        path: String,
        /// The status that refused the earlier request.
        refused: StatusCode,
    },

    /// A listing that does not end: the server returned the same page
    /// again (it ignores `offset`) or more pages than the configured limit.
    #[error("listing `{path}` stopped at page {page}: {reason}")]
    Paging {
        /// Request path (without the query).
        path: String,
        /// The page number (`offset`) at which listing stopped.
        page: u64,
        /// Why.
        reason: &'static str,
    },
}

impl Error {
    /// The coarse kind of this error, for exit codes.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Config(_) => ErrorClass::Usage,
            Error::Transport { .. } | Error::Timeout { .. } => ErrorClass::Network,
            Error::Unauthenticated { .. } => ErrorClass::Authentication,
            Error::Forbidden { .. } => ErrorClass::Authorization,
            Error::NotSent { refused, .. } if *refused == StatusCode::FORBIDDEN => {
                ErrorClass::Authorization
            }
            Error::NotSent { .. } => ErrorClass::Authentication,
            Error::Api { .. } | Error::UnexpectedStatus { .. } => ErrorClass::Api,
            Error::Redirect { .. }
            | Error::Decode { .. }
            | Error::BodyTooLarge { .. }
            | Error::Paging { .. } => ErrorClass::Protocol,
        }
    }

    /// Whether the token was refused (`401`) or lacks the right (`403`).
    pub fn is_auth(&self) -> bool {
        matches!(self.class(), ErrorClass::Authentication | ErrorClass::Authorization)
    }

    /// The HTTP status the server answered with, when there was one; for
    /// [`Error::NotSent`], the status that refused the earlier request.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Error::Unauthenticated { .. } => Some(StatusCode::UNAUTHORIZED),
            Error::Forbidden { .. } => Some(StatusCode::FORBIDDEN),
            Error::Api { status, .. }
            | Error::UnexpectedStatus { status, .. }
            | Error::Redirect { status, .. } => Some(*status),
            Error::NotSent { refused, .. } => Some(*refused),
            _ => None,
        }
    }
}

/// `404 not found`, lower-cased for messages.
fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {}", status.as_u16(), reason.to_ascii_lowercase()),
        None => status.as_u16().to_string(),
    }
}

fn suffix(message: &Option<ApiMessage>) -> String {
    message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
}

fn body_suffix(body: &str) -> String {
    let line = one_line(body, BODY_SHOW);
    if line.is_empty() { " with an empty body".to_owned() } else { format!(": {line}") }
}

/// `text` with every control character (C0, DEL, C1) written as its Rust
/// escape (`\u{1b}`, `\n`), so server-supplied text in a message can never
/// move the cursor, recolour or clear a terminal, or start a new line.
/// Everything else, non-ASCII included, is kept.
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The body cut to `max` characters, whitespace runs folded to single
/// spaces and other control characters escaped (`\u{1b}`), so it fits in a
/// one-line message and holds no terminal escape sequence.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for (count, c) in text.chars().enumerate() {
        if count >= max {
            out.push('…');
            break;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first `max` bytes of `body` as text, cut at a character boundary,
/// and whether anything was cut.
pub(crate) fn keep_prefix(body: &[u8], max: usize) -> (String, bool) {
    let text = String::from_utf8_lossy(body);
    if text.len() <= max {
        return (text.into_owned(), false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (text[..end].to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_prefix(body: &[u8], max: usize, expected: (&str, bool)) {
        let (text, cut) = keep_prefix(body, max);
        assert_eq!((text.as_str(), cut), expected, "body {body:?}");
    }

    #[test]
    fn prefixes() {
        check_prefix(b"", 4, ("", false));
        check_prefix(b"abcd", 4, ("abcd", false));
        check_prefix(b"abcde", 4, ("abcd", true));
        check_prefix("abcé".as_bytes(), 4, ("abc", true));
        check_prefix("ééé".as_bytes(), 3, ("é", true));
        check_prefix(b"ab\xffcd", 8, ("ab\u{fffd}cd", false));
    }

    fn check_line(text: &str, max: usize, expected: &str) {
        assert_eq!(one_line(text, max), expected, "text {text:?}");
    }

    #[test]
    fn one_lines() {
        check_line("", 10, "");
        check_line("  \n ", 10, "");
        check_line("<html>\n  <body>x</body>\n</html>\n", 100, "<html> <body>x</body> </html>");
        check_line("abcdef", 3, "abc…");
        check_line("a\u{1b}[31mred\u{7}\r\nb", 100, "a\\u{1b}[31mred\\u{7} b");
        check_line("\u{9b}2J\u{0}", 100, "\\u{9b}2J\\u{0}");
    }

    fn check_escape(text: &str, expected: &str) {
        assert_eq!(escape_controls(text), expected, "text {text:?}");
    }

    #[test]
    fn escapes() {
        check_escape("", "");
        check_escape("plain é 日本", "plain é 日本");
        check_escape("bad \u{1b}[31mfilter", "bad \\u{1b}[31mfilter");
        check_escape("a\nb\tc\rd", "a\\nb\\tc\\rd");
        check_escape("\u{1b}]0;PWNED\u{7}", "\\u{1b}]0;PWNED\\u{7}");
        check_escape("\u{7f}\u{85}\u{9b}", "\\u{7f}\\u{85}\\u{9b}");
    }

    fn check_api(body: &str, expected: Option<(&str, Option<&str>)>) {
        let got = ApiMessage::from_body(body.as_bytes());
        let got = got.as_ref().map(|m| (m.message.as_str(), m.help.as_deref()));
        assert_eq!(got, expected, "body {body:?}");
    }

    #[test]
    fn api_messages() {
        check_api(
            r#"{"message":"bad filter","help":"see docs"}"#,
            Some(("bad filter", Some("see docs"))),
        );
        check_api(r#"{"message":"bad filter"}"#, Some(("bad filter", None)));
        check_api(r#"{"error":"x"}"#, None);
        check_api("<html>oops</html>", None);
        check_api("", None);
        check_api("[1]", None);
    }
}
