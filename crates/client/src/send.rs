//! The one funnel every request goes through: token, redirects, retries,
//! body limits, status interpretation and logging.

use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderValue, LOCATION, RETRY_AFTER};
use reqwest::{Method, Response, StatusCode};
use secrecy::ExposeSecret;
use tracing::{debug, trace};
use url::{Origin, Url};

use crate::config::{Config, RetryPolicy};
use crate::error::{ApiMessage, BODY_KEEP, ConfigError, Error, RedirectRefusal, keep_prefix};

/// The HTTP side of a client: one connection pool and the rules for using it.
pub(crate) struct Transport {
    http: reqwest::Client,
    /// `Bearer <token>`, marked sensitive so no `Debug` of it shows the token.
    auth: HeaderValue,
    origin: Origin,
    timeout: Duration,
    connect_timeout: Duration,
    max_redirects: u32,
    max_body: usize,
    retry: RetryPolicy,
}

/// How one attempt ended, before the retry and redirect decisions.
enum Attempt {
    Done(Bytes),
    Fail(Error),
    Retry { error: Error, after: Option<Duration> },
    Redirect { status: StatusCode, location: Option<String> },
}

impl Transport {
    /// Builds the connection pool. reqwest neither follows redirects nor
    /// retries on its own: [`Transport::send`] makes both decisions.
    pub(crate) fn new(config: &Config) -> Result<Transport, ConfigError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .retry(reqwest::retry::never())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .user_agent(concat!("nxlog-client/", env!("CARGO_PKG_VERSION")));

        if let Some(pem) = &config.ca_bundle {
            let certificates = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ConfigError::CaBundle { reason: root_cause(&e) })?;
            if certificates.is_empty() {
                return Err(ConfigError::CaBundle {
                    reason: "expected at least one PEM certificate, found none".to_owned(),
                });
            }
            for certificate in certificates {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder.build().map_err(ConfigError::HttpClient)?;

        // The token was checked to be visible ASCII, so this cannot fail;
        // the error arm still names no token.
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", config.token.expose_secret()))
            .map_err(|_| ConfigError::TokenControl { position: 0 })?;
        auth.set_sensitive(true);

        Ok(Transport {
            http,
            auth,
            origin: config.endpoints.origin(),
            timeout: config.timeout,
            connect_timeout: config.connect_timeout,
            max_redirects: config.max_redirects,
            max_body: config.max_body,
            retry: config.retry.clone(),
        })
    }

    /// Sends `method url` and returns the body of a `2xx` answer.
    ///
    /// Retries and redirects follow the policies in the crate documentation;
    /// every other outcome becomes an [`Error`] naming `method` and the
    /// path of `url`.
    pub(crate) async fn send(&self, method: Method, url: Url) -> Result<Bytes, Error> {
        let path = url.path().to_owned();
        let started = Instant::now();
        let mut url = url;
        let mut retries = 0;
        let mut redirects = 0;

        loop {
            match self.attempt(&method, &url, &path).await {
                Attempt::Done(body) => return Ok(body),
                Attempt::Fail(error) => return Err(error),
                Attempt::Redirect { status, location } => {
                    url = self.follow(&method, &path, &url, status, location, redirects)?;
                    redirects += 1;
                }
                Attempt::Retry { error, after } => {
                    let Some(wait) = self.retry_wait(retries, after, started) else {
                        return Err(error);
                    };
                    debug!(%method, %path, retry = retries + 1, wait_ms = wait.as_millis() as u64, %error, "retrying");
                    tokio::time::sleep(wait).await;
                    retries += 1;
                }
            }
        }
    }

    /// One request and its whole answer.
    async fn attempt(&self, method: &Method, url: &Url, path: &str) -> Attempt {
        let mut request =
            self.http.request(method.clone(), url.clone()).header(AUTHORIZATION, self.auth.clone());
        if *method == Method::POST {
            // Commands carry an empty body; say so, as `curl --data ""` does.
            request = request.header(CONTENT_LENGTH, "0");
        }

        let sent = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                trace!(%method, %url, elapsed_ms = elapsed_ms(sent), error = %root_cause(&e), "request failed");
                // Only a failed connect guarantees a command was not sent.
                let retryable =
                    if *method == Method::GET { !is_overall_timeout(&e) } else { e.is_connect() };
                let error = self.transport_error(method, path, e);
                return if retryable {
                    Attempt::Retry { error, after: None }
                } else {
                    Attempt::Fail(error)
                };
            }
        };

        let status = response.status();
        let location = header_text(&response, LOCATION);
        let retry_after = header_text(&response, RETRY_AFTER).and_then(|v| parse_retry_after(&v));
        let body = match self.read_body(response, method, path).await {
            Ok(body) => body,
            Err((error, retryable)) => {
                trace!(%method, %url, status = status.as_u16(), elapsed_ms = elapsed_ms(sent), %error, "reading answer failed");
                let retryable = retryable && *method == Method::GET;
                return if retryable {
                    Attempt::Retry { error, after: None }
                } else {
                    Attempt::Fail(error)
                };
            }
        };
        trace!(%method, %url, status = status.as_u16(), elapsed_ms = elapsed_ms(sent), bytes = body.len(), "request");

        if status.is_success() {
            return Attempt::Done(body);
        }
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            return Attempt::Redirect { status, location };
        }
        let error = status_error(method, path, status, &body);
        let is_overload =
            status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE;
        if is_overload && *method == Method::GET {
            Attempt::Retry { error, after: retry_after }
        } else {
            Attempt::Fail(error)
        }
    }

    /// Reads the body up to the size limit. The flag says whether the
    /// failure is worth a retry (a broken connection, not an oversize body).
    async fn read_body(
        &self,
        mut response: Response,
        method: &Method,
        path: &str,
    ) -> Result<Bytes, (Error, bool)> {
        let too_large = || Error::BodyTooLarge {
            method: method.clone(),
            path: path.to_owned(),
            limit: self.max_body,
        };
        let broken = |e: reqwest::Error| {
            let retryable = !is_overall_timeout(&e);
            (self.transport_error(method, path, e), retryable)
        };

        // A announced length within the limit: take the body whole, without
        // copying (hyper stops at the announced length).
        if let Some(length) = response.content_length() {
            if length > self.max_body as u64 {
                return Err((too_large(), false));
            }
            return response.bytes().await.map_err(broken);
        }

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(broken)? {
            if body.len() + chunk.len() > self.max_body {
                return Err((too_large(), false));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(body))
    }

    /// Decides whether to follow a redirect and where to.
    ///
    /// Commands never follow one. A `GET` follows only to the same origin
    /// (scheme, host and port), so the token never reaches another server,
    /// and at most `max_redirects` times.
    fn follow(
        &self,
        method: &Method,
        path: &str,
        current: &Url,
        status: StatusCode,
        location: Option<String>,
        redirects: u32,
    ) -> Result<Url, Error> {
        let refuse = |refusal: RedirectRefusal, location: String| {
            debug!(%method, %path, status = status.as_u16(), %location, %refusal, "redirect not followed");
            Error::Redirect {
                method: method.clone(),
                path: path.to_owned(),
                status,
                location,
                refusal,
            }
        };

        let Some(location) = location else {
            return Err(refuse(RedirectRefusal::NoLocation, String::new()));
        };
        if *method != Method::GET {
            return Err(refuse(RedirectRefusal::Command, location));
        }
        // `join` resolves relative (`/v2/x`) and protocol-relative
        // (`//host:port/x`) locations against the current URL.
        let Ok(target) = current.join(&location) else {
            return Err(refuse(RedirectRefusal::NoLocation, location));
        };
        if target.origin() != self.origin {
            return Err(refuse(RedirectRefusal::CrossOrigin, location));
        }
        if redirects >= self.max_redirects {
            return Err(refuse(RedirectRefusal::TooMany, location));
        }

        debug!(%method, %path, status = status.as_u16(), to = %target, "following same-origin redirect");
        Ok(target)
    }

    /// How long to wait before the next retry, or `None` to give up.
    fn retry_wait(
        &self,
        retries: u32,
        after: Option<Duration>,
        started: Instant,
    ) -> Option<Duration> {
        if retries >= self.retry.max_retries {
            debug!(retries, "giving up: retry limit reached");
            return None;
        }
        let wait = after.unwrap_or_else(|| self.retry.delay(retries));
        if started.elapsed() + wait > self.retry.budget {
            debug!(
                wait_ms = wait.as_millis() as u64,
                budget_ms = self.retry.budget.as_millis() as u64,
                "giving up: the wait would pass the retry budget"
            );
            return None;
        }
        Some(wait)
    }

    fn transport_error(&self, method: &Method, path: &str, error: reqwest::Error) -> Error {
        let (method, path) = (method.clone(), path.to_owned());
        if error.is_timeout() {
            let after = if error.is_connect() { self.connect_timeout } else { self.timeout };
            return Error::Timeout { method, path, after };
        }
        // The path alone does not say which server could not be reached.
        let detail = format!("{} ({})", root_cause(&error), self.origin.ascii_serialization());
        Error::Transport { method, path, detail, source: error }
    }
}

/// The error for a non-success, non-redirect status.
fn status_error(method: &Method, path: &str, status: StatusCode, body: &[u8]) -> Error {
    let (method, path) = (method.clone(), path.to_owned());
    let message = ApiMessage::from_body(body);
    match (status, message) {
        (StatusCode::UNAUTHORIZED, message) => Error::Unauthenticated { method, path, message },
        (StatusCode::FORBIDDEN, message) => Error::Forbidden { method, path, message },
        (status, Some(message)) => Error::Api { method, path, status, message },
        (status, None) => {
            let (body, truncated) = keep_prefix(body, BODY_KEEP);
            Error::UnexpectedStatus { method, path, status, body, truncated }
        }
    }
}

/// A timeout of the whole request, as opposed to one while connecting.
fn is_overall_timeout(error: &reqwest::Error) -> bool {
    error.is_timeout() && !error.is_connect()
}

fn header_text(response: &Response, name: reqwest::header::HeaderName) -> Option<String> {
    response.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// `Retry-After` as delay-seconds or an HTTP date; `None` when neither.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// The innermost cause of an error, e.g. `Connection refused (os error 111)`:
/// the outer layers of a reqwest error repeat the URL and say little.
pub(crate) fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn elapsed_ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_auth_header_is_sensitive() {
        let token = secrecy::SecretString::from("tok-xyz".to_owned());
        let config = Config::builder("http://127.0.0.1:9", "o", token).build().unwrap();
        let transport = Transport::new(&config).unwrap();
        assert!(transport.auth.is_sensitive());
        assert_eq!(format!("{:?}", transport.auth), "Sensitive");
    }

    fn check_retry_after(value: &str, expected: Option<u64>) {
        assert_eq!(parse_retry_after(value).map(|d| d.as_secs()), expected, "value {value:?}");
    }

    #[test]
    fn retry_after_values() {
        check_retry_after("0", Some(0));
        check_retry_after(" 3 ", Some(3));
        check_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", Some(0));
        check_retry_after("soon", None);
        check_retry_after("-1", None);
        check_retry_after("", None);
    }

    #[test]
    fn retry_after_future_date() {
        let later = SystemTime::now() + Duration::from_secs(120);
        let got = parse_retry_after(&httpdate::fmt_http_date(later)).unwrap();
        assert!(got > Duration::from_secs(100) && got <= Duration::from_secs(120), "{got:?}");
    }

    fn check_status(status: u16, body: &str, expected: &str) {
        let status = StatusCode::from_u16(status).unwrap();
        let error = status_error(&Method::GET, "/api/o/api/v1/agents/*", status, body.as_bytes());
        assert_eq!(error.to_string(), expected, "status {status} body {body:?}");
    }

    #[test]
    fn statuses() {
        check_status(
            401,
            "",
            "the platform did not accept the token for `GET /api/o/api/v1/agents/*` (401 unauthorized)",
        );
        check_status(
            403,
            r#"{"message":"read-only token"}"#,
            "the token may not `GET /api/o/api/v1/agents/*` (403 forbidden): read-only token",
        );
        check_status(
            400,
            r#"{"message":"bad filter","help":"quote the value"}"#,
            "`GET /api/o/api/v1/agents/*` failed with 400 bad request: bad filter (help: quote the value)",
        );
        check_status(
            502,
            "<html>\n<h1>Bad gateway</h1></html>",
            "`GET /api/o/api/v1/agents/*` answered 502 bad gateway: <html> <h1>Bad gateway</h1></html>",
        );
        check_status(
            500,
            "",
            "`GET /api/o/api/v1/agents/*` answered 500 internal server error with an empty body",
        );
        check_status(599, "x", "`GET /api/o/api/v1/agents/*` answered 599: x");
    }

    #[test]
    fn long_bodies_are_cut() {
        let body = "é".repeat(3000);
        let error = status_error(&Method::GET, "/p", StatusCode::BAD_GATEWAY, body.as_bytes());
        let Error::UnexpectedStatus { body, truncated, .. } = error else { panic!("{error:?}") };
        assert!(truncated);
        assert_eq!(body.len(), BODY_KEEP);
    }
}
