//! A local NXLog Platform serving the agents API over real HTTP, for tests and rehearsals.
//!
//! The emulator holds a fleet of agents in memory, answers the listing,
//! count, renew and files-sync endpoints under `/api/<ORG>/api/v1/agents/`,
//! evaluates filters with `nxlog-filter`, checks bearer tokens, and can be told
//! to misbehave (status codes, delays, dropped connections, truncated or
//! non-JSON bodies, rate limits, redirects).
//!
//! ```no_run
//! # async fn demo() -> Result<(), nxlog_emulator::Error> {
//! use nxlog_emulator::{Emulator, Fault};
//!
//! let emu = Emulator::builder().demo(200, 7).org("demo").spawn().await?;
//! println!("{}", emu.api_base()); // http://127.0.0.1:PORT/api/demo/api/v1/
//! emu.inject(Fault::status(503).times(2));
//! // … run a client against emu.base_url() …
//! emu.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod agent;
mod api;
mod control;
mod demo;
mod error;
mod fault;
mod fleet;
mod server;
mod tokens;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, SubsecRound, Utc};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

pub use agent::{Agent, Certificate, Details, Status};
pub use api::{DEFAULT_LIMIT, MAX_LIMIT};
pub use demo::{DEFAULT_VALIDITY_DAYS, demo_fleet};
pub use error::Error;
pub use fault::{Fault, FaultAction, FaultStatus, MAX_FAULT_DELAY};
pub use server::RequestRecord;
pub use tokens::{DEFAULT_RO_TOKEN, DEFAULT_RW_TOKEN, Role};

use fleet::Fleet;
use server::{RequestLog, Shared};
use tokens::Tokens;

/// The organisation id served when none is configured.
pub const DEFAULT_ORG: &str = "demo";
/// The largest demo fleet [`Builder::demo`] generates.
pub const MAX_DEMO_AGENTS: usize = 10_000_000;
/// The longest validity of renewed certificates, in days (100 years).
pub const MAX_VALIDITY_DAYS: i64 = 36_525;
/// How many requests [`Emulator::requests`] keeps (the most recent ones).
pub const DEFAULT_REQUEST_LOG_LIMIT: usize = 100_000;

/// Where the fleet comes from.
#[derive(Debug)]
enum FleetSource {
    Demo { count: usize, seed: u64 },
    Agents(Vec<Agent>),
    Json(String),
    File(PathBuf),
}

/// Configures an emulator; [`Builder::spawn`] starts it.
#[derive(Debug)]
pub struct Builder {
    fleet: FleetSource,
    org: String,
    tokens: Tokens,
    tokens_file: Option<PathBuf>,
    listen: SocketAddr,
    clock: Option<DateTime<Utc>>,
    validity: chrono::Duration,
    state_out: Option<PathBuf>,
    faults: Vec<Fault>,
    request_log_limit: usize,
}

impl Default for Builder {
    fn default() -> Builder {
        Builder {
            fleet: FleetSource::Demo { count: 0, seed: 0 },
            org: DEFAULT_ORG.to_string(),
            tokens: Tokens::default(),
            tokens_file: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            clock: None,
            validity: chrono::Duration::days(DEFAULT_VALIDITY_DAYS),
            state_out: None,
            faults: Vec::new(),
            request_log_limit: DEFAULT_REQUEST_LOG_LIMIT,
        }
    }
}

impl Builder {
    /// Serves a deterministic demo fleet of `count` agents (see [`demo_fleet`]),
    /// dated relative to [`Builder::now`] or, if unset, the start time.
    pub fn demo(mut self, count: usize, seed: u64) -> Builder {
        self.fleet = FleetSource::Demo { count, seed };
        self
    }

    /// Serves these agents.
    pub fn agents(mut self, agents: Vec<Agent>) -> Builder {
        self.fleet = FleetSource::Agents(agents);
        self
    }

    /// Serves the agents of a fleet file's text (a JSON array of records).
    pub fn fleet_json(mut self, text: impl Into<String>) -> Builder {
        self.fleet = FleetSource::Json(text.into());
        self
    }

    /// Serves the agents of a fleet file.
    pub fn fleet_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.fleet = FleetSource::File(path.into());
        self
    }

    /// The organisation id in the URL (default `demo`).
    pub fn org(mut self, org: impl Into<String>) -> Builder {
        self.org = org.into();
        self
    }

    /// Accepts `token` with `role`. Once any token is given, the default
    /// tokens are no longer accepted.
    pub fn token(mut self, token: impl Into<String>, role: Role) -> Builder {
        self.tokens.insert(token.into(), role);
        self
    }

    /// Reads tokens from a file of `TOKEN rw|ro` lines.
    pub fn tokens_file(mut self, path: impl Into<PathBuf>) -> Builder {
        self.tokens_file = Some(path.into());
        self
    }

    /// The address to listen on (default `127.0.0.1:0`, any free port).
    pub fn listen(mut self, addr: SocketAddr) -> Builder {
        self.listen = addr;
        self
    }

    /// Fixes the emulator's clock: demo dates, renewals and relative filter
    /// times (`now-7d`) all use this instant, which never advances.
    pub fn now(mut self, now: DateTime<Utc>) -> Builder {
        self.clock = Some(now);
        self
    }

    /// Validity of renewed certificates (default 365 days); [`Builder::spawn`]
    /// refuses anything outside one second to [`MAX_VALIDITY_DAYS`] days.
    pub fn validity(mut self, validity: chrono::Duration) -> Builder {
        self.validity = validity;
        self
    }

    /// Writes the fleet's final state here on shutdown, atomically.
    /// [`Builder::spawn`] checks that its directory exists and takes a new file.
    pub fn state_out(mut self, path: impl Into<PathBuf>) -> Builder {
        self.state_out = Some(path.into());
        self
    }

    /// Injects a fault from the start.
    pub fn fault(mut self, fault: Fault) -> Builder {
        self.faults.push(fault);
        self
    }

    /// How many recent requests to keep for [`Emulator::requests`].
    pub fn request_log_limit(mut self, limit: usize) -> Builder {
        self.request_log_limit = limit.max(1);
        self
    }

    /// Loads the fleet, binds the socket and starts serving on the current
    /// tokio runtime. Once this returns, the server accepts connections.
    pub async fn spawn(self) -> Result<Emulator, Error> {
        let reference = self.clock.unwrap_or_else(|| Utc::now().trunc_subsecs(0));
        check_times(self.clock, reference, self.validity, &self.fleet)?;
        if let Some(path) = &self.state_out {
            fleet::check_state_out(path)?;
        }
        let fleet = match self.fleet {
            FleetSource::Demo { count, .. } if count > MAX_DEMO_AGENTS => {
                return Err(Error::Config(format!(
                    "demo fleet: expected at most {MAX_DEMO_AGENTS} agents, found {count}"
                )));
            }
            FleetSource::Demo { count, seed } => {
                Fleet::new(demo_fleet(count, seed, reference), "demo")?
            }
            FleetSource::Agents(agents) => Fleet::new(agents, "<agents>")?,
            FleetSource::Json(text) => Fleet::parse(&text, "<inline>")?,
            FleetSource::File(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
                    action: "read",
                    path: name.clone(),
                    source,
                })?;
                Fleet::parse(&text, &name)?
            }
        };

        let mut tokens = self.tokens;
        if let Some(path) = &self.tokens_file {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
                action: "read",
                path: name.clone(),
                source,
            })?;
            for (token, role) in Tokens::parse(&name, &text)?.into_pairs() {
                tokens.insert(token, role);
            }
        }
        if tokens.is_empty() {
            tokens = Tokens::defaults();
        }
        if self.org.is_empty() || self.org.contains('/') {
            return Err(Error::Config(format!(
                "organisation id: expected a non-empty path segment, found `{}`",
                self.org
            )));
        }

        let shared = Arc::new(Shared {
            org: self.org,
            tokens,
            fleet: RwLock::new(fleet),
            faults: Default::default(),
            log: RequestLog::new(self.request_log_limit),
            clock: self.clock,
            validity: self.validity,
            state_out: self.state_out,
        });
        for fault in self.faults {
            shared.faults.inject(fault);
        }

        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .map_err(|source| Error::Bind { addr: self.listen, source })?;
        let addr =
            listener.local_addr().map_err(|source| Error::Bind { addr: self.listen, source })?;
        let router = control::router().fallback(api::agents_api).with_state(shared.clone());
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::run(listener, router, shared.clone(), stopped));
        Ok(Emulator { addr, shared, stop, task: Some(task) })
    }
}

/// Refuses settings that would make the emulator write a time outside the
/// years 0000 to 9999: RFC 3339 has four-digit years only.
fn check_times(
    clock: Option<DateTime<Utc>>,
    reference: DateTime<Utc>,
    validity: chrono::Duration,
    source: &FleetSource,
) -> Result<(), Error> {
    let max = chrono::Duration::days(MAX_VALIDITY_DAYS);
    if validity < chrono::Duration::seconds(1) || validity > max {
        return Err(Error::Config(format!(
            "validity: expected 1 second to {MAX_VALIDITY_DAYS} days, found {} seconds",
            validity.num_seconds()
        )));
    }
    if let Some(now) = clock {
        let end = now.checked_add_signed(validity).filter(|t| agent::is_writable_time(*t));
        if !agent::is_writable_time(now) || end.is_none() {
            return Err(Error::Config(format!(
                "clock: certificates renewed at `{}` for {} days would end after {}; expected an earlier time",
                agent::format_time(now),
                validity.num_days(),
                agent::LATEST_TEXT
            )));
        }
    }
    if matches!(source, FleetSource::Demo { count, .. } if *count > 0) {
        // Demo certificates end up to two years after the reference time and
        // began up to four years before it.
        let year = chrono::Duration::days(DEFAULT_VALIDITY_DAYS);
        let first = reference.checked_sub_signed(year * 4);
        let last = reference.checked_add_signed(year * 2);
        let fits = [first, last].iter().all(|t| t.is_some_and(agent::is_writable_time));
        if !fits {
            return Err(Error::Config(format!(
                "demo fleet: dates from 4 years before to 2 years after `{}` leave the years 0000 to 9999",
                agent::format_time(reference)
            )));
        }
    }
    Ok(())
}

/// A running emulator. Dropping it stops the server without writing state;
/// [`Emulator::shutdown`] stops it gracefully and writes `state_out`.
#[derive(Debug)]
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), Error>>>,
}

impl Emulator {
    /// A builder with the defaults: empty demo fleet, org `demo`, the default
    /// tokens, `127.0.0.1:0`.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The socket address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash. When listening on
    /// every interface (`0.0.0.0` or `::`), the URL names loopback.
    pub fn base_url(&self) -> String {
        let mut addr = self.addr;
        if addr.ip().is_unspecified() {
            let loopback: std::net::IpAddr = if addr.is_ipv4() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                std::net::Ipv6Addr::LOCALHOST.into()
            };
            addr.set_ip(loopback);
        }
        format!("http://{addr}")
    }

    /// `http://127.0.0.1:PORT/api/<ORG>/api/v1/`, with a trailing slash.
    pub fn api_base(&self) -> String {
        format!("{}/api/{}/api/v1/", self.base_url(), self.shared.org)
    }

    /// The organisation id served.
    pub fn org(&self) -> &str {
        &self.shared.org
    }

    /// The fleet's current state, as the API returns agents.
    pub fn agents(&self) -> Vec<serde_json::Value> {
        self.shared.fleet().agents().iter().map(Agent::to_json).collect()
    }

    /// How many agents the fleet holds.
    pub fn agent_count(&self) -> usize {
        self.shared.fleet().agents().len()
    }

    /// The fleet's current state, typed.
    pub fn agent_records(&self) -> Vec<Agent> {
        self.shared.fleet().agents().to_vec()
    }

    /// One agent's current state, as the API returns it.
    pub fn agent(&self, id: Uuid) -> Option<serde_json::Value> {
        self.shared.fleet().get(id).map(Agent::to_json)
    }

    /// Brings an agent online or takes it offline; `false` if no such agent.
    pub fn set_online(&self, id: Uuid, online: bool) -> bool {
        self.shared.fleet_mut().set_online(id, online).is_some()
    }

    /// The requests received so far (most recent [`DEFAULT_REQUEST_LOG_LIMIT`]
    /// by default), oldest first. Control-endpoint requests are not included.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.log.snapshot()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.log.clear();
    }

    /// Adds a fault; faults are checked in the order they were added.
    pub fn inject(&self, fault: Fault) {
        self.shared.faults.inject(fault);
    }

    /// The faults with their counters.
    pub fn faults(&self) -> Vec<FaultStatus> {
        self.shared.faults.snapshot()
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Stops accepting, waits for requests in flight (up to 10 s), refuses
    /// further commands, and writes `state_out` if configured.
    pub async fn shutdown(mut self) -> Result<(), Error> {
        let _ = self.stop.send(true);
        match self.task.take() {
            Some(task) => task.await.map_err(|e| Error::Server(e.to_string()))?,
            None => Ok(()),
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
