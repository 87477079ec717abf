//! The client and its operations: list, count, get, renew, files-sync.

use std::fmt;
use std::sync::{Arc, OnceLock};

use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt, stream};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use tracing::debug;
use url::Url;

use crate::config::Config;
use crate::endpoint::Endpoints;
use crate::error::{Error, one_line};
use crate::model::{Agent, AgentResult, IdOutcome, Report, decode_results};
use crate::select::{AgentId, Selector, Target};
use crate::send::Transport;

/// Characters of a body shown in a decode error.
const SNIPPET: usize = 120;

/// A command run on agents with `POST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// `certificate/renew`: issue the agent a new TLS certificate.
    Renew,
    /// `files-sync`: push configuration files, and a renewed certificate, to
    /// an agent that was offline when it was renewed.
    FilesSync,
}

impl Command {
    /// The command's path below `agents/<id or *>/`, e.g. `certificate/renew`.
    pub fn path(self) -> &'static str {
        match self {
            Command::Renew => "certificate/renew",
            Command::FilesSync => "files-sync",
        }
    }

    fn segments(self) -> &'static [&'static str] {
        match self {
            Command::Renew => &["certificate", "renew"],
            Command::FilesSync => &["files-sync"],
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// A client for one organisation's agents API.
///
/// Cheap to clone: clones share one connection pool. `Debug` never shows
/// the token.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    transport: Transport,
    endpoints: Endpoints,
    page_size: u32,
    max_pages: u64,
    concurrency: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.inner.endpoints.api_base().as_str())
            .field("concurrency", &self.inner.concurrency)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Sets up the connection pool for `config`. No request is sent.
    pub fn new(config: Config) -> Result<Client, Error> {
        let transport = Transport::new(&config)?;
        Ok(Client {
            inner: Arc::new(Inner {
                transport,
                endpoints: config.endpoints,
                page_size: config.page_size,
                max_pages: config.max_pages,
                concurrency: config.concurrency,
            }),
        })
    }

    /// The API base requests start from, e.g.
    /// `https://agents.example.com/api/my-org/api/v1/`.
    pub fn api_base(&self) -> &Url {
        self.inner.endpoints.api_base()
    }

    /// Lists the selected agents, page by page, as a stream.
    ///
    /// The stream is boxed, so it is `Unpin` and `Send`.
    /// Pages are fetched lazily with `GET agents/*?filter=..&offset=N&limit=M`,
    /// `N` counting pages from 0. An empty page ends the listing; a short
    /// page does not, since a server may cap `limit` below what was asked.
    /// A server that answers a page with exactly the agents of the page
    /// before (it ignores `offset`) stops the stream with
    /// [`Error::Paging`] rather than looping for ever, and so does passing
    /// the configured page limit.
    ///
    /// ```no_run
    /// # async fn run(client: nxlog_client::Client) -> Result<(), nxlog_client::Error> {
    /// use futures::TryStreamExt;
    /// let mut agents = client.list(&nxlog_client::Selector::All);
    /// while let Some(agent) = agents.try_next().await? {
    ///     println!("{} {:?}", agent.id, agent.hostname);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn list(&self, selector: &Selector) -> BoxStream<'static, Result<Agent, Error>> {
        struct State {
            client: Client,
            filter: Option<String>,
            page: u64,
            previous: Option<Vec<String>>,
        }
        let state =
            State { client: self.clone(), filter: selector.query_value(), page: 0, previous: None };

        stream::try_unfold(state, |mut state| async move {
            let inner = &state.client.inner;
            if state.page >= inner.max_pages {
                return Err(Error::Paging {
                    path: inner.endpoints.url(&["agents", "*"], &[]).path().to_owned(),
                    page: state.page,
                    reason: "more pages than the configured limit",
                });
            }

            let (url, agents) =
                state.client.fetch_page(state.filter.as_deref(), state.page).await?;
            let is_last_page = agents.is_empty();
            if is_last_page {
                debug!(page = state.page, "empty page ends the listing");
                return Ok(None);
            }
            let ids: Vec<String> = agents.iter().map(|a| a.id.clone()).collect();
            if state.previous.as_ref() == Some(&ids) {
                return Err(Error::Paging {
                    path: url.path().to_owned(),
                    page: state.page,
                    reason: "the server sent the previous page again; it seems to ignore `offset`",
                });
            }

            state.previous = Some(ids);
            state.page += 1;
            Ok(Some((agents, state)))
        })
        .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Lists the selected agents into one vector; see [`Client::list`].
    pub async fn list_all(&self, selector: &Selector) -> Result<Vec<Agent>, Error> {
        self.list(selector).try_collect().await
    }

    /// Fetches one page (`offset` = `page`, counted from 0) of the listing.
    pub async fn list_page(&self, selector: &Selector, page: u64) -> Result<Vec<Agent>, Error> {
        let filter = selector.query_value();
        Ok(self.fetch_page(filter.as_deref(), page).await?.1)
    }

    /// Counts the selected agents with `GET agents/*/count?filter=..`,
    /// which answers a bare integer.
    pub async fn count(&self, selector: &Selector) -> Result<u64, Error> {
        let filter = selector.query_value();
        let params: Vec<(&str, &str)> = filter.iter().map(|f| ("filter", f.as_str())).collect();
        let url = self.inner.endpoints.url(&["agents", "*", "count"], &params);
        self.get_json(url).await
    }

    /// Fetches one agent with `GET agents/<id>`.
    pub async fn get(&self, id: &AgentId) -> Result<Agent, Error> {
        let url = self.inner.endpoints.url(&["agents", id.as_str()], &[]);
        self.get_json(url).await
    }

    /// Renews the targeted agents' certificates; see [`Client::run`].
    pub async fn renew(&self, target: &Target) -> Result<Report, Error> {
        self.run(Command::Renew, target).await
    }

    /// Runs files-sync on the targeted agents; see [`Client::run`].
    pub async fn files_sync(&self, target: &Target) -> Result<Report, Error> {
        self.run(Command::FilesSync, target).await
    }

    /// Runs `command` on `target`.
    ///
    /// A selector or one id is one `POST`; its failure is the `Err`. Many
    /// ids are one `POST` each, at most the configured concurrency at a
    /// time, and always give `Ok`: each id ends up in the report's results,
    /// its `failures` (with the error that stopped it) or its `unreported`.
    /// After a `401` or `403` the ids not yet sent are not sent; they fail
    /// with [`Error::NotSent`].
    ///
    /// ```no_run
    /// # async fn run(client: nxlog_client::Client) -> Result<(), nxlog_client::Error> {
    /// use nxlog_client::{AgentId, Command, Target};
    /// let id = AgentId::parse("1589a98a-66b3-11ee-80d5-4f584c6f672d")?;
    /// let report = client.run(Command::Renew, &Target::Ids(vec![id])).await?;
    /// for (id, error) in &report.failures {
    ///     eprintln!("{id}: {error}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn run(&self, command: Command, target: &Target) -> Result<Report, Error> {
        match target {
            Target::Select(selector) => {
                let results = self.post_results(self.command_url(command, selector)).await?;
                Ok(Report { results, ..Report::default() })
            }
            Target::Id(id) => {
                let mut report = Report::default();
                let result = Ok(self.run_one(command, id).await?);
                report.absorb(IdOutcome { id: id.clone(), result });
                Ok(report)
            }
            Target::Ids(ids) => {
                let mut outcomes: Vec<(usize, IdOutcome)> =
                    self.run_indexed(command, ids.clone()).collect().await;
                outcomes.sort_by_key(|(index, _)| *index);
                let mut report = Report::default();
                for (_, outcome) in outcomes {
                    report.absorb(outcome);
                }
                Ok(report)
            }
        }
    }

    /// Runs `command` on one agent with `POST agents/<id>/<command>` and
    /// returns the results the server sent (an item that could not be read
    /// as a [`Status::Malformed`](crate::Status::Malformed) entry).
    pub async fn run_one(&self, command: Command, id: &AgentId) -> Result<Vec<AgentResult>, Error> {
        self.post_results(self.id_command_url(command, id)).await
    }

    /// The exact URL `command` on `selector` is sent to, e.g. for a dry run
    /// or a curl line; [`Client::run`] uses this very function.
    pub fn command_url(&self, command: Command, selector: &Selector) -> Url {
        let filter = selector.query_value();
        let params: Vec<(&str, &str)> = filter.iter().map(|f| ("filter", f.as_str())).collect();
        let mut segments = vec!["agents", "*"];
        segments.extend(command.segments());
        self.inner.endpoints.url(&segments, &params)
    }

    /// The exact URL `command` on one agent is sent to; [`Client::run_one`]
    /// uses this very function.
    pub fn id_command_url(&self, command: Command, id: &AgentId) -> Url {
        let mut segments = vec!["agents", id.as_str()];
        segments.extend(command.segments());
        self.inner.endpoints.url(&segments, &[])
    }

    /// Runs `command` on each id, at most the configured concurrency at a
    /// time, yielding one outcome per id as it completes (not in the order
    /// given), for progress display. Nothing is dropped: the stream yields
    /// exactly one item per id.
    pub fn run_each(&self, command: Command, ids: Vec<AgentId>) -> BoxStream<'static, IdOutcome> {
        self.run_indexed(command, ids).map(|(_, outcome)| outcome).boxed()
    }

    /// Runs `command` on each id, tagged with its index. Once one request
    /// is refused with `401` or `403`, the ids not yet sent are not sent:
    /// each gets [`Error::NotSent`] instead, since the same token would be
    /// refused again (thousands of times, possibly locking the account).
    fn run_indexed(
        &self,
        command: Command,
        ids: Vec<AgentId>,
    ) -> impl Stream<Item = (usize, IdOutcome)> + Send + 'static {
        let client = self.clone();
        let concurrency = self.inner.concurrency;
        let refused: Arc<OnceLock<StatusCode>> = Arc::new(OnceLock::new());
        stream::iter(ids.into_iter().enumerate())
            .map(move |(index, id)| {
                let client = client.clone();
                let refused = refused.clone();
                async move {
                    let result = match refused.get() {
                        Some(status) => Err(Error::NotSent {
                            method: Method::POST,
                            path: client.id_command_url(command, &id).path().to_owned(),
                            refused: *status,
                        }),
                        None => client.run_one(command, &id).await,
                    };
                    if let Err(error) = &result
                        && error.is_auth()
                        && !matches!(error, Error::NotSent { .. })
                    {
                        let status = error.status().unwrap_or(StatusCode::UNAUTHORIZED);
                        if refused.set(status).is_ok() {
                            debug!(%status, "token refused; the remaining ids are not sent");
                        }
                    }
                    (index, IdOutcome { id, result })
                }
            })
            .buffer_unordered(concurrency)
    }

    /// `GET` one listing page; returns the URL too, for error messages.
    async fn fetch_page(
        &self,
        filter: Option<&str>,
        page: u64,
    ) -> Result<(Url, Vec<Agent>), Error> {
        let offset = page.to_string();
        let limit = self.inner.page_size.to_string();
        let mut params: Vec<(&str, &str)> = filter.iter().map(|f| ("filter", *f)).collect();
        params.push(("offset", &offset));
        params.push(("limit", &limit));
        let url = self.inner.endpoints.url(&["agents", "*"], &params);
        let agents = self.get_json(url.clone()).await?;
        Ok((url, agents))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, Error> {
        self.call(Method::GET, url, |body| serde_json::from_slice(body)).await
    }

    /// A command: its answer is decoded item by item, so one unreadable
    /// item does not discard what the server did for the others.
    async fn post_results(&self, url: Url) -> Result<Vec<AgentResult>, Error> {
        self.call(Method::POST, url, decode_results).await
    }

    /// Every operation ends here: send through the one funnel, then decode.
    async fn call<T>(
        &self,
        method: Method,
        url: Url,
        decode: impl FnOnce(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<T, Error> {
        let path = url.path().to_owned();
        let body = self.inner.transport.send(method.clone(), url).await?;
        decode(&body).map_err(|source| Error::Decode {
            method,
            path,
            snippet: one_line(&String::from_utf8_lossy(&body), SNIPPET),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_command(command: Command, path: &str, segments: &[&str]) {
        assert_eq!(command.path(), path);
        assert_eq!(command.to_string(), path);
        assert_eq!(command.segments(), segments);
        assert_eq!(command.segments().join("/"), path);
    }

    #[test]
    fn commands() {
        check_command(Command::Renew, "certificate/renew", &["certificate", "renew"]);
        check_command(Command::FilesSync, "files-sync", &["files-sync"]);
    }
}
