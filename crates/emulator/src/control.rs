//! The `/_emulator/` control endpoints, for loopback clients only.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
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
    next.run(request).await
}

async fn list_faults(State(shared): State<Arc<Shared>>) -> Response {
    let list: Vec<_> = shared.faults.snapshot().iter().map(|s| s.to_json()).collect();
    json_response(StatusCode::OK, &list)
}

async fn add_fault(State(shared): State<Arc<Shared>>, body: String) -> Response {
    match Fault::from_json(&body) {
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
    body: String,
) -> Response {
    let Ok(id) = Uuid::try_parse(&id) else {
        let message = format!("expected an agent id, found `{id}`");
        return ApiError::new(StatusCode::NOT_FOUND, message, "agent ids are UUIDs")
            .into_response();
    };
    let update: AgentUpdate = match serde_json::from_str(&body) {
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
}
