//! The few calls the CLI makes, on top of `nxlog-client`, and the mapping of
//! its errors to exit codes.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nxlog_client::{Client, Config, ErrorClass, SecretString, Selector, Target};
use nxlog_filter::Filter;
use tracing::{debug, trace};

use crate::config::Connection;
use crate::error::{Exit, Failure, Result};

/// The command a bulk run sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// `certificate/renew`.
    Renew,
    /// `files-sync`.
    FilesSync,
}

impl JobKind {
    /// The command's name as users type it.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Renew => "certificate renew",
            JobKind::FilesSync => "files-sync",
        }
    }

    /// The verb for messages: "renew 3 agents".
    pub fn verb(self) -> &'static str {
        match self {
            JobKind::Renew => "renew",
            JobKind::FilesSync => "files-sync",
        }
    }

    fn command(self) -> nxlog_client::Command {
        match self {
            JobKind::Renew => nxlog_client::Command::Renew,
            JobKind::FilesSync => nxlog_client::Command::FilesSync,
        }
    }
}

/// One listed agent, reduced to what the CLI shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The agent's id.
    pub id: String,
    /// Host name, when the server sends it.
    pub hostname: Option<String>,
    /// Whether it is online, when the server says.
    pub online: Option<bool>,
    /// The server's status word (`online`, `offline`, `warning`, ...), when
    /// it sends one; `warning` marks an agent waiting for files-sync.
    pub status: Option<String>,
    /// Certificate expiry, when the server sends a readable one.
    pub not_after: Option<DateTime<Utc>>,
}

/// The server's answer for one agent.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    /// The agent's id.
    pub id: String,
    /// `success`, `error` or whatever the server said.
    pub status: String,
    /// The server's message for an error.
    pub message: Option<String>,
}

/// A connected client.
#[derive(Debug)]
pub struct Api {
    client: Client,
}

impl Api {
    /// Builds the client; nothing is sent yet.
    pub fn connect(connection: &Connection) -> Result<Api> {
        let token = SecretString::from(connection.token.expose().to_owned());
        let mut builder = Config::builder(&connection.url, &connection.org, token);
        if let Some(path) = &connection.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Failure::usage(format!("cannot read the CA bundle `{}`: {e}", path.display()))
            })?;
            debug!("trusting the CA certificates in `{}`", path.display());
            builder = builder.ca_bundle_pem(pem);
        }
        let config = builder.build().map_err(|e| Failure::usage(e.to_string()))?;
        debug!("api base: {}", config.api_base());
        let client = Client::new(config).map_err(failure)?;
        Ok(Api { client })
    }

    /// Every agent matching `filter` (every agent for `None`), all pages.
    pub async fn list(&self, filter: Option<&Filter>, progress: bool) -> Result<Vec<Row>> {
        let selector = selector(filter);
        let bar = progress_bar(progress);
        let mut stream = std::pin::pin!(self.client.list(&selector));
        let mut rows = Vec::new();
        while let Some(agent) = stream.try_next().await.map_err(failure)? {
            trace!(id = %agent.id, "listed");
            rows.push(row(&agent));
            bar.inc(1);
        }
        bar.finish_and_clear();
        debug!("{} listed", crate::bulk::agents(rows.len()));
        Ok(rows)
    }

    /// Sends the command to the agents matching `filter`.
    pub async fn send(&self, kind: JobKind, filter: Option<&Filter>) -> Result<Vec<Item>> {
        let target = Target::from(selector(filter));
        let report = self.client.run(kind.command(), &target).await.map_err(failure)?;
        let items = report
            .results
            .iter()
            .map(|r| {
                trace!(id = %r.id, status = r.status.as_str(), "result");
                Item {
                    id: r.id.clone(),
                    status: r.status.as_str().to_owned(),
                    message: r
                        .error
                        .as_ref()
                        .map(|e| e.message.clone().unwrap_or_else(|| e.raw.clone())),
                }
            })
            .collect();
        Ok(items)
    }

    /// The command request as a curl line, the token shown as `***`.
    pub fn curl(&self, kind: JobKind, filter: Option<&Filter>) -> String {
        let url = self.client.command_url(kind.command(), &selector(filter));
        format!("curl --request POST --url '{url}' --header 'Authorization: Bearer ***' --data ''")
    }
}

fn selector(filter: Option<&Filter>) -> Selector {
    match filter {
        Some(filter) => Selector::Filter(filter.clone()),
        None => Selector::All,
    }
}

fn row(agent: &nxlog_client::Agent) -> Row {
    Row {
        id: agent.id.clone(),
        hostname: agent.hostname.clone(),
        online: agent.online,
        status: agent.extra.get("status").and_then(|s| s.as_str()).map(str::to_owned),
        not_after: agent.certificate.as_ref().and_then(|c| c.not_after_time()),
    }
}

/// A spinner on stderr while listing, only on a terminal.
fn progress_bar(visible: bool) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{spinner} listing agents: {pos} so far ({elapsed})");
    bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_spinner()));
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

/// Maps a client error to an exit code: 4 for 401/403, 2 for bad input,
/// 1 for everything else.
pub fn failure(error: nxlog_client::Error) -> Failure {
    let message = error.to_string();
    match error.class() {
        ErrorClass::Authentication | ErrorClass::Authorization => {
            Failure::new(Exit::Auth, "auth", message)
        }
        ErrorClass::Usage => Failure::usage(message),
        ErrorClass::Network => Failure::new(Exit::Unexpected, "network", message),
        ErrorClass::Api => Failure::new(Exit::Unexpected, "api", message),
        _ => Failure::new(Exit::Unexpected, "protocol", message),
    }
}
