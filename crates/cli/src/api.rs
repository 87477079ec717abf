//! The few calls the CLI makes, on top of `nxlog-client`, and the mapping of
//! its errors to exit codes.

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use nxlog_client::{
    AgentId, AgentResult, Client, Config, ConfigError, ErrorClass, SecretString, Selector, Target,
};
use nxlog_filter::Filter;
use tracing::{debug, trace};

use crate::config::Connection;
use crate::error::{Exit, Failure, Result};

/// Command requests in flight at once for `--id` selections, unless
/// `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: u16 = 16;

/// How one agent's own command request ended: the server's result for that
/// agent (`None` when the answer did not mention it), or the error that
/// stopped the request.
pub type IdResult = std::result::Result<Option<Item>, nxlog_client::Error>;

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
        Api::connect_with(connection, usize::from(DEFAULT_CONCURRENCY))
    }

    /// Builds the client with at most `concurrency` per-agent command
    /// requests in flight at once; nothing is sent yet.
    pub fn connect_with(connection: &Connection, concurrency: usize) -> Result<Api> {
        let token = SecretString::from(connection.token.expose().to_owned());
        let mut builder =
            Config::builder(&connection.url, &connection.org, token).concurrency(concurrency);
        if let Some(path) = &connection.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| {
                Failure::usage(format!("cannot read the CA bundle `{}`: {e}", path.display()))
            })?;
            debug!("trusting the CA certificates in `{}`", path.display());
            builder = builder.ca_bundle_pem(pem);
        }
        let config = builder.build().map_err(|e| Failure::usage(e.to_string()))?;
        debug!("api base: {}", config.api_base());
        let client = Client::new(config).map_err(|e| match (&e, &connection.ca_bundle) {
            // The client saw only the bytes: name the file they came from.
            (nxlog_client::Error::Config(ConfigError::CaBundle { reason }), Some(path)) => {
                ca_bundle_failure(path, reason)
            }
            _ => failure(e),
        })?;
        Ok(Api { client })
    }

    /// Every agent matching `filter` (every agent for `None`), all pages.
    pub async fn list(&self, filter: Option<&Filter>, progress: bool) -> Result<Vec<Row>> {
        let bar = progress_bar(progress);
        let mut rows = Vec::new();
        self.list_into(&selector(filter), &bar, &mut rows).await?;
        bar.finish_and_clear();
        debug!("{} listed", crate::bulk::agents(rows.len()));
        Ok(rows)
    }

    /// Every agent matching any of `filters`, one listing per filter (all
    /// pages each), joined in order; one spinner for them all.
    pub async fn list_each(&self, filters: &[Filter], progress: bool) -> Result<Vec<Row>> {
        let bar = progress_bar(progress);
        let mut rows = Vec::new();
        for filter in filters {
            self.list_into(&Selector::Filter(filter.clone()), &bar, &mut rows).await?;
        }
        bar.finish_and_clear();
        debug!("{} listed in {} listings", crate::bulk::agents(rows.len()), filters.len());
        Ok(rows)
    }

    async fn list_into(
        &self,
        selector: &Selector,
        bar: &ProgressBar,
        rows: &mut Vec<Row>,
    ) -> Result<()> {
        let mut stream = std::pin::pin!(self.client.list(selector));
        while let Some(agent) = stream.try_next().await.map_err(failure)? {
            trace!(id = %crate::output::safe(&agent.id), "listed");
            rows.push(row(&agent));
            bar.inc(1);
        }
        Ok(())
    }

    /// Sends the command to the agents matching `filter`.
    pub async fn send(&self, kind: JobKind, filter: Option<&Filter>) -> Result<Vec<Item>> {
        let target = Target::from(selector(filter));
        let report = self.client.run(kind.command(), &target).await.map_err(failure)?;
        let items = report.results.iter().map(item).collect();
        Ok(items)
    }

    /// Sends the command to each agent with its own request
    /// (`POST agents/<id>/...`), at most the configured concurrency at a
    /// time; yields one `(id, result)` per id as each completes.
    pub fn send_each(
        &self,
        kind: JobKind,
        ids: Vec<AgentId>,
    ) -> BoxStream<'static, (String, IdResult)> {
        self.client
            .run_each(kind.command(), ids)
            .map(|outcome| {
                let id = outcome.id.as_str().to_owned();
                let result = outcome.result.map(|results| {
                    results.iter().find(|r| r.id.eq_ignore_ascii_case(&id)).map(item)
                });
                (id, result)
            })
            .boxed()
    }

    /// One agent's command request as a curl line, the token shown as `***`.
    pub fn id_curl(&self, kind: JobKind, id: &AgentId) -> String {
        curl_line(&self.client.id_command_url(kind.command(), id))
    }

    /// The command request as a curl line, the token shown as `***`.
    pub fn curl(&self, kind: JobKind, filter: Option<&Filter>) -> String {
        curl_line(&self.client.command_url(kind.command(), &selector(filter)))
    }
}

fn curl_line(url: &nxlog_client::Url) -> String {
    format!("curl --request POST --url '{url}' --header 'Authorization: Bearer ***' --data ''")
}

fn item(result: &AgentResult) -> Item {
    let (id, status) =
        (crate::output::safe(&result.id), crate::output::safe(result.status.as_str()));
    trace!(%id, %status, "result");
    Item {
        id: result.id.clone(),
        status: result.status.as_str().to_owned(),
        message: result.error.as_ref().map(|e| e.message.clone().unwrap_or_else(|| e.raw.clone())),
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

/// A bar on stderr while sending one request per agent, only on a terminal.
pub fn send_bar(visible: bool, len: usize, verb: &str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    let template = format!("{{bar:30}} {verb}: {{pos}}/{{len}} agents ({{elapsed}})");
    let style = ProgressStyle::with_template(&template);
    bar.set_style(style.unwrap_or_else(|_| ProgressStyle::default_bar()));
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    bar
}

/// A CA bundle the client refused, named by the file it was read from.
fn ca_bundle_failure(path: &std::path::Path, reason: &str) -> Failure {
    Failure::usage(format!("invalid CA bundle `{}`: {reason}", path.display()))
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
