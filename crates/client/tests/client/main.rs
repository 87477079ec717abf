//! Tests of nxlog-client over real HTTP: against the emulator, and against a
//! small recording server for what the emulator cannot show (headers that
//! arrive, redirects to another origin, servers that misbehave in paging).

mod support;

mod encoding;
mod faults;
mod logging;
mod operations;
mod proxy;
mod redirects;
mod reports;
mod retries;
mod tls;
mod tokens;
