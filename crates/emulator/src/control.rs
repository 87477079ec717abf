//! The `/_emulator/` control endpoints, for loopback clients only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use uuid::Uuid;

use crate::api::{ApiError, json_response};
use crate::fault::Fault;
use crate::server::Shared;

/// The control routes, refusing clients that are not on loopback.
pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/_emulator/requests", get(list_requests).delete(clear_requests))
        .route("/_emulator/state", get(state))
        .route("/_emulator/agents/{id}", post(update_agent))
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn(loopback_only))
}

/// Whether a peer may use the control endpoints.
pub(crate) fn is_loopback(peer: SocketAddr) -> bool {
    match peer.ip() {
        std::net::IpAddr::V4(ip) => ip.is_loopback(),
        std::net::IpAddr::V6(ip) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Whether a `Host` header names loopback: `localhost`, `127.x.x.x` or
/// `[::1]`, with or without a port. A web page the browser loads from
/// another site (or a DNS name rebound to 127.0.0.1) sends its own host name.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    let name = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, "")) => ip,
            Some((ip, port)) if port.strip_prefix(':').is_some_and(digits) => ip,
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) if digits(port) => name,
            Some(_) => return false,
            None => host,
        },
    };
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    name.parse::<std::net::IpAddr>().is_ok_and(|ip| is_loopback(SocketAddr::new(ip, 0)))
}

/// Whether a `Content-Type` is JSON (`application/json`, any parameters).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Loopback peer, loopback `Host`, and JSON on `POST`: a web page can then
/// neither send a simple cross-origin form (its type is not JSON) nor reach
/// the endpoints through a rebound DNS name (its `Host` is not loopback).
async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    if !peer.is_some_and(is_loopback) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "control endpoints answer loopback clients only",
            "connect from 127.0.0.1 or ::1",
        )
        .into_response();
    }
    let host = request.headers().get(header::HOST).map(|h| h.to_str().unwrap_or("?"));
    if !host.is_some_and(is_loopback_host) {
        let found = host.map_or("no `Host` header".to_string(), |h| format!("`{h}`"));
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!("control endpoints need a loopback `Host` header, found {found}"),
            "address the emulator as localhost, 127.0.0.1 or [::1]",
        )
        .into_response();
    }
    if request.method() == Method::POST {
        let content_type =
            request.headers().get(header::CONTENT_TYPE).map(|h| h.to_str().unwrap_or("?"));
        if !content_type.is_some_and(is_json) {
            let found = content_type.map_or("none".to_string(), |c| format!("`{c}`"));
            return ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected content type `application/json`, found {found}"),
                "send `Content-Type: application/json` with a JSON body",
            )
            .into_response();
        }
    }
    next.run(request).await
}

async fn wrong_method(method: Method) -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method `{method}` is not served here"),
        "see the control endpoints in the emulator's README",
    )
    .into_response()
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<_> = shared.faults.snapshot().iter().map(|s| s.to_json()).collect();
    json_response(StatusCode::OK, &list)
}

/// The body as UTF-8 text, or a JSON `400`.
fn text(body: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, format!("body is not UTF-8: {e}"), "send JSON text")
    })
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match text(&body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    match Fault::from_json(body) {
        Ok(fault) => {
            let json = fault.to_json();
            shared.faults.inject(fault);
            json_response(StatusCode::CREATED, &json)
        }
        Err(e) => {
            let help = "send one fault object, e.g. {\"kind\":\"status\",\"code\":503,\"times\":2}";
            ApiError::new(StatusCode::BAD_REQUEST, e.to_string(), help).into_response()
        }
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.faults.clear();
    StatusCode::NO_CONTENT
}

async fn list_requests(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &shared.log.snapshot())
}

async fn clear_requests(State(shared): State<Arc<Shared>>) -> StatusCode {
    shared.log.clear();
    StatusCode::NO_CONTENT
}

async fn state(State(shared): State<Arc<Shared>>) -> Response {
    let agents = shared.fleet().agents().to_vec();
    json_response(StatusCode::OK, &agents)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentUpdate {
    online: bool,
}

async fn update_agent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body = match text(&body) {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let Ok(id) = Uuid::try_parse(&id) else {
        let message = format!("expected an agent id, found `{id}`");
        return ApiError::new(StatusCode::NOT_FOUND, message, "agent ids are UUIDs")
            .into_response();
    };
    let update: AgentUpdate = match serde_json::from_str(body) {
        Ok(update) => update,
        Err(e) => {
            let help = "send {\"online\": true} or {\"online\": false}";
            return ApiError::new(StatusCode::BAD_REQUEST, e.to_string(), help).into_response();
        }
    };
    if shared.fleet_mut().set_online(id, update.online).is_none() {
        let message = format!("no agent with id `{id}`");
        return ApiError::new(StatusCode::NOT_FOUND, message, "see GET /_emulator/state")
            .into_response();
    }
    let agent = shared.fleet().get(id).cloned();
    json_response(StatusCode::OK, &agent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(peer: &str, expected: bool) {
        assert_eq!(is_loopback(peer.parse().unwrap()), expected, "{peer}");
    }

    #[test]
    fn only_loopback_peers_may_control() {
        check("127.0.0.1:5000", true);
        check("127.8.9.10:5000", true);
        check("[::1]:5000", true);
        check("[::ffff:127.0.0.1]:5000", true);
        check("192.0.2.2:5000", false);
        check("10.0.0.1:5000", false);
        check("[::ffff:10.0.0.1]:5000", false);
        check("[fd00::2]:5000", false);
        check("0.0.0.0:5000", false);
    }

    #[track_caller]
    fn check_host(host: &str, expected: bool) {
        assert_eq!(is_loopback_host(host), expected, "{host}");
    }

    #[test]
    fn only_loopback_hosts_may_control() {
        check_host("localhost", true);
        check_host("LocalHost:8080", true);
        check_host("127.0.0.1", true);
        check_host("127.0.0.1:40123", true);
        check_host("127.1.2.3:1", true);
        check_host("[::1]", true);
        check_host("[::1]:40123", true);
        check_host("[::ffff:127.0.0.1]:1", true);
        check_host("evil.example", false);
        check_host("evil.example:40123", false);
        check_host("localhost.evil.example", false);
        check_host("127.0.0.1.nip.io:80", false);
        check_host("localhost:", false);
        check_host("localhost:80x", false);
        check_host("[::1]x", false);
        check_host("[::2]:1", false);
        check_host("::1", false);
        check_host("10.0.0.1:80", false);
        check_host("", false);
        check_host("?", false);
    }
}
