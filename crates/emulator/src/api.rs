//! The agents API: path and query decoding, authorisation, the endpoints.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use uuid::Uuid;

use crate::fleet::{Closed, Outcome, Selection};
use crate::server::Shared;
use crate::tokens::Role;

/// Default page size of `GET agents/*` when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest accepted `limit`; larger values answer `400`.
pub const MAX_LIMIT: usize = 1000;

/// How many agents a response covered, for the request log line.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Matched(pub(crate) usize);

/// An error answer: status plus the JSON body `{"message", "help"}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    help: String,
    allow: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> ApiError {
        ApiError { status, message: message.into(), help: help.into(), allow: None }
    }

    fn bad_request(message: impl Into<String>, help: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message, help)
    }

    fn not_found(message: impl Into<String>, help: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message, help)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message, "help": self.help });
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(allow) = self.allow {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

pub(crate) fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn with_matched(mut response: Response, matched: usize) -> Response {
    response.extensions_mut().insert(Matched(matched));
    response
}

/// The agent a path names: every agent (`*`) or one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    All,
    One(Uuid),
}

/// What a request asks for, once its path is understood.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    List,
    Get(Uuid),
    Count,
    Renew(Target),
    FilesSync(Target),
}

/// The decoded query parameters the API knows.
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    filter: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
}

/// Serves every request under `/api/`.
pub(crate) async fn agents_api(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let checked =
        check(&shared, &parts.method, parts.uri.path(), parts.uri.query(), &parts.headers);
    let (endpoint, query) = match checked {
        Ok(checked) => checked,
        Err(error) => return error.into_response(),
    };
    // Commands take an empty body; the check runs after every other one so
    // that an unknown caller learns nothing, and before the command runs.
    if matches!(endpoint, Endpoint::Renew(_) | Endpoint::FilesSync(_))
        && let Err(error) = require_empty_body(&parts.headers, body).await
    {
        return error.into_response();
    }
    match execute(&shared, endpoint, query) {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

/// The checks every request passes, in the documented order: a single
/// `Authorization` header, the token, the path and method, the role, the
/// query's escapes and parameters.
fn check(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
) -> Result<(Endpoint, Query), ApiError> {
    let role = authorise(shared, headers)?;
    let endpoint = route(&shared.org, method, path)?;

    let is_command = matches!(endpoint, Endpoint::Renew(_) | Endpoint::FilesSync(_));
    if is_command && role == Role::ReadOnly {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "a read-only token cannot run commands",
            "use a token with the read-write role",
        ));
    }

    let query = parse_query(query, endpoint)?;
    let is_single = matches!(
        endpoint,
        Endpoint::Get(_) | Endpoint::Renew(Target::One(_)) | Endpoint::FilesSync(Target::One(_))
    );
    if is_single && query.filter.is_some() {
        return Err(ApiError::bad_request(
            "a filter applies only to `*`, not to one agent id",
            "address `agents/*` with the filter, or drop the filter",
        ));
    }
    Ok((endpoint, query))
}

/// Answers `400` unless the request has no body: a filter sent in the body
/// would otherwise be ignored and the command would run on every agent.
/// A body announced by `Content-Length` is refused unread; a chunked one is
/// read up to its first byte.
async fn require_empty_body(headers: &HeaderMap, body: Body) -> Result<(), ApiError> {
    let help = "commands take an empty body; send the filter in the query, as `?filter=(...)`";
    let length = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok());
    if let Some(length) = length.filter(|l| l.trim() != "0") {
        return Err(ApiError::bad_request(
            format!("expected an empty body, found {} bytes", length.trim()),
            help,
        ));
    }
    let mut body = body;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) if frame.data_ref().is_some_and(|d| !d.is_empty()) => {
                return Err(ApiError::bad_request("expected an empty body, found a body", help));
            }
            Ok(_) => {}
            Err(error) => {
                return Err(ApiError::bad_request(
                    format!("cannot read the request body: {error}"),
                    help,
                ));
            }
        }
    }
    Ok(())
}

fn execute(shared: &Shared, endpoint: Endpoint, query: Query) -> Result<Response, ApiError> {
    let now = shared.now();
    let validity = shared.validity;
    match endpoint {
        Endpoint::List => {
            let selection = select(shared, query.filter.as_deref())?;
            let page = parse_number(query.offset.as_deref(), "offset", 0, u64::MAX)?;
            let limit = parse_number(
                query.limit.as_deref(),
                "limit",
                DEFAULT_LIMIT as u64,
                MAX_LIMIT as u64,
            )?;
            let agents = shared.fleet().page(&selection, page, limit as usize);
            Ok(with_matched(json_response(StatusCode::OK, &agents), agents.len()))
        }
        Endpoint::Count => {
            let selection = select(shared, query.filter.as_deref())?;
            let count = shared.fleet().count(&selection);
            Ok(with_matched(json_response(StatusCode::OK, &count), count))
        }
        Endpoint::Get(id) => {
            let agent = shared.fleet().get(id).cloned().ok_or_else(|| unknown_agent(id))?;
            Ok(with_matched(json_response(StatusCode::OK, &agent), 1))
        }
        Endpoint::Renew(Target::All) => {
            let selection = select(shared, query.filter.as_deref())?;
            outcomes(shared.fleet_mut().renew(&selection, now, validity))
        }
        Endpoint::FilesSync(Target::All) => {
            let selection = select(shared, query.filter.as_deref())?;
            outcomes(shared.fleet_mut().files_sync(&selection, now, validity))
        }
        Endpoint::Renew(Target::One(id)) => {
            let outcome = shared.fleet_mut().renew_id(id, now, validity);
            outcomes(outcome.map(|o| o.into_iter().collect::<Vec<_>>())).and_then(|r| one(r, id))
        }
        Endpoint::FilesSync(Target::One(id)) => {
            let outcome = shared.fleet_mut().files_sync_id(id, now, validity);
            outcomes(outcome.map(|o| o.into_iter().collect::<Vec<_>>())).and_then(|r| one(r, id))
        }
    }
}

fn one(response: Response, id: Uuid) -> Result<Response, ApiError> {
    match response.extensions().get::<Matched>() {
        Some(Matched(0)) => Err(unknown_agent(id)),
        _ => Ok(response),
    }
}

fn outcomes(result: Result<Vec<Outcome>, Closed>) -> Result<Response, ApiError> {
    let outcomes = result.map_err(|Closed| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the emulator is shutting down",
            "the command was not run; send it again to a running emulator",
        )
    })?;
    Ok(with_matched(json_response(StatusCode::OK, &outcomes), outcomes.len()))
}

fn unknown_agent(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no agent with id `{id}`"), "list agents with `GET agents/*`")
}

fn authorise(shared: &Shared, headers: &HeaderMap) -> Result<Role, ApiError> {
    let unauthorised = |message: &str| {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            message,
            "send `Authorization: Bearer <token>` with a known token",
        )
    };
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = values.next().ok_or_else(|| unauthorised("missing bearer token"))?;
    if values.next().is_some() {
        return Err(ApiError::bad_request(
            "the authorization header is given twice",
            "send one `Authorization: Bearer <token>` header",
        ));
    }
    let value = value.to_str().map_err(|_| unauthorised("unknown token"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Err(unauthorised("expected `Bearer <token>` in the authorization header")),
    };
    shared.tokens.role(token).ok_or_else(|| unauthorised("unknown token"))
}

/// Splits `/api/<org>/api/v1/agents/<* or uuid>/<command>` into an endpoint.
fn route(org: &str, method: &Method, path: &str) -> Result<Endpoint, ApiError> {
    let no_endpoint = || {
        ApiError::not_found(
            format!("no endpoint at `{path}`"),
            format!("the agents API lives under `/api/{org}/api/v1/agents/`"),
        )
    };
    let mut segments: Vec<String> = Vec::new();
    for raw in path.split('/').skip(1) {
        let decoded = percent_decode_str(raw).decode_utf8().map_err(|_| no_endpoint())?;
        segments.push(decoded.into_owned());
    }
    // One trailing slash is optional everywhere.
    if segments.len() > 1 && segments.last().is_some_and(String::is_empty) {
        segments.pop();
    }

    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (given_org, entity, rest) = match segments.as_slice() {
        ["api", given_org, "api", "v1", entity, rest @ ..] => (*given_org, *entity, rest),
        _ => return Err(no_endpoint()),
    };
    if given_org != org {
        return Err(ApiError::not_found(
            format!("unknown organisation `{given_org}`"),
            "check the organisation id in the URL",
        ));
    }
    if entity != "agents" {
        return Err(ApiError::not_found(
            format!("the emulator serves `agents` only, found `{entity}`"),
            format!("use `/api/{org}/api/v1/agents/`"),
        ));
    }

    let (target, command) = match rest {
        [target, command @ ..] => (*target, command),
        [] => return Err(no_endpoint()),
    };
    let target = if target == "*" {
        Target::All
    } else {
        let id = Uuid::try_parse(target).map_err(|_| {
            ApiError::not_found(
                format!("expected an agent id or `*`, found `{target}`"),
                "agent ids are UUIDs such as `1589a98a-66b3-11ee-80d5-4f584c6f672d`",
            )
        })?;
        Target::One(id)
    };

    let (endpoint, allow) = match (command, target) {
        ([], Target::All) => (Endpoint::List, "GET"),
        ([], Target::One(id)) => (Endpoint::Get(id), "GET"),
        (["count"], Target::All) => (Endpoint::Count, "GET"),
        (["certificate", "renew"], target) => (Endpoint::Renew(target), "POST"),
        (["files-sync"], target) => (Endpoint::FilesSync(target), "POST"),
        _ => return Err(no_endpoint()),
    };
    // HEAD is served wherever GET is, as HTTP asks (hyper sends no body).
    let allowed = method.as_str() == allow || (allow == "GET" && method == Method::HEAD);
    if !allowed {
        let mut error = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("expected method `{allow}`, found `{method}`"),
            format!("send `{allow} {path}`"),
        );
        error.allow = Some(if allow == "GET" { "GET, HEAD" } else { allow });
        return Err(error);
    }
    Ok(endpoint)
}

/// The query parameters an endpoint takes. A filter on a one-agent path is
/// read so that it gets its own message.
fn parameters(endpoint: Endpoint) -> &'static [&'static str] {
    match endpoint {
        Endpoint::List => &["filter", "offset", "limit"],
        _ => &["filter"],
    }
}

/// Decodes a query string as a server does: `+` is a space, `%XX` a byte.
/// Every `%` must start an escape of two hex digits, and every parameter
/// must be one the endpoint takes: a misspelt `filter` would otherwise
/// select every agent.
fn parse_query(raw: Option<&str>, endpoint: Endpoint) -> Result<Query, ApiError> {
    let raw = raw.unwrap_or("");
    check_escapes(raw)?;
    let mut query = Query::default();
    let known = parameters(endpoint);
    for pair in raw.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(key)?;
        let slot = match key.as_str() {
            "filter" if known.contains(&"filter") => &mut query.filter,
            "offset" if known.contains(&"offset") => &mut query.offset,
            "limit" if known.contains(&"limit") => &mut query.limit,
            _ => return Err(unknown_parameter(&key, endpoint)),
        };
        if slot.replace(decode_component(value)?).is_some() {
            return Err(ApiError::bad_request(
                format!("query parameter `{key}` is given twice"),
                format!("send `{key}` once"),
            ));
        }
    }
    Ok(query)
}

fn unknown_parameter(key: &str, endpoint: Endpoint) -> ApiError {
    let takes = match parameters(endpoint) {
        [one] => format!("this endpoint takes `{one}` only"),
        _ => "this endpoint takes `filter`, `offset` and `limit`".to_string(),
    };
    let hint = if key.contains('=') {
        "; the `=` after a parameter name must not be percent-encoded"
    } else {
        "; names are case-sensitive"
    };
    ApiError::bad_request(format!("unknown query parameter `{key}`"), format!("{takes}{hint}"))
}

/// Refuses a `%` that does not start two hex digits, naming the 1-based byte
/// of the query where it stands.
fn check_escapes(raw: &str) -> Result<(), ApiError> {
    let bytes = raw.as_bytes();
    for (at, _) in raw.match_indices('%') {
        let is_escape =
            bytes.get(at + 1..at + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit));
        if !is_escape {
            let shown: String = raw[at..].chars().take(3).collect();
            return Err(ApiError::bad_request(
                format!("invalid percent escape `{shown}` at byte {} of the query", at + 1),
                "a `%` starts an escape of two hex digits; send a literal `%` as `%25`",
            ));
        }
    }
    Ok(())
}

/// Form-decodes one query component.
pub(crate) fn decode_component(text: &str) -> Result<String, ApiError> {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().map(|s| s.into_owned()).map_err(|_| {
        ApiError::bad_request(
            format!("query component `{text}` is not UTF-8 once decoded"),
            "percent-encode the UTF-8 bytes of the text",
        )
    })
}

fn parse_number(text: Option<&str>, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    let Some(text) = text else { return Ok(default) };
    let min = if name == "limit" { 1 } else { 0 };
    let help = if name == "limit" {
        format!("`limit` is the page size, from 1 to {MAX_LIMIT}; it defaults to {DEFAULT_LIMIT}")
    } else {
        "`offset` is a page number starting at 0".to_string()
    };
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(n) => Err(ApiError::bad_request(
            format!("`{name}` out of range: expected {min} to {max}, found {n}"),
            help,
        )),
        Err(_) => Err(ApiError::bad_request(
            format!("`{name}`: expected a whole number, found `{text}`"),
            help,
        )),
    }
}

/// Parses and compiles the decoded filter text with the filter crate.
fn select(shared: &Shared, filter: Option<&str>) -> Result<Selection, ApiError> {
    let Some(text) = filter else { return Ok(Selection::All) };
    let checked = nxlog_filter::Options::new()
        .now(shared.now())
        .parse(text)
        .map_err(|error| ApiError::bad_request(error.to_string(), nxlog_filter::render(&error)))?;
    for warning in &checked.warnings {
        tracing::debug!(filter = %text, "filter warning: {warning}");
    }
    Ok(Selection::Filter(checked.filter.compile()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_route(method: &str, path: &str, expected: Result<Endpoint, (u16, &str)>) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let got = route("demo", &method, path).map_err(|e| (e.status.as_u16(), e.message));
        let want = expected.map_err(|(s, m)| (s, m.to_string()));
        assert_eq!(got, want, "{method} {path}");
    }

    #[test]
    fn routes() {
        let id: Uuid = "1589a98a-66b3-11ee-80d5-4f584c6f672d".parse().unwrap();
        let base = "/api/demo/api/v1/agents";
        check_route("GET", &format!("{base}/*"), Ok(Endpoint::List));
        check_route("GET", &format!("{base}/*/"), Ok(Endpoint::List));
        check_route("GET", &format!("{base}/%2A"), Ok(Endpoint::List));
        check_route("GET", &format!("{base}/*/count"), Ok(Endpoint::Count));
        check_route("GET", &format!("{base}/{id}"), Ok(Endpoint::Get(id)));
        check_route(
            "POST",
            &format!("{base}/*/certificate/renew"),
            Ok(Endpoint::Renew(Target::All)),
        );
        check_route(
            "POST",
            &format!("{base}/*/certificate/renew/"),
            Ok(Endpoint::Renew(Target::All)),
        );
        check_route(
            "POST",
            &format!("{base}/{id}/certificate/renew"),
            Ok(Endpoint::Renew(Target::One(id))),
        );
        check_route("POST", &format!("{base}/*/files-sync"), Ok(Endpoint::FilesSync(Target::All)));
        check_route(
            "POST",
            &format!("{base}/{id}/files-sync/"),
            Ok(Endpoint::FilesSync(Target::One(id))),
        );
        check_route(
            "GET",
            &format!("{base}/*/certificate/renew"),
            Err((405, "expected method `POST`, found `GET`")),
        );
        check_route(
            "POST",
            &format!("{base}/*"),
            Err((405, "expected method `GET`, found `POST`")),
        );
        check_route(
            "GET",
            "/api/other/api/v1/agents/*",
            Err((404, "unknown organisation `other`")),
        );
        check_route(
            "GET",
            "/api/demo/api/v1/templates/*",
            Err((404, "the emulator serves `agents` only, found `templates`")),
        );
        check_route(
            "GET",
            &format!("{base}/PC1"),
            Err((404, "expected an agent id or `*`, found `PC1`")),
        );
        check_route(
            "GET",
            &format!("{base}/{id}/count"),
            Err((404, &format!("no endpoint at `{base}/{id}/count`"))),
        );
        check_route("GET", "/", Err((404, "no endpoint at `/`")));
        check_route(
            "GET",
            &format!("{base}//*"),
            Err((404, "expected an agent id or `*`, found ``")),
        );
    }

    #[track_caller]
    fn check_query(raw: &str, expected: Result<Option<&str>, &str>) {
        let got = parse_query(Some(raw), Endpoint::List).map(|q| q.filter).map_err(|e| e.message);
        let want = expected.map(|f| f.map(str::to_string)).map_err(str::to_string);
        assert_eq!(got, want, "{raw}");
    }

    #[test]
    fn query_decoding() {
        check_query(
            "filter=(certificate/not-after+lt+'2024-09-22+00:00:00+UTC')",
            Ok(Some("(certificate/not-after lt '2024-09-22 00:00:00 UTC')")),
        );
        check_query(
            "filter=%28certificate%2Fnot-after%20lt%20%222024-09-22%2000%3A00%3A00%20UTC%22%29",
            Ok(Some("(certificate/not-after lt \"2024-09-22 00:00:00 UTC\")")),
        );
        check_query("filter=%28q%3D%22a%2Bb%26c%3Dd%22%29", Ok(Some("(q=\"a+b&c=d\")")));
        check_query("limit=5&offset=1", Ok(None));
        check_query("limit=5&other=1", Err("unknown query parameter `other`"));
        check_query("Filter=(a=1)", Err("unknown query parameter `Filter`"));
        check_query("filter%3D(a=1)", Err("unknown query parameter `filter=(a`"));
        check_query("filter=%ZZ", Err("invalid percent escape `%ZZ` at byte 8 of the query"));
        check_query("filter=a%2", Err("invalid percent escape `%2` at byte 9 of the query"));
        check_query("filter=100%", Err("invalid percent escape `%` at byte 11 of the query"));
        check_query("filter=%e9%", Err("invalid percent escape `%` at byte 11 of the query"));
        check_query("filter=a&filter=b", Err("query parameter `filter` is given twice"));
        check_query("filter=%FF", Err("query component `%FF` is not UTF-8 once decoded"));
    }
}
