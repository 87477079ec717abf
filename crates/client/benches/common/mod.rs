//! The set-up and the bare reqwest loop shared by the renew benchmark and the
//! interleaved `renew_compare` example, so both measure the same thing.

use std::time::Duration;

use futures::StreamExt;
use nxlog_client::{AgentId, Client, Command, Config, SecretString, Target};
use nxlog_emulator::Emulator;

/// Agents renewed per round, one request each.
pub const AGENTS: usize = 10_000;
/// Requests in flight at once, on both sides.
pub const CONCURRENCY: usize = 16;

/// An emulator with the demo fleet, and both ways of renewing all of it.
pub struct Setup {
    pub emu: Emulator,
    ids: Vec<AgentId>,
    client: Client,
    bare: reqwest::Client,
    urls: Vec<String>,
}

impl Setup {
    /// Starts the emulator on the current runtime and builds both clients.
    pub async fn new() -> Setup {
        let emu = Emulator::builder().demo(AGENTS, 7).request_log_limit(1).spawn().await.unwrap();
        let ids: Vec<AgentId> = emu
            .agents()
            .iter()
            .map(|a| AgentId::parse(a["id"].as_str().unwrap()).unwrap())
            .collect();

        let token = SecretString::from("demo-rw-token".to_owned());
        let config = Config::builder(&emu.base_url(), "demo", token)
            .concurrency(CONCURRENCY)
            .build()
            .unwrap();
        let client = Client::new(config).unwrap();

        // The same reqwest settings the client uses, so only the client's
        // own work differs: no redirects, the default timeouts.
        let bare = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let urls = ids
            .iter()
            .map(|id| format!("{}agents/{id}/certificate/renew", emu.api_base()))
            .collect();
        Setup { emu, ids, client, bare, urls }
    }

    /// Renews every agent through nxlog-client's many-id operation.
    pub async fn renew_with_client(&self) {
        let report = self.client.run(Command::Renew, &Target::Ids(self.ids.clone())).await.unwrap();
        assert_eq!(report.results.len(), AGENTS);
    }

    /// Sends the same POSTs with reqwest alone.
    pub async fn renew_bare(&self) {
        let ok = futures::stream::iter(&self.urls)
            .map(|url| async move {
                let response = self
                    .bare
                    .post(url)
                    .header("authorization", "Bearer demo-rw-token")
                    .header("content-length", "0")
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body = response.bytes().await.unwrap();
                status.is_success() && !body.is_empty()
            })
            .buffer_unordered(CONCURRENCY)
            .filter(|ok| std::future::ready(*ok))
            .count()
            .await;
        assert_eq!(ok, AGENTS);
    }
}
