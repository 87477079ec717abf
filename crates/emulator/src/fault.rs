//! Injected faults: what they do, which requests they hit, how often.
//!
//! A fault is written the same way on the command line (`--fault SPEC`) and
//! as JSON for the control endpoint; see the crate README for the syntax.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The longest `delay` fault: 10 minutes. The command-line and JSON forms
/// refuse longer delays; [`Fault::delay`] caps them.
pub const MAX_FAULT_DELAY: Duration = Duration::from_secs(600);

/// What an injected fault does to a request it hits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultAction {
    /// Answer with this status code and body (default: a JSON error body).
    Status {
        /// The HTTP status code, 200 to 599 (an informational 1xx cannot end an exchange).
        code: u16,
        /// The body to send instead of the default JSON error.
        body: Option<String>,
    },
    /// Wait this long, then serve the request (or the next fault) normally.
    Delay(Duration),
    /// Close the connection without any response.
    Drop,
    /// Serve the request, but close the connection halfway through the body
    /// that the headers announce (a transport-level truncation).
    Truncate,
    /// Answer `200` with an HTML page instead of JSON.
    NonJson,
    /// Answer `429`, with `Retry-After: SECONDS` when given.
    RateLimit {
        /// The `Retry-After` value in seconds, if any.
        retry_after: Option<u64>,
    },
    /// Answer a redirect. In `location`, `{path}` stands for the request's
    /// path and query, so `http://localhost:9000{path}` sends the client to
    /// the same resource on another origin.
    Redirect {
        /// 301, 302, 303, 307 or 308.
        code: u16,
        /// The `Location` header.
        location: String,
    },
}

/// An injected fault: an action, the requests it applies to and how often.
///
/// ```
/// use nxlog_emulator::Fault;
/// // The first two renew commands get `503`, then everything is normal.
/// let fault = Fault::status(503).method("POST").path("/api/demo/api/v1/agents/*/certificate").times(2);
/// assert_eq!(fault.to_spec(), "status=503,method=POST,path=/api/demo/api/v1/agents/*/certificate,times=2");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What happens.
    pub action: FaultAction,
    /// Only requests with this method (upper case), if set.
    pub method: Option<String>,
    /// Only requests whose path starts with this, if set (compared with the
    /// raw path as sent, before percent-decoding).
    pub path: Option<String>,
    /// Fire this many times, then stop; `None` is every time.
    pub times: Option<u32>,
}

impl Fault {
    fn new(action: FaultAction) -> Fault {
        Fault { action, method: None, path: None, times: None }
    }

    /// Answer with `code` and a JSON error body.
    pub fn status(code: u16) -> Fault {
        Fault::new(FaultAction::Status { code, body: None })
    }

    /// Wait `delay` (at most [`MAX_FAULT_DELAY`]), then go on.
    pub fn delay(delay: Duration) -> Fault {
        Fault::new(FaultAction::Delay(delay.min(MAX_FAULT_DELAY)))
    }

    /// Close the connection without a response.
    pub fn drop_connection() -> Fault {
        Fault::new(FaultAction::Drop)
    }

    /// Cut the body halfway and close the connection.
    pub fn truncate() -> Fault {
        Fault::new(FaultAction::Truncate)
    }

    /// Answer `200` with an HTML page.
    pub fn non_json() -> Fault {
        Fault::new(FaultAction::NonJson)
    }

    /// Answer `429`, with `Retry-After` when `retry_after` is given.
    pub fn rate_limit(retry_after: Option<u64>) -> Fault {
        Fault::new(FaultAction::RateLimit { retry_after })
    }

    /// Answer `code` (a 3xx) with `Location: location` (`{path}` expands to
    /// the request's path and query).
    pub fn redirect(code: u16, location: impl Into<String>) -> Fault {
        Fault::new(FaultAction::Redirect { code, location: location.into() })
    }

    /// Replace the body of a [`Fault::status`] fault.
    pub fn body(mut self, text: impl Into<String>) -> Fault {
        if let FaultAction::Status { body, .. } = &mut self.action {
            *body = Some(text.into());
        }
        self
    }

    /// Hit only requests with this method.
    pub fn method(mut self, method: impl Into<String>) -> Fault {
        self.method = Some(method.into().to_ascii_uppercase());
        self
    }

    /// Hit only requests whose raw path starts with `prefix`.
    pub fn path(mut self, prefix: impl Into<String>) -> Fault {
        self.path = Some(prefix.into());
        self
    }

    /// Fire `n` times, then stop.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = Some(n);
        self
    }

    /// Parses the command-line form, e.g. `status=503,times=2,method=POST`.
    ///
    /// The first item names the kind and may carry its main value
    /// (`status=CODE`, `delay=MS`, `drop`, `truncate`, `non-json`,
    /// `rate-limit[=SECONDS]`, `redirect=LOCATION`); the others are
    /// `key=value` settings: `code`, `location`, `method`, `path`, `times`,
    /// and `body`, which must come last because it takes the rest of the
    /// text, commas included.
    pub fn parse_spec(spec: &str) -> Result<Fault, Error> {
        let fail = |message: String| Error::Fault { spec: spec.to_string(), message };
        let mut raw = RawFault::default();
        let mut rest = spec.trim();
        let mut first = true;

        while !rest.is_empty() {
            // `body=` swallows the remainder so bodies may hold commas.
            let (item, tail) = if rest.starts_with("body=") {
                (rest, "")
            } else {
                rest.split_once(',').unwrap_or((rest, ""))
            };
            rest = tail;
            let (key, value) = match item.split_once('=') {
                Some((key, value)) => (key.trim(), Some(value)),
                None => (item.trim(), None),
            };

            if first {
                first = false;
                raw.kind = key.to_string();
                let main = match key {
                    "status" => "code",
                    "delay" => "ms",
                    "rate-limit" => "retryAfter",
                    "redirect" => "location",
                    _ => {
                        if let Some(value) = value {
                            return Err(fail(format!("`{key}` takes no value, found `{value}`")));
                        }
                        continue;
                    }
                };
                if let Some(value) = value {
                    raw.set(main, value).map_err(fail)?;
                }
                continue;
            }

            let value =
                value.ok_or_else(|| fail(format!("expected `{key}=VALUE`, found `{key}`")))?;
            let key = match key {
                "retry-after" => "retryAfter",
                other => other,
            };
            raw.set(key, value).map_err(fail)?;
        }
        if first {
            return Err(fail("expected a fault kind, found nothing".into()));
        }
        raw.build().map_err(fail)
    }

    /// The command-line form of this fault; [`Fault::parse_spec`] reads it back.
    pub fn to_spec(&self) -> String {
        let mut items = vec![match &self.action {
            FaultAction::Status { code, .. } => format!("status={code}"),
            FaultAction::Delay(d) => format!("delay={}", d.as_millis()),
            FaultAction::Drop => "drop".to_string(),
            FaultAction::Truncate => "truncate".to_string(),
            FaultAction::NonJson => "non-json".to_string(),
            FaultAction::RateLimit { retry_after: Some(s) } => format!("rate-limit={s}"),
            FaultAction::RateLimit { retry_after: None } => "rate-limit".to_string(),
            FaultAction::Redirect { code, location } => format!("redirect={location},code={code}"),
        }];
        if let Some(method) = &self.method {
            items.push(format!("method={method}"));
        }
        if let Some(path) = &self.path {
            items.push(format!("path={path}"));
        }
        if let Some(times) = self.times {
            items.push(format!("times={times}"));
        }
        if let FaultAction::Status { body: Some(body), .. } = &self.action {
            items.push(format!("body={body}"));
        }
        items.join(",")
    }

    /// Parses the control endpoint's JSON form.
    pub fn from_json(text: &str) -> Result<Fault, Error> {
        let raw: RawFault = serde_json::from_str(text)
            .map_err(|e| Error::Fault { spec: text.to_string(), message: e.to_string() })?;
        raw.build().map_err(|message| Error::Fault { spec: text.to_string(), message })
    }

    /// The control endpoint's JSON form.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(RawFault::from(self)).unwrap_or_default()
    }

    fn hits(&self, method: &str, path: &str) -> bool {
        let method_ok = self.method.as_deref().is_none_or(|m| m == method);
        let path_ok = self.path.as_deref().is_none_or(|p| path.starts_with(p));
        method_ok && path_ok
    }
}

// The flat JSON form shared by the command line and the control endpoint.
#[derive(Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawFault {
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    retry_after: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    times: Option<u32>,
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| format!("`{key}`: expected a whole number, found `{value}`"))
}

impl RawFault {
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let repeated = match key {
            "code" => self.code.replace(number(key, value)?).is_some(),
            "ms" => self.ms.replace(number(key, value)?).is_some(),
            "retryAfter" => self.retry_after.replace(number("retry-after", value)?).is_some(),
            "times" => self.times.replace(number(key, value)?).is_some(),
            "body" => self.body.replace(value.to_string()).is_some(),
            "location" => self.location.replace(value.to_string()).is_some(),
            "method" => self.method.replace(value.trim().to_string()).is_some(),
            "path" => self.path.replace(value.trim().to_string()).is_some(),
            other => {
                return Err(format!(
                    "expected one of `code`, `body`, `location`, `method`, `path`, `times`, `retry-after`, found `{other}`"
                ));
            }
        };
        if repeated {
            return Err(format!("`{key}` is given twice"));
        }
        Ok(())
    }

    fn build(self) -> Result<Fault, String> {
        let unexpected = |key: &str| format!("`{key}` does not apply to a `{}` fault", self.kind);
        let allowed: &[&str] = match self.kind.as_str() {
            "status" => &["code", "body"],
            "delay" => &["ms"],
            "rate-limit" => &["retryAfter"],
            "redirect" => &["code", "location"],
            "drop" | "truncate" | "non-json" => &[],
            other => {
                return Err(format!(
                    "expected a fault kind (`status`, `delay`, `drop`, `truncate`, `non-json`, `rate-limit`, `redirect`), found `{other}`"
                ));
            }
        };
        let given = [
            ("code", self.code.is_some()),
            ("body", self.body.is_some()),
            ("ms", self.ms.is_some()),
            ("retryAfter", self.retry_after.is_some()),
            ("location", self.location.is_some()),
        ];
        for (key, is_set) in given {
            if is_set && !allowed.contains(&key) {
                return Err(unexpected(key));
            }
        }

        let action = match self.kind.as_str() {
            "status" => {
                let code = self.code.ok_or("a `status` fault needs a code, e.g. `status=503`")?;
                if !(200..=599).contains(&code) {
                    return Err(format!("expected a status code from 200 to 599, found {code}"));
                }
                FaultAction::Status { code, body: self.body }
            }
            "delay" => {
                let ms = self.ms.ok_or("a `delay` fault needs milliseconds, e.g. `delay=500`")?;
                let max = MAX_FAULT_DELAY.as_millis();
                if u128::from(ms) > max {
                    return Err(format!("`ms`: expected at most {max} (10 minutes), found {ms}"));
                }
                FaultAction::Delay(Duration::from_millis(ms))
            }
            "rate-limit" => FaultAction::RateLimit { retry_after: self.retry_after },
            "redirect" => {
                let code = self.code.unwrap_or(307);
                if ![301, 302, 303, 307, 308].contains(&code) {
                    return Err(format!(
                        "expected a redirect code (301, 302, 303, 307, 308), found {code}"
                    ));
                }
                let location = self.location.ok_or("a `redirect` fault needs a location, e.g. `redirect=http://localhost:9000{path}`")?;
                check_location(&location)?;
                FaultAction::Redirect { code, location }
            }
            "drop" => FaultAction::Drop,
            "truncate" => FaultAction::Truncate,
            _ => FaultAction::NonJson,
        };
        if self.times == Some(0) {
            return Err("`times`: expected at least 1, found 0 (the fault could never fire)".into());
        }
        Ok(Fault {
            action,
            method: self.method.map(|m| m.to_ascii_uppercase()),
            path: self.path,
            times: self.times,
        })
    }
}

/// A `Location` must be one header line: no control characters (CR and LF
/// would split the header, others make the value invalid and the header would
/// silently go missing).
fn check_location(location: &str) -> Result<(), String> {
    if location.trim().is_empty() {
        return Err("`location`: expected a URL, found nothing".into());
    }
    match location.char_indices().find(|(_, c)| c.is_control()) {
        Some((at, c)) => Err(format!(
            "`location`: expected no control characters, found U+{:04X} at byte {}",
            u32::from(c),
            at + 1
        )),
        None => Ok(()),
    }
}

impl From<&Fault> for RawFault {
    fn from(fault: &Fault) -> RawFault {
        let mut raw = RawFault {
            method: fault.method.clone(),
            path: fault.path.clone(),
            times: fault.times,
            ..RawFault::default()
        };
        raw.kind = match &fault.action {
            FaultAction::Status { code, body } => {
                raw.code = Some(*code);
                raw.body = body.clone();
                "status"
            }
            FaultAction::Delay(d) => {
                raw.ms = Some(d.as_millis().try_into().unwrap_or(u64::MAX));
                "delay"
            }
            FaultAction::Drop => "drop",
            FaultAction::Truncate => "truncate",
            FaultAction::NonJson => "non-json",
            FaultAction::RateLimit { retry_after } => {
                raw.retry_after = *retry_after;
                "rate-limit"
            }
            FaultAction::Redirect { code, location } => {
                raw.code = Some(*code);
                raw.location = Some(location.clone());
                "redirect"
            }
        }
        .to_string();
        raw
    }
}

/// A fault with its bookkeeping, as the control endpoint lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultStatus {
    /// The fault as injected.
    pub fault: Fault,
    /// How many requests it has hit.
    pub fired: u64,
    /// How many more it will hit; `None` is unlimited.
    pub remaining: Option<u32>,
}

impl FaultStatus {
    /// `{"fault": {..}, "fired": N, "remaining": N|null}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "fault": self.fault.to_json(), "fired": self.fired, "remaining": self.remaining })
    }
}

/// The active faults, checked in the order they were injected.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    list: Mutex<Vec<FaultStatus>>,
    // Lets the common no-fault case skip the lock.
    len: AtomicUsize,
}

impl Faults {
    pub(crate) fn inject(&self, fault: Fault) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.push(FaultStatus { remaining: fault.times, fault, fired: 0 });
        self.len.store(list.len(), Ordering::Release);
    }

    pub(crate) fn clear(&self) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.clear();
        self.len.store(0, Ordering::Release);
    }

    pub(crate) fn snapshot(&self) -> Vec<FaultStatus> {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Picks the faults a request meets: every matching delay in order, then
    /// the first matching other fault. Each pick uses up one of its `times`.
    pub(crate) fn pick(&self, method: &str, path: &str) -> (Duration, Option<FaultAction>) {
        let mut delay = Duration::ZERO;
        if self.len.load(Ordering::Acquire) == 0 {
            return (delay, None);
        }

        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        for status in list.iter_mut() {
            let is_spent = status.remaining == Some(0);
            if is_spent || !status.fault.hits(method, path) {
                continue;
            }
            status.fired += 1;
            if let Some(n) = &mut status.remaining {
                *n -= 1;
            }
            match &status.fault.action {
                FaultAction::Delay(d) => delay += (*d).min(MAX_FAULT_DELAY),
                other => return (delay, Some(other.clone())),
            }
        }
        (delay, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(spec: &str, expected: Result<Fault, &str>) {
        let got = Fault::parse_spec(spec).map_err(|e| e.to_string());
        let want = expected.map_err(|m| format!("fault `{spec}`: {m}"));
        assert_eq!(got, want, "{spec}");
        if let Ok(fault) = got {
            assert_eq!(Fault::parse_spec(&fault.to_spec()).unwrap(), fault, "spec round trip");
            let json = fault.to_json().to_string();
            assert_eq!(Fault::from_json(&json).unwrap(), fault, "json round trip");
        }
    }

    #[test]
    fn specs() {
        check("status=503", Ok(Fault::status(503)));
        check("status=503,times=2,method=post", Ok(Fault::status(503).times(2).method("POST")));
        check(
            "status=500,path=/api/,body=<b>a, b</b>",
            Ok(Fault::status(500).path("/api/").body("<b>a, b</b>")),
        );
        check("delay=250,times=1", Ok(Fault::delay(Duration::from_millis(250)).times(1)));
        check("drop", Ok(Fault::drop_connection()));
        check("truncate,times=1", Ok(Fault::truncate().times(1)));
        check("non-json", Ok(Fault::non_json()));
        check("rate-limit=7", Ok(Fault::rate_limit(Some(7))));
        check("rate-limit", Ok(Fault::rate_limit(None)));
        check(
            "redirect=http://localhost:9{path},code=302",
            Ok(Fault::redirect(302, "http://localhost:9{path}")),
        );
        check("redirect=http://localhost:9/x", Ok(Fault::redirect(307, "http://localhost:9/x")));
        check("", Err("expected a fault kind, found nothing"));
        check("status", Err("a `status` fault needs a code, e.g. `status=503`"));
        check("status=abc", Err("`code`: expected a whole number, found `abc`"));
        check("status=700", Err("expected a status code from 200 to 599, found 700"));
        check("status=101", Err("expected a status code from 200 to 599, found 101"));
        check("drop=1", Err("`drop` takes no value, found `1`"));
        check(
            "boom",
            Err(
                "expected a fault kind (`status`, `delay`, `drop`, `truncate`, `non-json`, `rate-limit`, `redirect`), found `boom`",
            ),
        );
        check(
            "status=503,time=2",
            Err(
                "expected one of `code`, `body`, `location`, `method`, `path`, `times`, `retry-after`, found `time`",
            ),
        );
        check("status=503,times", Err("expected `times=VALUE`, found `times`"));
        check("status=503,times=1,times=2", Err("`times` is given twice"));
        check("drop,body=x", Err("`body` does not apply to a `drop` fault"));
        check(
            "redirect=/x,code=200",
            Err("expected a redirect code (301, 302, 303, 307, 308), found 200"),
        );
        check("delay=600000", Ok(Fault::delay(MAX_FAULT_DELAY)));
        check("delay=600001", Err("`ms`: expected at most 600000 (10 minutes), found 600001"));
        check(
            "status=503,times=0",
            Err("`times`: expected at least 1, found 0 (the fault could never fire)"),
        );
        check("redirect= ", Err("`location`: expected a URL, found nothing"));
        check(
            "redirect=http://x/\r\nX-Evil: 1",
            Err("`location`: expected no control characters, found U+000D at byte 10"),
        );
        check(
            "redirect=http://x/\tY",
            Err("`location`: expected no control characters, found U+0009 at byte 10"),
        );
    }

    #[track_caller]
    fn check_json(json: &str, expected: &str) {
        let err = Fault::from_json(json).unwrap_err().to_string();
        assert_eq!(err, format!("fault `{json}`: {expected}"));
    }

    #[test]
    fn json_form_rejects_faults_that_cannot_work() {
        check_json(
            r#"{"kind":"redirect","location":"http://x/\r\nX-Evil: 1"}"#,
            "`location`: expected no control characters, found U+000D at byte 10",
        );
        check_json(
            r#"{"kind":"redirect","location":"http://x/\u007f"}"#,
            "`location`: expected no control characters, found U+007F at byte 10",
        );
        check_json(
            r#"{"kind":"delay","ms":99999999999}"#,
            "`ms`: expected at most 600000 (10 minutes), found 99999999999",
        );
        check_json(
            r#"{"kind":"drop","times":0}"#,
            "`times`: expected at least 1, found 0 (the fault could never fire)",
        );
    }

    #[test]
    fn library_delays_are_capped() {
        let fault = Fault::delay(Duration::from_secs(99_999_999));
        assert_eq!(fault.action, FaultAction::Delay(MAX_FAULT_DELAY));
    }

    #[test]
    fn json_form_rejects_unknown_keys() {
        let err = Fault::from_json(r#"{"kind":"status","code":503,"time":2}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `time`"), "{err}");
    }

    #[test]
    fn pick_counts_down_and_scopes() {
        let faults = Faults::default();
        faults.inject(Fault::delay(Duration::from_millis(5)).times(1));
        faults.inject(Fault::status(503).method("POST").times(2));
        faults.inject(Fault::drop_connection().path("/other"));
        let status = Some(FaultAction::Status { code: 503, body: None });
        assert_eq!(faults.pick("GET", "/api"), (Duration::from_millis(5), None));
        assert_eq!(faults.pick("POST", "/api"), (Duration::ZERO, status.clone()));
        assert_eq!(faults.pick("POST", "/api"), (Duration::ZERO, status));
        assert_eq!(faults.pick("POST", "/api"), (Duration::ZERO, None));
        assert_eq!(faults.pick("GET", "/other/x"), (Duration::ZERO, Some(FaultAction::Drop)));
        let fired: Vec<_> = faults.snapshot().iter().map(|s| (s.fired, s.remaining)).collect();
        assert_eq!(fired, [(1, Some(0)), (2, Some(0)), (1, None)]);
    }
}
