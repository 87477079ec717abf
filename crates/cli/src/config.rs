//! Connection settings: flags, then the environment, then a profile.
//!
//! The configuration file is TOML:
//!
//! ```toml
//! default_profile = "prod"
//!
//! [profiles.prod]
//! url = "https://agents.example.com"
//! org = "acme"
//! token_file = "/home/me/.config/nxagents/prod.token"
//! ca_bundle = "/etc/ssl/private-platform-ca.pem"   # optional
//! ```
//!
//! A token is never read from the command line or from the file itself,
//! only from `NXLOG_TOKEN`, `--token-file`, `--token-stdin` or a profile's
//! `token_file`.
//!
//! A profile's `token_file` and `ca_bundle` may be relative: they are read
//! relative to the directory of the configuration file, not the current
//! directory; a leading `~/` stands for the home directory. Errors in the
//! file name its line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tracing::debug;

use crate::cli::Global;
use crate::error::{Failure, Result};

/// The environment a run sees; tests fill it by hand.
pub trait Env {
    /// The value of a variable, if set and valid UTF-8.
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Profile used when neither `--profile` nor `NXLOG_PROFILE` names one.
    pub default_profile: Option<String>,
    /// Named profiles.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
}

/// One profile of the configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Base URL of the agents service.
    pub url: Option<String>,
    /// Organisation id.
    pub org: Option<String>,
    /// File holding the token.
    pub token_file: Option<PathBuf>,
    /// PEM file of extra CA certificates to trust.
    pub ca_bundle: Option<PathBuf>,
    /// Where the profile comes from, for messages: ``profile `p` in `FILE` ``.
    #[serde(skip)]
    pub origin: Option<String>,
}

/// The API token; its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// Checks a token read from `source`: not empty, visible ASCII only.
    pub fn new(raw: &str, source: &str) -> Result<Token> {
        let token = raw.trim();
        if token.is_empty() {
            return Err(Failure::usage(format!("token is empty (read from {source})")));
        }
        if let Some(bad) = token.chars().find(|c| !c.is_ascii_graphic()) {
            let what = if bad.is_whitespace() { "whitespace" } else { "a character" };
            return Err(Failure::usage(format!(
                "token from {source} contains {what} that cannot go in an HTTP header"
            )));
        }
        Ok(Token(token.to_owned()))
    }

    /// The secret itself, for the HTTP client only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

/// Everything needed to reach the server.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Base URL, e.g. `https://agents.example.com`.
    pub url: String,
    /// Organisation id.
    pub org: String,
    /// The token.
    pub token: Token,
    /// PEM file of extra CA certificates to trust.
    pub ca_bundle: Option<PathBuf>,
}

/// The message for someone who typed `--token`.
pub const TOKEN_FLAG_REFUSED: &str = "`--token` is refused: a token on the command line is \
visible in the process list and shell history; use the `NXLOG_TOKEN` environment variable, \
`--token-file FILE` or `--token-stdin`";

/// Resolves the connection from flags, environment and configuration file.
pub fn resolve(global: &Global, env: &dyn Env) -> Result<Connection> {
    let profile = load_profile(global, env)?;

    let url = pick("url", global.url.clone(), env, "NXLOG_URL", &profile, profile.url.clone());
    let org = pick("org", global.org.clone(), env, "NXLOG_ORG", &profile, profile.org.clone());
    let (url, url_source) = url.ok_or_else(|| {
        Failure::usage("no server URL: pass `--url`, set `NXLOG_URL` or use a profile")
    })?;
    let (org, org_source) = org.ok_or_else(|| {
        Failure::usage("no organisation: pass `--org`, set `NXLOG_ORG` or use a profile")
    })?;
    if url.trim().is_empty() {
        return Err(Failure::usage(format!(
            "server URL is empty (from {url_source}); expected a URL such as \
             `https://agents.example.com`"
        )));
    }
    if org.trim().is_empty() {
        return Err(Failure::usage(format!("organisation is empty (from {org_source})")));
    }

    let ca_bundle = global
        .ca_bundle
        .clone()
        .or_else(|| env.var("NXLOG_CA_BUNDLE").map(PathBuf::from))
        .or_else(|| profile.ca_bundle.clone());
    let token = read_token(global, env, &profile)?;
    Ok(Connection { url, org, token, ca_bundle })
}

/// Picks the first of flag, environment variable and profile value, with
/// where it came from (for messages).
fn pick(
    what: &str,
    flag: Option<String>,
    env: &dyn Env,
    var: &str,
    profile: &Profile,
    value: Option<String>,
) -> Option<(String, String)> {
    if let Some(value) = flag {
        debug!("{what} taken from `--{what}`");
        return Some((value, format!("`--{what}`")));
    }
    if let Some(value) = env.var(var) {
        debug!("{what} taken from `{var}`");
        return Some((value, format!("`{var}`")));
    }
    let value = value?;
    debug!("{what} taken from the profile");
    let origin = profile.origin.clone().unwrap_or_else(|| "the profile".to_owned());
    Some((value, format!("`{what}` of the {origin}")))
}

/// The token, from the first source that is set.
fn read_token(global: &Global, env: &dyn Env, profile: &Profile) -> Result<Token> {
    if let Some(path) = &global.token_file {
        debug!("token read from `--token-file {}`", path.display());
        return Token::new(&read_token_file(path)?, "`--token-file`");
    }
    if global.token_stdin {
        debug!("token read from standard input");
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::unexpected(format!("cannot read the token from stdin: {e}")))?;
        return Token::new(&line, "standard input");
    }
    if let Some(value) = env.var("NXLOG_TOKEN") {
        debug!("token read from `NXLOG_TOKEN`");
        return Token::new(&value, "`NXLOG_TOKEN`");
    }
    if let Some(path) = &profile.token_file {
        debug!("token read from the profile's token file `{}`", path.display());
        return Token::new(&read_token_file(path)?, "the profile's `token_file`");
    }
    Err(Failure::usage(
        "no token: set `NXLOG_TOKEN`, pass `--token-file FILE` or `--token-stdin`, \
         or give the profile a `token_file`",
    ))
}

fn read_token_file(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| {
        Failure::usage(format!("cannot read the token file `{}`: {e}", path.display()))
    })
}

/// The profile in force, or an empty one when there is none.
fn load_profile(global: &Global, env: &dyn Env) -> Result<Profile> {
    let explicit_file = global.config.clone();
    let path = explicit_file.clone().or_else(default_config_path);
    let requested = global.profile.clone().or_else(|| env.var("NXLOG_PROFILE"));

    let Some(path) = path else {
        return match requested {
            Some(name) => Err(Failure::usage(format!(
                "profile `{name}` requested but no configuration directory is known; \
                 pass `--config FILE`"
            ))),
            None => Ok(Profile::default()),
        };
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit_file.is_none() => {
            if let Some(name) = requested {
                return Err(Failure::usage(format!(
                    "profile `{name}` requested but `{}` does not exist",
                    path.display()
                )));
            }
            return Ok(Profile::default());
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read the configuration file `{}`: {e}",
                path.display()
            )));
        }
    };
    let mut file = parse_config(&text, &path)?;
    debug!("configuration read from `{}`", path.display());

    let Some(name) = requested.or_else(|| file.default_profile.clone()) else {
        return Ok(Profile::default());
    };
    let mut profile = file.profiles.remove(&name).ok_or_else(|| {
        let known: Vec<String> = file.profiles.keys().map(|k| format!("`{k}`")).collect();
        let known = if known.is_empty() { "none".to_owned() } else { known.join(", ") };
        Failure::usage(format!(
            "unknown profile `{name}` in `{}` (profiles: {known})",
            path.display()
        ))
    })?;
    debug!("using profile `{name}`");
    let origin = format!("profile `{name}` in `{}`", path.display());
    let dir = config_dir_of(&path);
    let home = dirs::home_dir();
    let locate = |key: &str, value: Option<PathBuf>| {
        value.map(|p| profile_path(&p, &dir, home.as_deref(), key, &origin)).transpose()
    };
    profile.token_file = locate("token_file", profile.token_file.take())?;
    profile.ca_bundle = locate("ca_bundle", profile.ca_bundle.take())?;
    profile.origin = Some(origin);
    Ok(profile)
}

/// The directory a configuration file's relative paths are read from: the
/// file's own, made absolute so messages name the path actually tried.
fn config_dir_of(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    absolute.parent().map(Path::to_path_buf).unwrap_or_default()
}

/// A path from a profile: `~` and a leading `~/` stand for `home`; other
/// relative paths are relative to `dir`, the configuration file's
/// directory; absolute paths are kept.
pub fn profile_path(
    value: &Path,
    dir: &Path,
    home: Option<&Path>,
    key: &str,
    origin: &str,
) -> Result<PathBuf> {
    let text = value.to_string_lossy();
    let rest = match text.as_ref() {
        "~" => Some(""),
        t => t.strip_prefix("~/"),
    };
    if let Some(rest) = rest {
        let home = home.ok_or_else(|| {
            Failure::usage(format!(
                "cannot expand `~` in `{key}` of the {origin}: no home directory is known; \
                 write the full path"
            ))
        })?;
        return Ok(home.join(rest));
    }
    if text.starts_with('~') {
        return Err(Failure::usage(format!(
            "`{key}` of the {origin} starts with `{}`: only `~/` (your own home) is \
             expanded; write the full path",
            text.split('/').next().unwrap_or_default()
        )));
    }
    Ok(dir.join(value))
}

/// Parses the configuration file. An error names the line and column it
/// is at, gives the reason on one line, and has a pointed hint for a
/// `token` key.
pub fn parse_config(text: &str, path: &Path) -> Result<ConfigFile> {
    toml::from_str(text).map_err(|e| {
        let lines: Vec<&str> =
            e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let message = match lines.join("; ") {
            m if m.is_empty() => "expected a value, found the end of the line".to_owned(),
            m => m,
        };
        let hint = if message.contains("unknown field `token`") {
            "; store the token in a file and name it with `token_file`"
        } else {
            ""
        };
        let position = e.span().map_or_else(String::new, |span| {
            let (line, column) = line_column(text, span.start);
            format!(" line {line} column {column}")
        });
        Failure::usage(format!(
            "invalid configuration file `{}`{position}: {message}{hint}",
            path.display()
        ))
    })
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

fn default_config_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("nxagents").join("config.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_token(raw: &str, expect: Result<&str, &str>) {
        let got = Token::new(raw, "`NXLOG_TOKEN`");
        match (got, expect) {
            (Ok(token), Ok(want)) => assert_eq!(token.expose(), want),
            (Err(e), Err(want)) => assert_eq!(e.message, want),
            (got, want) => panic!("{raw:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn tokens() {
        check_token("abc", Ok("abc"));
        check_token("abc\n", Ok("abc"));
        check_token("-Xk3abc", Ok("-Xk3abc"));
        check_token("", Err("token is empty (read from `NXLOG_TOKEN`)"));
        check_token("  \t\n", Err("token is empty (read from `NXLOG_TOKEN`)"));
        check_token(
            "ab c",
            Err("token from `NXLOG_TOKEN` contains whitespace that cannot go in an HTTP header"),
        );
    }

    #[test]
    fn token_debug_is_redacted() {
        let token = Token::new("secret-value", "test").unwrap();
        assert_eq!(format!("{token:?}"), "Token(***)");
    }

    fn check_config(text: &str, expect: Result<&[&str], &str>) {
        let got = parse_config(text, Path::new("c.toml"));
        match (got, expect) {
            (Ok(file), Ok(names)) => {
                assert_eq!(file.profiles.keys().map(String::as_str).collect::<Vec<_>>(), names)
            }
            (Err(e), Err(want)) => assert!(e.message.contains(want), "{}", e.message),
            (got, want) => panic!("{text:?}: got {got:?}, want {want:?}"),
        }
    }

    /// A fixed environment.
    struct MapEnv(&'static [(&'static str, &'static str)]);

    impl Env for MapEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        }
    }

    /// Resolves `args` (global flags) against `env` and a configuration
    /// file with profiles `a` (the default) and `b`.
    fn check_resolve(
        args: &[&str],
        env: &'static [(&'static str, &'static str)],
        expect: Result<(&str, &str, &str), &str>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let token_a = dir.path().join("a.token");
        std::fs::write(&token_a, "token-a\n").unwrap();
        let config = dir.path().join("config.toml");
        let text = format!(
            "default_profile = \"a\"\n[profiles.a]\nurl = \"https://a.example\"\norg = \"org-a\"\n\
             token_file = \"{}\"\n[profiles.b]\nurl = \"https://b.example\"\n",
            token_a.display()
        );
        std::fs::write(&config, text).unwrap();

        let mut argv = vec!["nxagents", "--config", config.to_str().unwrap()];
        argv.extend_from_slice(args);
        argv.extend_from_slice(&["agents", "list"]);
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(&argv).unwrap();
        match (resolve(&cli.global, &MapEnv(env)), expect) {
            (Ok(c), Ok((url, org, token))) => {
                assert_eq!((c.url.as_str(), c.org.as_str(), c.token.expose()), (url, org, token))
            }
            (Err(e), Err(want)) => assert!(e.message.contains(want), "{args:?}: {}", e.message),
            (got, want) => panic!("{args:?} {env:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn precedence() {
        check_resolve(&[], &[], Ok(("https://a.example", "org-a", "token-a")));
        check_resolve(
            &["--url", "https://flag"],
            &[("NXLOG_URL", "https://env")],
            Ok(("https://flag", "org-a", "token-a")),
        );
        check_resolve(
            &[],
            &[("NXLOG_URL", "https://env"), ("NXLOG_TOKEN", "t-env")],
            Ok(("https://env", "org-a", "t-env")),
        );
        check_resolve(
            &["--profile", "b"],
            &[("NXLOG_ORG", "o"), ("NXLOG_TOKEN", "t")],
            Ok(("https://b.example", "o", "t")),
        );
        check_resolve(
            &[],
            &[("NXLOG_PROFILE", "b"), ("NXLOG_ORG", "o"), ("NXLOG_TOKEN", "t")],
            Ok(("https://b.example", "o", "t")),
        );
        check_resolve(&["--profile", "b"], &[("NXLOG_TOKEN", "t")], Err("no organisation"));
        check_resolve(&["--profile", "b"], &[("NXLOG_ORG", "o")], Err("no token"));
        check_resolve(&["--profile", "c"], &[], Err("unknown profile `c`"));
        check_resolve(&[], &[("NXLOG_TOKEN", " ")], Err("token is empty"));
    }

    #[test]
    fn config_files() {
        check_config("", Ok(&[]));
        check_config(
            "[profiles.a]\nurl = \"http://x\"\n[profiles.b]\norg = \"o\"\n",
            Ok(&["a", "b"]),
        );
        check_config("[profiles.a]\ntoken = \"s\"\n", Err("name it with `token_file`"));
        check_config("colour = 1\n", Err("c.toml` line 1 column 1: unknown field `colour`"));
        check_config("[profiles.a]\nurl = \n", Err("line 2 column 7: invalid string"));
        check_config(
            "[profiles.a]\norg = \"o\"\n[profiles.a]\n",
            Err("line 3 column 1: invalid table header; duplicate key `a` in table `profiles`"),
        );
        check_config("[profiles.a]\nurl = \"\u{e9}\" x\n", Err("line 2 column 11: "));
    }

    fn check_path(value: &str, home: Option<&str>, expect: Result<&str, &str>) {
        let got = profile_path(
            Path::new(value),
            Path::new("/etc/nx"),
            home.map(Path::new),
            "token_file",
            "p",
        );
        match (got, expect) {
            (Ok(path), Ok(want)) => assert_eq!(path, Path::new(want), "{value:?}"),
            (Err(e), Err(want)) => assert!(e.message.contains(want), "{value:?}: {}", e.message),
            (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn profile_paths_are_relative_to_the_configuration_file() {
        check_path("prod.token", Some("/home/me"), Ok("/etc/nx/prod.token"));
        check_path("sub/prod.token", Some("/home/me"), Ok("/etc/nx/sub/prod.token"));
        check_path("/abs/prod.token", Some("/home/me"), Ok("/abs/prod.token"));
        check_path("~/nx/prod.token", Some("/home/me"), Ok("/home/me/nx/prod.token"));
        check_path("~", Some("/home/me"), Ok("/home/me"));
        check_path("~/x", None, Err("cannot expand `~` in `token_file` of the p"));
        check_path("~bob/x", Some("/home/me"), Err("starts with `~bob`: only `~/`"));
    }
}
