//! The accept loop, the per-request wrapper (faults, request log, log line)
//! and graceful shutdown.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use chrono::{DateTime, SubsecRound, Utc};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower_service::Service;

use crate::Error;
use crate::api::{Matched, json_response};
use crate::fault::{FaultAction, Faults};
use crate::fleet::{Fleet, write_state};
use crate::tokens::Tokens;

/// How long a graceful shutdown waits for requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// One request as the emulator received it. The `Authorization` header's
/// value is never kept, only whether it was present.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub path: String,
    /// The raw query string as sent, without the `?`.
    pub query: Option<String>,
    /// Whether an `Authorization` header was present.
    pub authorization: bool,
    /// The status answered; `None` while in flight or when the connection
    /// was dropped by a fault.
    pub status: Option<u16>,
}

/// The most recent requests, oldest first.
#[derive(Debug)]
pub(crate) struct RequestLog {
    inner: Mutex<(u64, VecDeque<RequestRecord>)>,
    limit: usize,
}

impl RequestLog {
    pub(crate) fn new(limit: usize) -> RequestLog {
        RequestLog { inner: Mutex::new((0, VecDeque::new())), limit }
    }

    fn push(&self, record: RequestRecord) -> u64 {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (first, records) = &mut *inner;
        if records.len() == self.limit {
            records.pop_front();
            *first += 1;
        }
        records.push_back(record);
        *first + records.len() as u64 - 1
    }

    fn set_status(&self, seq: u64, status: u16) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (first, records) = &mut *inner;
        let index = seq.checked_sub(*first).and_then(|i| usize::try_from(i).ok());
        if let Some(record) = index.and_then(|i| records.get_mut(i)) {
            record.status = Some(status);
        }
    }

    pub(crate) fn snapshot(&self) -> Vec<RequestRecord> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.iter().cloned().collect()
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (first, records) = &mut *inner;
        *first += records.len() as u64;
        records.clear();
    }
}

/// Everything the handlers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) org: String,
    pub(crate) tokens: Tokens,
    pub(crate) fleet: RwLock<Fleet>,
    pub(crate) faults: Faults,
    pub(crate) log: RequestLog,
    pub(crate) clock: Option<DateTime<Utc>>,
    pub(crate) validity: chrono::Duration,
    pub(crate) state_out: Option<PathBuf>,
}

impl Shared {
    /// The emulator's clock: fixed when configured, else the system clock,
    /// in whole seconds like certificate times.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.unwrap_or_else(|| Utc::now().trunc_subsecs(0))
    }

    pub(crate) fn fleet(&self) -> RwLockReadGuard<'_, Fleet> {
        self.fleet.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn fleet_mut(&self) -> RwLockWriteGuard<'_, Fleet> {
        self.fleet.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes the fleet to commands and writes `--state-out`, if set.
    pub(crate) fn write_final_state(&self) -> Result<(), Error> {
        // Written under the lock, from the fleet itself: no copy of a large
        // fleet, and no command can slip in between.
        let mut fleet = self.fleet_mut();
        let agents = fleet.close();
        match &self.state_out {
            Some(path) => write_state(path, agents),
            None => Ok(()),
        }
    }
}

/// The error a service returns to make hyper close the connection unanswered.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Accepts connections until `stop` flips, then drains and writes the state.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), Error> {
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();

    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Running out of descriptors must not end the server.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let shared = shared.clone();
                let service = hyper::service::service_fn(move |request| {
                    handle(router.clone(), shared.clone(), peer, request)
                });
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                connections.spawn(async move {
                    if let Err(e) = connection.await {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stop.changed() => break,
        }
    }

    // Stop accepting, let requests in flight finish, then snapshot.
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}; closing them");
    }
    connections.shutdown().await;
    shared.write_final_state()
}

/// Wraps every request: request log, faults, the router, the log line.
async fn handle(
    mut router: Router,
    shared: Arc<Shared>,
    peer: SocketAddr,
    mut request: Request<Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let is_control = path.starts_with("/_emulator/");

    // Control requests are neither logged as traffic nor subject to faults.
    let mut seq = None;
    let mut action = None;
    if !is_control {
        seq = Some(shared.log.push(RequestRecord {
            method: method.clone(),
            path: path.clone(),
            query: request.uri().query().map(str::to_string),
            authorization: request.headers().contains_key(header::AUTHORIZATION),
            status: None,
        }));
        let (delay, picked) = shared.faults.pick(&method, &path);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        action = picked;
    }

    let path_and_query =
        request.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
    let response = match action {
        Some(FaultAction::Drop) => {
            tracing::info!(%method, path = %path_and_query, status = "dropped", fault = true, "request");
            return Err(DropConnection);
        }
        Some(FaultAction::Truncate) => {
            request.extensions_mut().insert(ConnectInfo(peer));
            let response = call(&mut router, request).await;
            truncate(response).await
        }
        Some(other) => fault_response(other, &path_and_query),
        None => {
            request.extensions_mut().insert(ConnectInfo(peer));
            call(&mut router, request).await
        }
    };

    let status = response.status().as_u16();
    if let Some(seq) = seq {
        shared.log.set_status(seq, status);
    }
    let matched = response.extensions().get::<Matched>().map_or(0, |m| m.0);
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, path = %path_and_query, status, ms = format_args!("{ms:.2}"), matched, "request");
    Ok(response)
}

async fn call(router: &mut Router, request: Request<Incoming>) -> Response<Body> {
    match router.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

fn fault_response(action: FaultAction, path_and_query: &str) -> Response<Body> {
    match action {
        FaultAction::Status { code, body } => {
            // `Fault::status` does not validate; a 1xx cannot end an
            // exchange, so such a code (like any invalid one) becomes 500.
            let status = StatusCode::from_u16(code)
                .ok()
                .filter(|s| !s.is_informational())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            match body {
                Some(body) => {
                    let mut response = Response::new(Body::from(body));
                    *response.status_mut() = status;
                    response
                }
                None => json_response(
                    status,
                    &serde_json::json!({
                        "message": format!("injected fault: status {code}"),
                        "help": "the emulator was told to fail this request",
                    }),
                ),
            }
        }
        FaultAction::RateLimit { retry_after } => {
            let mut response = json_response(
                StatusCode::TOO_MANY_REQUESTS,
                &serde_json::json!({ "message": "too many requests", "help": "wait and retry" }),
            );
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
        FaultAction::Redirect { code, location } => {
            let location = location.replace("{path}", path_and_query);
            // `Fault::redirect` does not validate; a redirect without its
            // `Location` would be a different fault, so say so instead.
            let Ok(value) = HeaderValue::from_str(&location) else {
                return json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &serde_json::json!({
                        "message": "injected redirect: the location is not a valid header value",
                        "help": "inject the redirect with a location free of control characters",
                    }),
                );
            };
            let mut response = Response::new(Body::empty());
            *response.status_mut() =
                StatusCode::from_u16(code).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        FaultAction::NonJson => {
            let mut response = Response::new(Body::from(
                "<!DOCTYPE html>\n<html><head><title>Gateway</title></head>\
                 <body><h1>Service temporarily unavailable</h1></body></html>\n",
            ));
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
            response
        }
        // Handled by the caller; kept total for the compiler.
        FaultAction::Delay(_) | FaultAction::Drop | FaultAction::Truncate => {
            Response::new(Body::empty())
        }
    }
}

/// Announces the full length but sends only the first half, then fails the
/// body so that hyper closes the connection.
async fn truncate(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(_) => bytes::Bytes::new(),
    };
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));

    // The pause lets hyper flush the head and the first half before the
    // failing chunk makes it abort the connection.
    let chunks = futures::stream::unfold(Some(half), |half| async move {
        match half {
            Some(half) => Some((Ok(half), None)),
            None => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let error = std::io::Error::other("truncated by an injected fault");
                Some((Err::<bytes::Bytes, _>(error), None))
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(chunks))
}
