//! End-to-end tests of `nxagents` against a live emulator.
//!
//! Every test runs the built binary. Those that talk to a server start their
//! own in-process emulator on a background runtime, with a fixed clock and
//! fleet, so tests never share state.

mod bulk;
mod cli;
mod config;
mod filter_check;
mod hostile_text;
mod list;
mod support;
mod vendor;
