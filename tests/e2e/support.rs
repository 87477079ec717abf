//! A live emulator on a background runtime, and the built `nxagents` binary
//! pointed at it with a clean environment.

use std::path::Path;

use assert_cmd::Command;
use chrono::{DateTime, Utc};
use nxlog_emulator::{Emulator, Fault, RequestRecord, Role};
use serde_json::Value;

/// The instant every test fleet is dated from.
pub const NOW: &str = "2026-01-15T12:00:00Z";
/// Read-write token of the test servers.
pub const RW_TOKEN: &str = "tok-SECRET-0123";
/// Read-only token of the test servers.
pub const RO_TOKEN: &str = "tok-READONLY-0456";

/// An emulator serving a fixed demo fleet, and the runtime it runs on.
pub struct Server {
    emulator: Option<Emulator>,
    runtime: tokio::runtime::Runtime,
}

impl Server {
    /// `count` demo agents from `seed`, dated from [`NOW`].
    pub fn demo(count: usize, seed: u64) -> Server {
        Server::start(Emulator::builder().demo(count, seed))
    }

    /// An emulator from a builder, its clock at [`NOW`].
    pub fn start(builder: nxlog_emulator::Builder) -> Server {
        Server::start_at(builder, NOW)
    }

    /// An emulator from a builder with its clock at `now`; the test tokens
    /// are added here.
    pub fn start_at(builder: nxlog_emulator::Builder, now: &str) -> Server {
        let now: DateTime<Utc> = now.parse().expect("a valid instant");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let builder =
            builder.now(now).token(RW_TOKEN, Role::ReadWrite).token(RO_TOKEN, Role::ReadOnly);
        let emulator = runtime.block_on(builder.spawn()).expect("the emulator starts");
        Server { emulator: Some(emulator), runtime }
    }

    fn emulator(&self) -> &Emulator {
        self.emulator.as_ref().expect("running")
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.emulator().base_url()
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.emulator().requests()
    }

    /// The `POST` requests so far.
    pub fn posts(&self) -> Vec<RequestRecord> {
        self.requests().into_iter().filter(|r| r.method == "POST").collect()
    }

    /// The fleet's current state.
    pub fn agents(&self) -> Vec<Value> {
        self.emulator().agents()
    }

    /// Ids of the agents for which `pick` holds.
    pub fn ids_where(&self, pick: impl Fn(&Value) -> bool) -> Vec<String> {
        self.agents()
            .iter()
            .filter(|a| pick(a))
            .map(|a| a["id"].as_str().expect("an id").to_owned())
            .collect()
    }

    /// Brings an agent online; `false` if there is no such agent.
    pub fn set_online(&self, id: uuid::Uuid, online: bool) -> bool {
        self.emulator().set_online(id, online)
    }

    /// Adds a fault.
    pub fn inject(&self, fault: Fault) {
        self.emulator().inject(fault);
    }

    /// `nxagents` with this server's URL and org, the read-write token, and
    /// nothing from the environment of whoever runs the tests.
    pub fn cmd(&self) -> Command {
        let mut cmd = bare_cmd();
        cmd.env("NXLOG_URL", self.url()).env("NXLOG_ORG", "demo").env("NXLOG_TOKEN", RW_TOKEN);
        cmd
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            let _ = self.runtime.block_on(emulator.shutdown());
        }
    }
}

/// `nxagents` with an empty environment: no connection settings, no user
/// configuration, no colour, stdin empty (so never a terminal).
pub fn bare_cmd() -> Command {
    let mut cmd = Command::cargo_bin("nxagents").expect("the nxagents binary");
    for var in ["NXLOG_URL", "NXLOG_ORG", "NXLOG_TOKEN", "NXLOG_PROFILE", "RUST_LOG"] {
        cmd.env_remove(var);
    }
    cmd.env("XDG_CONFIG_HOME", "/nonexistent/nxagents-tests")
        .env("HOME", "/nonexistent/nxagents-tests")
        .env("NO_COLOR", "1")
        .write_stdin("");
    cmd
}

/// What a finished command printed.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Output {
    let output = cmd.output().expect("nxagents runs");
    Output {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The `filter` query parameter of a request, percent-decoded once, with
/// `+` kept as a plus (our client never form-encodes).
pub fn decoded_filter(request: &RequestRecord) -> Option<String> {
    let query = request.query.as_deref()?;
    let value = query.split('&').find_map(|pair| pair.strip_prefix("filter="))?;
    Some(percent_decode(value))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Replaces the server's port so snapshots are stable.
pub fn redact_url(text: &str, server: &Server) -> String {
    text.replace(&server.url(), "http://127.0.0.1:PORT")
}

/// Reads a JSON file.
pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the file exists");
    serde_json::from_str(&text).expect("the file is JSON")
}
