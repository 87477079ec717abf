//! Failures of a run and the exit codes they map to.

use std::fmt;

/// The documented exit codes (see [`crate::cli::EXIT_CODES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked, including when nothing matched.
    Success,
    /// Network, server or local failure nobody asked for.
    Unexpected,
    /// The command line or the filter is wrong.
    Usage,
    /// The run finished but some agents failed.
    SomeFailed,
    /// The server refused the token (401) or its role (403).
    Auth,
    /// Nothing matched under `--fail-on-empty`.
    NothingMatched,
    /// Ctrl-C.
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Unexpected => 1,
            Exit::Usage => 2,
            Exit::SomeFailed => 3,
            Exit::Auth => 4,
            Exit::NothingMatched => 5,
            Exit::Interrupted => 130,
        }
    }
}

/// Every `kind` a failure can have, as documented in the README.
pub const KINDS: &[&str] = &[
    "usage",
    "empty-filter",
    "invalid-filter",
    "refused",
    "declined",
    "auth",
    "network",
    "api",
    "protocol",
    "unexpected",
    "interrupted",
];

/// Why a run stopped short of success: an exit code, a one-line message and
/// optional extra text (a caret diagnostic, a hint).
#[derive(Debug)]
pub struct Failure {
    /// The exit code this failure maps to.
    pub exit: Exit,
    /// A stable kind for JSON output, one of [`KINDS`]; the same word on
    /// stderr and in the report.
    pub kind: &'static str,
    /// For `invalid-filter`: the filter's own error code, e.g.
    /// `unexpected-end` (the same on stderr and in the report).
    pub code: Option<&'static str>,
    /// One lowercase line.
    pub message: String,
    /// Extra lines shown after the message in text mode (a rendered
    /// diagnostic or a hint).
    pub detail: Option<String>,
    /// Replaces the default `{"error": {...}}` object in JSON mode.
    pub json: Option<serde_json::Value>,
    /// Set when the failure has already been shown to the user.
    pub shown: bool,
}

impl Failure {
    /// A failure with an exit code, a kind and a message.
    pub fn new(exit: Exit, kind: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(KINDS.contains(&kind), "undocumented failure kind `{kind}`");
        Failure {
            exit,
            kind,
            code: None,
            message: message.into(),
            detail: None,
            json: None,
            shown: false,
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure::new(Exit::Usage, "usage", message)
    }

    /// An unexpected error (exit 1).
    pub fn unexpected(message: impl Into<String>) -> Self {
        Failure::new(Exit::Unexpected, "unexpected", message)
    }

    /// Adds lines shown below the message.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The JSON object printed on stderr in JSON mode.
    pub fn to_json(&self) -> serde_json::Value {
        if let Some(json) = &self.json {
            return json.clone();
        }
        let mut error = serde_json::json!({
            "kind": self.kind,
            "message": self.message,
            "exit_code": self.exit.code(),
        });
        if let Some(code) = &self.code {
            error["code"] = (*code).into();
        }
        serde_json::json!({ "error": error })
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The result of a command.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind is in the README's table, and the table has no other.
    #[test]
    fn kinds_are_documented() {
        let readme = include_str!("../README.md");
        let documented: Vec<&str> = readme
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split_once("` | "))
            .filter(|(_, rest)| {
                rest.split(" | ").next().is_some_and(|exit| exit.parse::<u8>().is_ok())
            })
            .map(|(kind, _)| kind)
            .collect();
        assert_eq!(documented, KINDS, "the README's table of kinds");
    }
}
