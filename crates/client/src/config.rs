//! Client configuration: where the Platform is, who we are and how patient to be.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::endpoint::Endpoints;
use crate::error::ConfigError;

/// Default number of requests in flight for many-id commands.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Default number of agents asked for per listing page.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Everything a [`Client`](crate::Client) needs, validated.
///
/// Built with [`Config::builder`]. `Debug` never shows the token.
#[derive(Clone)]
pub struct Config {
    pub(crate) endpoints: Endpoints,
    pub(crate) token: SecretString,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    pub(crate) ca_bundle: Option<Vec<u8>>,
    pub(crate) concurrency: usize,
    pub(crate) page_size: u32,
    pub(crate) max_pages: u64,
    pub(crate) max_redirects: u32,
    pub(crate) max_body: usize,
    pub(crate) retry: RetryPolicy,
}

impl Config {
    /// Starts a configuration for the Platform at `base_url` (see the crate
    /// documentation for the accepted forms), organisation `org` and the
    /// personal access token `token`.
    ///
    /// Nothing is checked until [`ConfigBuilder::build`].
    pub fn builder(base_url: &str, org: &str, token: SecretString) -> ConfigBuilder {
        ConfigBuilder {
            base_url: base_url.to_owned(),
            org: org.to_owned(),
            token,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            ca_bundle: None,
            concurrency: DEFAULT_CONCURRENCY,
            page_size: DEFAULT_PAGE_SIZE,
            max_pages: 100_000,
            max_redirects: 5,
            max_body: 64 * 1024 * 1024,
            retry: RetryPolicy::default(),
        }
    }

    /// The API base every request starts from, e.g.
    /// `https://agents.example.com/api/my-org/api/v1/`.
    pub fn api_base(&self) -> &Url {
        self.endpoints.api_base()
    }

    /// The organisation id.
    pub fn org(&self) -> &str {
        self.endpoints.org()
    }

    /// The number of requests in flight for many-id commands.
    pub fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The retry policy for idempotent requests.
    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("api_base", &self.endpoints.api_base().as_str())
            .field("token", &"***")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("ca_bundle", &self.ca_bundle.as_ref().map(|pem| pem.len()))
            .field("concurrency", &self.concurrency)
            .field("page_size", &self.page_size)
            .field("max_pages", &self.max_pages)
            .field("max_redirects", &self.max_redirects)
            .field("max_body", &self.max_body)
            .field("retry", &self.retry)
            .finish()
    }
}

/// Builder for [`Config`]; every setter has a sensible default.
pub struct ConfigBuilder {
    base_url: String,
    org: String,
    token: SecretString,
    connect_timeout: Duration,
    timeout: Duration,
    ca_bundle: Option<Vec<u8>>,
    concurrency: usize,
    page_size: u32,
    max_pages: u64,
    max_redirects: u32,
    max_body: usize,
    retry: RetryPolicy,
}

impl fmt::Debug for ConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigBuilder")
            .field("base_url", &self.base_url)
            .field("org", &self.org)
            .field("token", &"***")
            .finish_non_exhaustive()
    }
}

impl ConfigBuilder {
    /// Time allowed to open a connection (TCP and TLS); default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one whole request, from sending to the last byte of
    /// the answer; default 60 s. Each retry gets this much again.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Extra trusted certificate authorities, PEM text holding one or more
    /// certificates, for a Platform behind a private CA. The built-in web
    /// roots stay trusted.
    pub fn ca_bundle_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_bundle = Some(pem.into());
        self
    }

    /// Requests in flight at once for many-id commands; default 16, at least 1.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Agents asked for per listing page (`limit`); default 100, at least 1.
    pub fn page_size(mut self, n: u32) -> Self {
        self.page_size = n;
        self
    }

    /// Most pages one listing may fetch before it stops with an error;
    /// default 100 000.
    pub fn max_pages(mut self, n: u64) -> Self {
        self.max_pages = n;
        self
    }

    /// Most same-origin redirects one `GET` follows; default 5.
    pub fn max_redirects(mut self, n: u32) -> Self {
        self.max_redirects = n;
        self
    }

    /// Largest response body accepted, in bytes; default 64 MiB.
    pub fn max_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// How idempotent requests are retried; see [`RetryPolicy`].
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Checks everything and returns the configuration.
    ///
    /// The token is trimmed of surrounding ASCII whitespace (a token file
    /// usually ends in a newline); an empty token, one holding a space, a
    /// control or a non-ASCII character (a leading no-break space too), or
    /// one starting with `Bearer `, is an error naming the byte position.
    pub fn build(self) -> Result<Config, ConfigError> {
        let token = check_token(&self.token)?;
        let endpoints = Endpoints::new(&self.base_url, &self.org)?;

        if self.concurrency == 0 {
            return Err(ConfigError::Zero { setting: "concurrency" });
        }
        if self.page_size == 0 {
            return Err(ConfigError::Zero { setting: "page size" });
        }
        if self.max_pages == 0 {
            return Err(ConfigError::Zero { setting: "page limit" });
        }
        if self.timeout.is_zero() {
            return Err(ConfigError::Zero { setting: "timeout" });
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::Zero { setting: "connect timeout" });
        }

        Ok(Config {
            endpoints,
            token,
            connect_timeout: self.connect_timeout,
            timeout: self.timeout,
            ca_bundle: self.ca_bundle,
            concurrency: self.concurrency,
            page_size: self.page_size,
            max_pages: self.max_pages,
            max_redirects: self.max_redirects,
            max_body: self.max_body,
            retry: self.retry,
        })
    }
}

/// Trims the token of ASCII whitespace and rejects anything that is not a
/// plain run of visible ASCII characters.
///
/// Only ASCII whitespace is trimmed: a no-break space or other Unicode
/// space around a token is not whitespace a file ends in but a paste error,
/// and is refused like any other non-ASCII character. Errors name the byte
/// position in the trimmed token, never the token.
fn check_token(token: &SecretString) -> Result<SecretString, ConfigError> {
    let trimmed = token.expose_secret().trim_matches(|c: char| c.is_ascii_whitespace());
    if trimmed.is_empty() {
        return Err(ConfigError::TokenEmpty);
    }
    if trimmed.len() > 7 && trimmed.as_bytes()[..7].eq_ignore_ascii_case(b"bearer ") {
        return Err(ConfigError::TokenScheme);
    }
    for (position, c) in trimmed.char_indices() {
        if c == ' ' {
            return Err(ConfigError::TokenSpace { position });
        }
        if c.is_control() {
            return Err(ConfigError::TokenControl { position });
        }
        if !c.is_ascii() {
            return Err(ConfigError::TokenNotAscii { position });
        }
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

/// When and how often idempotent requests are tried again.
///
/// A `GET` is retried after a connection failure, a `429 Too Many Requests`
/// or a `503 Service Unavailable`, waiting for the server's `Retry-After`
/// (seconds or an HTTP date) when it sends one and otherwise for an
/// exponentially growing, jittered delay. A `POST` is retried only when the
/// connection failed before the request was sent. Retrying stops after
/// `max_retries` retries or when the next wait would end past `budget`
/// (counted from the first attempt), whichever comes first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    pub(crate) max_retries: u32,
    pub(crate) initial_backoff: Duration,
    pub(crate) max_backoff: Duration,
    pub(crate) budget: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, 250 ms doubling up to 8 s, within 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// Most retries after the first attempt.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// The first backoff delay and the ceiling it doubles up to. The delay
    /// actually slept is drawn at random from its upper half.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Total time, from the first attempt, after which no retry starts.
    pub fn budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// The jittered delay before retry number `retry` (0 for the first).
    pub(crate) fn delay(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(30));
        let full = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        let half = full / 2;
        let extra = rand::random::<f64>() * (full - half).as_secs_f64();
        half + Duration::from_secs_f64(extra)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_token_case(input: &str, expected: Result<&str, &str>) {
        let got = check_token(&SecretString::from(input.to_owned()));
        match (got, expected) {
            (Ok(token), Ok(want)) => assert_eq!(token.expose_secret(), want, "input {input:?}"),
            (Err(err), Err(want)) => assert_eq!(err.to_string(), want, "input {input:?}"),
            (got, want) => panic!("input {input:?}: got {got:?}, expected {want:?}"),
        }
    }

    #[test]
    fn tokens() {
        check_token_case("abc", Ok("abc"));
        check_token_case("abc\n", Ok("abc"));
        check_token_case("  abc \r\n", Ok("abc"));
        check_token_case("-Xk3abc", Ok("-Xk3abc"));
        check_token_case("", Err("token is empty"));
        check_token_case(" \n\t", Err("token is empty"));
        check_token_case("ab\ncd", Err("token holds a control character at byte 2"));
        check_token_case("ab\u{7f}", Err("token holds a control character at byte 2"));
        check_token_case("abé", Err("token holds a non-ASCII character at byte 2"));
        check_token_case("\u{a0}tok", Err("token holds a non-ASCII character at byte 0"));
        check_token_case(" \u{a0}tok\n", Err("token holds a non-ASCII character at byte 0"));
        check_token_case("tok\u{a0}", Err("token holds a non-ASCII character at byte 3"));
        check_token_case("tok\u{2028}", Err("token holds a non-ASCII character at byte 3"));
        check_token_case("demo rw", Err("token holds a space at byte 4"));
        check_token_case("\tdemo  rw\n", Err("token holds a space at byte 4"));
        check_token_case("ab\u{b}", Err("token holds a control character at byte 2"));
        check_token_case(
            "Bearer xyz",
            Err("token starts with `Bearer `; give the token alone, without the scheme"),
        );
        check_token_case(
            "bearer xyz",
            Err("token starts with `Bearer `; give the token alone, without the scheme"),
        );
        check_token_case("Bearerxyz", Ok("Bearerxyz"));
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let policy =
            RetryPolicy::default().backoff(Duration::from_millis(100), Duration::from_millis(400));
        for (retry, low, high) in [(0, 50, 100), (1, 100, 200), (2, 200, 400), (9, 200, 400)] {
            let delay = policy.delay(retry);
            assert!(
                delay >= Duration::from_millis(low) && delay <= Duration::from_millis(high),
                "retry {retry}: {delay:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let config = Config::builder("http://x", "o", SecretString::from("s3cr3t".to_owned()))
            .build()
            .unwrap();
        let text = format!("{config:?}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(text.contains("***"), "{text}");
    }
}
