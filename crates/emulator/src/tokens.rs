//! Bearer tokens and their roles, from a small text file or the defaults.

use std::collections::HashMap;

use crate::Error;

/// The read-write token accepted when no tokens are configured.
pub const DEFAULT_RW_TOKEN: &str = "demo-rw-token";
/// The read-only token accepted when no tokens are configured.
pub const DEFAULT_RO_TOKEN: &str = "demo-ro-token";

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Reads and commands (`POST`).
    ReadWrite,
    /// Reads only; commands answer `403`.
    ReadOnly,
}

/// The set of known tokens.
#[derive(Clone, Debug, Default)]
pub(crate) struct Tokens {
    map: HashMap<String, Role>,
}

impl Tokens {
    pub(crate) fn defaults() -> Tokens {
        let mut tokens = Tokens::default();
        tokens.insert(DEFAULT_RW_TOKEN.to_string(), Role::ReadWrite);
        tokens.insert(DEFAULT_RO_TOKEN.to_string(), Role::ReadOnly);
        tokens
    }

    pub(crate) fn insert(&mut self, token: String, role: Role) {
        self.map.insert(token, role);
    }

    pub(crate) fn into_pairs(self) -> impl Iterator<Item = (String, Role)> {
        self.map.into_iter()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn role(&self, token: &str) -> Option<Role> {
        self.map.get(token).copied()
    }

    /// Parses the tokens file: one `TOKEN rw|ro` per line, `#` comments and
    /// blank lines ignored.
    pub(crate) fn parse(path: &str, text: &str) -> Result<Tokens, Error> {
        let mut tokens = Tokens::default();
        for (index, line) in text.lines().enumerate() {
            let fail = |message: String| Error::Tokens {
                path: path.to_string(),
                line: index + 1,
                message,
            };
            let line = line.trim_matches(|c: char| c.is_ascii_whitespace());
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // Clients send tokens in a header, which holds visible ASCII; a
            // byte order mark, a no-break space or `ö` could never match.
            if let Some((at, c)) =
                line.char_indices().find(|(_, c)| !c.is_ascii_graphic() && *c != ' ' && *c != '\t')
            {
                let what = if c == '\u{feff}' { " (a byte order mark)" } else { "" };
                return Err(fail(format!(
                    "expected visible ASCII characters, found U+{:04X}{what} at column {}",
                    u32::from(c),
                    line[..at].chars().count() + 1
                )));
            }

            let mut words = line.split_ascii_whitespace();
            let (Some(token), role, extra) = (words.next(), words.next(), words.next()) else {
                continue;
            };
            let role = match role {
                Some("rw") => Role::ReadWrite,
                Some("ro") => Role::ReadOnly,
                Some(other) => return Err(fail(format!("expected `rw` or `ro`, found `{other}`"))),
                None => {
                    return Err(fail(
                        "expected `rw` or `ro` after the token, found end of line".into(),
                    ));
                }
            };
            if let Some(extra) = extra {
                return Err(fail(format!("expected end of line, found `{extra}`")));
            }
            if tokens.map.insert(token.to_string(), role).is_some() {
                return Err(fail("the same token is listed twice".into()));
            }
        }
        if tokens.is_empty() {
            return Err(Error::Tokens {
                path: path.to_string(),
                line: 0,
                message: "no tokens in file".into(),
            });
        }
        Ok(tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, expected: Result<&[(&str, Role)], &str>) {
        match (Tokens::parse("t.txt", text), expected) {
            (Ok(tokens), Ok(pairs)) => {
                assert_eq!(tokens.map.len(), pairs.len());
                for (token, role) in pairs {
                    assert_eq!(tokens.role(token), Some(*role), "{token}");
                }
            }
            (Err(e), Err(message)) => assert_eq!(e.to_string(), message),
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn token_files() {
        use Role::*;
        check("a rw\nb ro\n", Ok(&[("a", ReadWrite), ("b", ReadOnly)]));
        check("# admins\n\n  a   rw  \n", Ok(&[("a", ReadWrite)]));
        check("a rx\n", Err("tokens file `t.txt` line 1: expected `rw` or `ro`, found `rx`"));
        check(
            "\na\n",
            Err(
                "tokens file `t.txt` line 2: expected `rw` or `ro` after the token, found end of line",
            ),
        );
        check("a rw x\n", Err("tokens file `t.txt` line 1: expected end of line, found `x`"));
        check("a rw\na ro\n", Err("tokens file `t.txt` line 2: the same token is listed twice"));
        check("# none\n", Err("tokens file `t.txt`: no tokens in file"));
        check(
            "\u{feff}a rw\n",
            Err(
                "tokens file `t.txt` line 1: expected visible ASCII characters, found U+FEFF (a byte order mark) at column 1",
            ),
        );
        check(
            "a rw\nt\u{f6}k rw\n",
            Err(
                "tokens file `t.txt` line 2: expected visible ASCII characters, found U+00F6 at column 2",
            ),
        );
        check(
            "a\u{a0}b rw\n",
            Err(
                "tokens file `t.txt` line 1: expected visible ASCII characters, found U+00A0 at column 2",
            ),
        );
        check(
            "a\x7fb rw\n",
            Err(
                "tokens file `t.txt` line 1: expected visible ASCII characters, found U+007F at column 2",
            ),
        );
        check("a\trw\r\n", Ok(&[("a", ReadWrite)]));
    }
}
