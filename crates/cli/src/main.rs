//! `nxagents`: select NXLog agents with filters and renew their certificates.
//!
//! This binary is a thin layer: parsing, validation and printing of filters
//! live in `nxlog-filter`, every HTTP request in `nxlog-client`. `main` maps
//! the result of [`run`] to a documented exit code and prints an error once.

mod agents;
mod api;
mod bulk;
mod check;
mod cli;
mod config;
mod error;
mod output;
mod report;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::cli::{
    AgentsCommand, CertificateCommand, CheckFormat, Cli, Command, FilterCommand, ListFormat,
    ReportFormat,
};
use crate::config::ProcessEnv;
use crate::error::{Exit, Failure, Result};
use crate::output::Out;

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match parse_args(args) {
        Ok(cli) => cli,
        Err(code) => return ExitCode::from(code),
    };
    init_logging(cli.global.verbose);

    let mut out = Out::detect(cli.global.color);
    let json_errors = wants_json(&cli);
    match run(cli, &mut out) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(failure) => {
            if !failure.shown {
                print_failure(&failure, json_errors, &mut out);
            }
            ExitCode::from(failure.exit.code())
        }
    }
}

/// Parses the command line; on failure prints clap's message and returns the
/// exit code (0 for `--help`/`--version`, 2 for usage errors).
fn parse_args(args: Vec<OsString>) -> std::result::Result<Cli, u8> {
    if let Err(failure) = refuse_flag_as_value(&args) {
        let mut out = Out::detect(cli::ColorChoice::Never);
        print_failure(&failure, false, &mut out);
        return Err(failure.exit.code());
    }
    let matches = cli::command().try_get_matches_from(args).map_err(|e| {
        print_clap_error(&e);
        // clap's own codes are 0 for help and version and 2 for the rest.
        if e.use_stderr() { Exit::Usage.code() } else { Exit::Success.code() }
    })?;
    Cli::from_arg_matches(&matches).map_err(|e| {
        print_clap_error(&e);
        Exit::Usage.code()
    })
}

/// Prints clap's help or error. Help and version are ours and printed as
/// they are; an error quotes the command line, so it is printed as plain
/// text through [`output::safe`].
fn print_clap_error(error: &clap::Error) {
    if !error.use_stderr() {
        let _ = error.print();
        return;
    }
    let text = error.render().to_string();
    let mut out = Out::detect(cli::ColorChoice::Never);
    out.warn(&output::safe_lines(text.trim_end()));
}

/// Options whose value may start with `-` (a filter such as `-x`, a token
/// file named `-x`) must still never swallow the next flag: `--filter --url
/// x` is a missing filter, not the filter `--url`.
fn refuse_flag_as_value(args: &[OsString]) -> Result<()> {
    const HYPHEN_VALUES: &[&str] = &[
        "--filter",
        "--id",
        "--token-file",
        "--report",
        "--url",
        "--org",
        "--now",
        "--expiring-within",
    ];
    let words = || args.iter().skip(1).map(|a| a.to_string_lossy()).take_while(|w| w != "--");

    // Wherever it stands, `--token` is refused with the alternatives.
    if words().any(|w| w == "--token" || w.starts_with("--token=")) {
        return Err(Failure::usage(config::TOKEN_FLAG_REFUSED));
    }

    let longs = long_flags();
    let mut words = words();
    while let Some(word) = words.next() {
        if !HYPHEN_VALUES.contains(&word.as_ref()) {
            continue;
        }
        let Some(value) = words.next() else { break };
        let name = value.split('=').next().unwrap_or_default();
        let is_flag = name.len() > 2 && longs.iter().any(|l| l == name);
        if is_flag {
            return Err(Failure::usage(format!(
                "a value is required for `{word}`, found the flag `{name}`"
            )));
        }
    }
    Ok(())
}

/// Every `--long` flag of every command.
fn long_flags() -> Vec<String> {
    fn collect(command: &clap::Command, into: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if let Some(long) = arg.get_long() {
                into.push(format!("--{long}"));
            }
        }
        for sub in command.get_subcommands() {
            collect(sub, into);
        }
    }
    let mut longs = vec!["--help".to_owned(), "--version".to_owned()];
    collect(&Cli::command(), &mut longs);
    longs
}

/// Logs go to stderr: `-v` shows decisions, `-vv` every request. Other
/// crates' logs stay off, and the environment cannot raise the level, so no
/// dependency can print a header.
fn init_logging(verbose: u8) {
    let directives = match verbose {
        0 => return,
        1 => "nxagents=debug,nxlog_client=debug",
        _ => "nxagents=trace,nxlog_client=trace",
    };
    let filter = tracing_subscriber::EnvFilter::new(directives);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .init();
}

/// Whether errors should be JSON objects (the command's output is JSON).
fn wants_json(cli: &Cli) -> bool {
    match &cli.command {
        Command::Filter(FilterCommand::Check(args)) => args.output == CheckFormat::Json,
        Command::Agents(AgentsCommand::List(args)) => args.output != ListFormat::Table,
        Command::Certificate(CertificateCommand::Renew(args)) => {
            args.bulk.output == ReportFormat::Json
        }
        Command::FilesSync(args) => args.output == ReportFormat::Json,
        Command::Completion { .. } | Command::GenerateMan { .. } => false,
    }
}

/// Prints a failure once: JSON on stderr, or `error: message` and its detail.
///
/// Messages quote servers, files and the command line, so in text mode they
/// go through [`output::safe`]; JSON escapes control characters itself.
fn print_failure(failure: &Failure, json: bool, out: &mut Out) {
    if json {
        out.warn(&failure.to_json().to_string());
        return;
    }
    let message = output::safe(&failure.message);
    match &failure.detail {
        // A rendered diagnostic already carries the message.
        Some(detail) if failure.kind == "invalid-filter" => {
            out.warn(&output::safe_lines(detail.trim_end()))
        }
        Some(detail) => {
            out.warn(&format!("error: {message}"));
            out.warn(&output::safe_lines(detail.trim_end()));
        }
        None => out.warn(&format!("error: {message}")),
    }
}

/// Runs the parsed command.
fn run(cli: Cli, out: &mut Out) -> Result<Exit> {
    match &cli.command {
        Command::Filter(FilterCommand::Check(args)) => check::run(args, out),
        Command::Completion { shell } => {
            let mut command = cli::command();
            clap_complete::generate(*shell, &mut command, "nxagents", &mut std::io::stdout());
            Ok(Exit::Success)
        }
        Command::GenerateMan { out: dir } => generate_man(dir),
        Command::Agents(AgentsCommand::List(args)) => {
            let connection = config::resolve(&cli.global, &ProcessEnv)?;
            runtime()?.block_on(agents::list(&connection, args, out))
        }
        Command::Certificate(CertificateCommand::Renew(args)) => {
            bulk::run(&cli.global, bulk::Job::renew(args), out)
        }
        Command::FilesSync(args) => bulk::run(&cli.global, bulk::Job::files_sync(args), out),
    }
}

/// A runtime for the network commands.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::unexpected(format!("cannot start the async runtime: {e}")))
}

/// Writes `nxagents.1` and one page per subcommand into `dir`.
fn generate_man(dir: &std::path::Path) -> Result<Exit> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Failure::unexpected(format!("cannot create `{}`: {e}", dir.display())))?;
    let command = cli::command();
    clap_mangen::generate_to(command, dir).map_err(|e| {
        Failure::unexpected(format!("cannot write man pages into `{}`: {e}", dir.display()))
    })?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(args: &[&str], expect: Option<&str>) {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let got = refuse_flag_as_value(&args).err().map(|f| f.message);
        assert_eq!(got.as_deref(), expect, "{args:?}");
    }

    #[test]
    fn flags_are_never_values() {
        check(
            &["nxagents", "files-sync", "--filter", "--url", "x"],
            Some("a value is required for `--filter`, found the flag `--url`"),
        );
        check(
            &["nxagents", "files-sync", "--filter", "--url=x"],
            Some("a value is required for `--filter`, found the flag `--url`"),
        );
        check(
            &["nxagents", "agents", "list", "--token-file", "--all"],
            Some("a value is required for `--token-file`, found the flag `--all`"),
        );
        check(&["nxagents", "files-sync", "--filter", "-x"], None);
        check(&["nxagents", "certificate", "renew", "--all", "--expiring-within", "-5d"], None);
        check(
            &["nxagents", "certificate", "renew", "--all", "--expiring-within", "--yes"],
            Some("a value is required for `--expiring-within`, found the flag `--yes`"),
        );
        check(&["nxagents", "files-sync", "--filter", "--not-a-flag"], None);
        check(&["nxagents", "agents", "list", "--token-file", "-x"], None);
        check(&["nxagents", "filter", "check", "--", "--filter", "--url"], None);
        check(&["nxagents", "--token", "agents", "list"], Some(config::TOKEN_FLAG_REFUSED));
        check(&["nxagents", "agents", "list", "--token=-x"], Some(config::TOKEN_FLAG_REFUSED));
        check(&["nxagents", "filter", "check", "--", "--token"], None);
    }
}
