//! End-to-end tests of `nxagents` against a live emulator.
