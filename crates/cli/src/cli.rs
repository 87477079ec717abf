//! The command line: argument structs whose doc comments are the help text.

use std::path::PathBuf;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand, ValueEnum};

/// Exit codes, shown under every command's `--help` and in the man page.
pub const EXIT_CODES: &str = "\
Exit codes:
  0    success, including when no agent matched
  1    unexpected error (network, server, local file), or confirmation declined
  2    usage error or invalid filter
  3    some agents failed, or the command reached agents the preview did not list
  4    authentication or authorisation refused by the server
  5    nothing matched and --fail-on-empty was given
  130  interrupted (Ctrl-C); the report is written first";

/// Exit codes of `filter check`, which never talks to a server.
pub const CHECK_EXIT_CODES: &str = "\
Exit codes:
  0    the filter is valid (warnings do not change this)
  2    the filter is invalid or empty, EXPR cannot be read, or a usage error";

/// Exit codes of `completion`.
pub const COMPLETION_EXIT_CODES: &str = "\
Exit codes:
  0    the script was printed
  2    usage error (an unknown shell)";

/// Select NXLog agents with filters and renew their certificates, safely.
///
/// Connection settings come from flags (`--url`, `--org`), then the
/// environment (`NXLOG_URL`, `NXLOG_ORG`, `NXLOG_TOKEN`), then a profile in
/// the configuration file. The token is never taken from the command line:
/// use `NXLOG_TOKEN`, `--token-file FILE` or `--token-stdin`.
#[derive(Debug, Parser)]
#[command(name = "nxagents", version, after_help = EXIT_CODES, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,

    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args)]
pub struct Global {
    /// Base URL of the NXLog Platform agents service, e.g. `https://agents.example.com`
    #[arg(
        long,
        global = true,
        value_name = "URL",
        allow_hyphen_values = true,
        help_heading = "Connection"
    )]
    pub url: Option<String>,

    /// Organisation id
    #[arg(
        long,
        global = true,
        value_name = "ORG",
        allow_hyphen_values = true,
        help_heading = "Connection"
    )]
    pub org: Option<String>,

    /// Profile to read from the configuration file [env: NXLOG_PROFILE]
    #[arg(long, global = true, value_name = "NAME", help_heading = "Connection")]
    pub profile: Option<String>,

    /// Configuration file [default: <config dir>/nxagents/config.toml]
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub config: Option<PathBuf>,

    /// Read the API token from FILE (one line; `-` is not stdin, use --token-stdin)
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        allow_hyphen_values = true,
        conflicts_with = "token_stdin",
        help_heading = "Connection"
    )]
    pub token_file: Option<PathBuf>,

    /// Read the API token from the first line of standard input
    #[arg(long, global = true, help_heading = "Connection")]
    pub token_stdin: bool,

    /// Also trust the CA certificates in this PEM file (a private Platform CA)
    /// [env: NXLOG_CA_BUNDLE]
    #[arg(long, global = true, value_name = "FILE", help_heading = "Connection")]
    pub ca_bundle: Option<PathBuf>,

    /// More logging on stderr: `-v` for decisions, `-vv` for every request
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = "Logging and colour")]
    pub verbose: u8,

    /// When to use colour (`NO_COLOR` is honoured under `auto`)
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t = ColorChoice::Auto,
        value_name = "WHEN",
        help_heading = "Logging and colour"
    )]
    pub color: ColorChoice,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal and `NO_COLOR` is unset
    Auto,
    /// Always colour
    Always,
    /// Never colour
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a filter expression and print its canonical form
    #[command(subcommand)]
    Filter(FilterCommand),

    /// Inspect agents
    #[command(subcommand)]
    Agents(AgentsCommand),

    /// Manage agent certificates
    #[command(subcommand)]
    Certificate(CertificateCommand),

    /// Send the `files-sync` command to agents (offline agents need it after a renew)
    ///
    /// files-sync reaches an agent only when it is online. Agents the preview
    /// shows offline get a warning first and are still sent the command (the
    /// server decides); those it did not reach are reported `offline`, the
    /// run ends with the command to run again once they are back, and exits 3.
    #[command(after_help = EXIT_CODES)]
    FilesSync(BulkArgs),

    /// Print a shell completion script
    #[command(after_help = COMPLETION_EXIT_CODES)]
    Completion {
        /// The shell to complete for
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Write man pages for every command into a folder (used by `cargo xtask man`)
    #[command(hide = true)]
    GenerateMan {
        /// Folder to write into
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// `nxagents filter ...`
#[derive(Debug, Subcommand)]
pub enum FilterCommand {
    /// Parse and validate EXPR; print its canonical form on success
    ///
    /// EXPR may be `@FILE` to read the expression from a file, or `-` to read it
    /// from standard input. One trailing newline is removed from what is read;
    /// byte offsets in diagnostics count from the first byte of the content.
    #[command(after_help = CHECK_EXIT_CODES)]
    Check(FilterCheckArgs),
}

/// Arguments of `nxagents filter check`.
#[derive(Debug, Args)]
pub struct FilterCheckArgs {
    /// Treat unknown fields as errors instead of warnings
    #[arg(long)]
    pub strict: bool,

    /// Pin the clock used for relative times such as `now-7d`
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub now: Option<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = CheckFormat::Text, value_name = "FORMAT")]
    pub output: CheckFormat,

    /// The filter, `@FILE`, or `-` for standard input
    #[arg(value_name = "EXPR", allow_hyphen_values = true)]
    pub expr: String,
}

/// Output formats of `filter check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// The canonical filter on stdout, warnings on stderr
    Text,
    /// One JSON object on stdout (errors as JSON on stderr)
    Json,
}

/// `nxagents agents ...`
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// List the agents that match a filter (every agent without one)
    #[command(after_help = EXIT_CODES)]
    List(ListArgs),
}

/// Arguments of `nxagents agents list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only agents matching this filter, e.g. `(hostname=PC1)`
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub filter: Option<String>,

    /// Output format
    #[arg(short, long, value_enum, default_value_t = ListFormat::Table, value_name = "FORMAT")]
    pub output: ListFormat,

    /// Exit with code 5 when no agent matches
    #[arg(long)]
    pub fail_on_empty: bool,

    /// Pin the clock used for relative times and for the days-left column
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub now: Option<String>,
}

/// Output formats of listings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table for people
    Table,
    /// One JSON array
    Json,
    /// One JSON object per line
    Jsonl,
}

/// `nxagents certificate ...`
#[derive(Debug, Subcommand)]
pub enum CertificateCommand {
    /// Renew the certificates of the selected agents
    ///
    /// Offline agents keep their old certificate until they come back online
    /// and receive `files-sync`; the report names them and prints the command.
    #[command(after_help = EXIT_CODES)]
    Renew(RenewArgs),
}

/// Arguments of `nxagents certificate renew`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    #[command(flatten)]
    pub bulk: BulkArgs,

    /// Only agents whose certificate has already expired
    #[arg(long, conflicts_with = "expiring_within")]
    pub expired: bool,

    /// Only agents whose certificate expires within DURATION (`30d`, `2w`, `12h`)
    // Hyphen values are taken so that `-5d` gets our own message, not clap's.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true)]
    pub expiring_within: Option<String>,
}

/// Selection and safety options shared by the commands that change agents.
#[derive(Debug, Args)]
#[command(group(
    clap::ArgGroup::new("target").required(true).multiple(true).args(["filter", "id", "all"])
))]
pub struct BulkArgs {
    /// Select the agents matching this filter, e.g. `(hostname=PC1)`
    #[arg(long, value_name = "EXPR", allow_hyphen_values = true)]
    pub filter: Option<String>,

    /// Select one agent by id (repeatable)
    ///
    /// The ids are listed in batches of at most 50 (one listing per batch),
    /// and the command is sent with one request per listed agent (see
    /// --concurrency). Combined with --filter (or, for `certificate renew`,
    /// --expired or --expiring-within), only the given agents that also match
    /// are selected; the other ids are named in a warning.
    #[arg(long, value_name = "UUID", action = ArgAction::Append, allow_hyphen_values = true)]
    pub id: Vec<String>,

    /// Select every agent (must be given explicitly)
    // `concurrency` is named here too: clap waives `requires = "id"` when a
    // present argument conflicts with `--id`, as `--all` does.
    #[arg(long, conflicts_with_all = ["filter", "id", "concurrency"])]
    pub all: bool,

    /// Do not ask for confirmation
    #[arg(short, long)]
    pub yes: bool,

    /// Show the targets and the request that would be sent, and send nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Exit with code 5 when no agent matches
    #[arg(long)]
    pub fail_on_empty: bool,

    /// Write the whole run as JSON to FILE, also when it fails
    #[arg(long, value_name = "FILE", allow_hyphen_values = true)]
    pub report: Option<PathBuf>,

    /// Output format of the results on stdout
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Text, value_name = "FORMAT")]
    pub output: ReportFormat,

    /// Pin the clock used for relative times and `--expired`
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub now: Option<String>,

    /// Command requests in flight at once, one per agent (1 to 256; needs --id)
    ///
    /// Only --id sends one request per agent; --filter and --all send a
    /// single request, so --concurrency without --id is a usage error.
    #[arg(
        long,
        value_name = "N",
        requires = "id",
        default_value_t = crate::api::DEFAULT_CONCURRENCY,
        value_parser = clap::value_parser!(u16).range(1..=256)
    )]
    pub concurrency: u16,
}

/// Output formats of the commands that change agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// The preview, one line per agent, a summary and any follow-up command
    Text,
    /// The report (as written by --report) as one JSON object; errors as JSON on stderr
    Json,
}

/// The clap command, for completions, man pages and tests.
pub fn command() -> clap::Command {
    Cli::command()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_definition_is_consistent() {
        command().debug_assert();
    }

    fn check(args: &[&str], expect_ok: bool) {
        let result = Cli::try_parse_from(args);
        assert_eq!(result.is_ok(), expect_ok, "{args:?}: {result:?}");
    }

    /// `--concurrency` only shapes the one-request-per-agent sending of
    /// `--id`; with `--filter` or `--all` it would be silently ignored.
    #[test]
    fn concurrency_without_id_is_refused() {
        for command in [&["certificate", "renew"][..], &["files-sync"]] {
            let with = |rest: &[&'static str]| [&["nxagents"], command, rest].concat();
            check(&with(&["--all", "--concurrency", "4"]), false);
            check(&with(&["--filter", "(a=b)", "--concurrency", "4"]), false);
            check(&with(&["--id", "x", "--concurrency", "4"]), true);
            check(&with(&["--id", "x", "--filter", "(a=b)", "--concurrency", "4"]), true);
            // The default alone needs nothing.
            check(&with(&["--all"]), true);
        }
        let error =
            Cli::try_parse_from(["nxagents", "files-sync", "--filter", "x", "--concurrency", "4"])
                .unwrap_err()
                .to_string();
        assert!(error.contains("--id <UUID>"), "{error}");
    }

    #[test]
    fn parses() {
        check(&["nxagents", "certificate", "renew", "--all"], true);
        check(&["nxagents", "certificate", "renew"], false);
        check(&["nxagents", "certificate", "renew", "--all", "--filter", "(a=b)"], false);
        check(&["nxagents", "files-sync", "--id", "x", "--id", "y"], true);
        check(&["nxagents", "files-sync", "--filter", "-x"], true);
        check(&["nxagents", "files-sync", "--id", "x", "--filter", "(a=b)"], true);
        check(&["nxagents", "files-sync", "--id", "x", "--all"], false);
        check(&["nxagents", "files-sync", "--id", "x", "--concurrency", "1"], true);
        check(&["nxagents", "files-sync", "--id", "x", "--concurrency", "256"], true);
        check(&["nxagents", "files-sync", "--id", "x", "--concurrency", "0"], false);
        check(&["nxagents", "files-sync", "--id", "x", "--concurrency", "257"], false);
        check(&["nxagents", "agents", "list", "--token-file", "-x"], true);
        check(&["nxagents", "filter", "check", "-"], true);
        check(
            &["nxagents", "certificate", "renew", "--all", "--expired", "--expiring-within", "1d"],
            false,
        );
    }
}
