//! Errors from building and running an emulator.

use std::net::SocketAddr;

/// Why an emulator could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot {action} `{path}`: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The fleet file is not a JSON array of agent records; the message
    /// carries line and column.
    #[error("fleet file `{path}`: {source}")]
    Fleet {
        /// The file, or `<inline>` for text given to the builder.
        path: String,
        /// The JSON error with its position.
        source: serde_json::Error,
    },
    /// Two agents share an id.
    #[error("fleet file `{path}`: agent {index} repeats id `{id}`")]
    DuplicateId {
        /// The file, or `<inline>`.
        path: String,
        /// 0-based index of the second agent with that id.
        index: usize,
        /// The repeated id.
        id: uuid::Uuid,
    },
    /// The tokens file is malformed.
    #[error("tokens file `{path}`{}: {message}", line_suffix(*line))]
    Tokens {
        /// The file.
        path: String,
        /// 1-based line, 0 for the whole file.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A `--fault` specification or control-endpoint fault is malformed.
    #[error("fault `{spec}`: {message}")]
    Fault {
        /// The specification as given.
        spec: String,
        /// What is wrong.
        message: String,
    },
    /// Some other setting is out of range.
    #[error("{0}")]
    Config(String),
    /// The listening socket could not be opened.
    #[error("cannot listen on `{addr}`: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The server task ended abnormally.
    #[error("server task failed: {0}")]
    Server(String),
}

fn line_suffix(line: usize) -> String {
    if line == 0 { String::new() } else { format!(" line {line}") }
}
