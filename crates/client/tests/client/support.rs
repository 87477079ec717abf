//! Shared helpers: a global TRACE subscriber writing into a buffer, clients
//! with fast retry settings, the emulator, and a recording HTTP server.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Response};
use nxlog_client::{Client, Config, ConfigBuilder, RetryPolicy, SecretString};
use nxlog_emulator::Emulator;

pub const RW: &str = "demo-rw-token";
pub const RO: &str = "demo-ro-token";

/// Everything every test in this binary logged, at TRACE level, including
/// reqwest's and hyper's own output.
static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the global subscriber once; every test calls it first.
pub fn init() {
    LOG.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = Sink(buffer.clone());
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .try_init()
            .expect("the only global subscriber of this test binary");
        buffer
    });
}

/// The captured log text so far.
pub fn log_text() -> String {
    init();
    String::from_utf8_lossy(&LOG.get().unwrap().lock().unwrap()).into_owned()
}

/// A retry policy quick enough for tests: 3 retries, 10-40 ms, 5 s budget.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy::default()
        .max_retries(3)
        .backoff(Duration::from_millis(10), Duration::from_millis(40))
        .budget(Duration::from_secs(5))
}

pub fn secret(token: &str) -> SecretString {
    SecretString::from(token.to_owned())
}

/// A config builder for `base` with org `demo`, `token` and fast retries.
pub fn config(base: &str, token: &str) -> ConfigBuilder {
    Config::builder(base, "demo", secret(token)).retry(fast_retry()).timeout(Duration::from_secs(5))
}

/// A client for `base` with the read-write token.
pub fn client(base: &str) -> Client {
    Client::new(config(base, RW).build().unwrap()).unwrap()
}

/// An emulator with `n` demo agents.
pub async fn emulator(n: usize) -> Emulator {
    init();
    Emulator::builder().demo(n, 7).spawn().await.expect("emulator starts")
}

/// One request as the recording server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The client's address: the same port means the same connection.
    pub peer: SocketAddr,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
}

impl Seen {
    pub fn authorization(&self) -> Option<String> {
        self.headers
            .get("authorization")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    }
}

type Responder = Arc<dyn Fn(&Seen) -> Response<Body> + Send + Sync>;

/// A loopback HTTP server that records every request, headers included,
/// and answers with `respond`.
pub struct Recorder {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn spawn(
        respond: impl Fn(&Seen) -> Response<Body> + Send + Sync + 'static,
    ) -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Recorder::serve(listener, Arc::new(respond))
    }

    /// Serves on an already bound listener (to choose the port first).
    pub fn serve(listener: tokio::net::TcpListener, respond: Responder) -> Recorder {
        init();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let app = axum::Router::new().fallback(
            move |ConnectInfo(peer): ConnectInfo<SocketAddr>, request: Request| {
                let (log, respond) = (log.clone(), respond.clone());
                async move {
                    let seen = Seen {
                        peer,
                        method: request.method().to_string(),
                        path: request.uri().path().to_owned(),
                        query: request.uri().query().map(str::to_owned),
                        headers: request.headers().clone(),
                    };
                    let response = respond(&seen);
                    log.lock().unwrap().push(seen);
                    response
                }
            },
        );
        let task = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .await
                .unwrap();
        });
        Recorder { addr, seen, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A response with `status`, extra headers and a body.
pub fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Response<Body> {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).unwrap()
}

/// A JSON `200`.
pub fn ok_json(body: &str) -> Response<Body> {
    answer(200, &[("content-type", "application/json")], body)
}

/// Percent-decodes a query value the way a form decoder does (`+` is a
/// space), as a server would.
pub fn form_decode(value: &str) -> String {
    let spaced = value.replace('+', " ");
    let bytes = spaced.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

/// The query parameters of a raw query string, values still encoded.
pub fn params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The raw (still encoded) value of the single `filter` parameter.
pub fn filter_param(query: &str) -> String {
    let filters: Vec<String> =
        params(query).into_iter().filter(|(k, _)| k == "filter").map(|(_, v)| v).collect();
    assert_eq!(filters.len(), 1, "exactly one filter parameter in `{query}`");
    filters.into_iter().next().unwrap()
}
