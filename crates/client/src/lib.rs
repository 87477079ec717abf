//! HTTP client for the NXLog Platform agents API.
//!
//! Every call the toolkit makes to the Platform goes through this crate: it
//! builds the URLs (the filter is percent-encoded exactly once), carries the
//! token without ever showing it, retries what is safe to retry, refuses to
//! follow redirects that could leak the token or change a command, and turns
//! every answer into a typed result or a typed [`Error`].
//!
//! # Example
//!
//! ```no_run
//! use nxlog_client::{Client, Config, Selector, Target};
//! use secrecy::SecretString;
//!
//! # async fn run() -> Result<(), nxlog_client::Error> {
//! let token = SecretString::from("my-token".to_owned());
//! let config = Config::builder("https://agents.example.com", "my-org", token).build()?;
//! let client = Client::new(config)?;
//!
//! let filter: nxlog_filter::Filter = "(hostname=PC1)".parse().expect("a valid filter");
//! let report = client.renew(&Target::from(filter)).await?;
//! for result in &report.results {
//!     println!("{} {}", result.id, result.status);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Base URL
//!
//! The configuration takes the *platform base*, such as
//! `https://agents.example.com` (with or without a trailing slash, optionally
//! with a path prefix when the Platform sits behind a reverse proxy); the
//! client appends `api/<ORG>/api/v1/`. A base whose path already ends with
//! `api/<ORG>/api/v1` is taken as the full API base and used as it is, so
//! pasting either form works; one naming another organisation's API path is
//! an error. The base's path is taken as already percent-encoded and kept
//! byte for byte (`/a%20b/` is never sent as `/a%2520b/`).

mod client;
mod config;
mod endpoint;
mod error;
mod model;
mod select;
mod send;

pub use client::{Client, Command};
pub use config::{Config, ConfigBuilder, RetryPolicy};
pub use error::{ApiMessage, ConfigError, Error, ErrorClass, RedirectRefusal};
pub use model::{Agent, AgentResult, Certificate, IdOutcome, ItemError, Report, Status};
pub use select::{AgentId, RawFilter, Selector, Target};

/// Re-exported so callers need not depend on `secrecy` to hand over a token.
pub use secrecy::SecretString;
/// Re-exported: the type of [`Client::api_base`] and [`Client::command_url`].
pub use url::Url;
