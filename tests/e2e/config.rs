//! Connection settings: flags, environment, profiles, and the token rules.

use crate::support::{RW_TOKEN, Server, bare_cmd, run};

#[test]
fn flags_come_before_the_environment() {
    let server = Server::demo(5, 1);
    let out = run(server
        .cmd()
        .env("NXLOG_URL", "http://127.0.0.1:9")
        .arg("--url")
        .arg(server.url())
        .args(["agents", "list", "-o", "json"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let agents: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(agents.as_array().map(Vec::len), Some(5));
}

#[test]
fn profile_from_a_configuration_file() {
    let server = Server::demo(3, 1);
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{RW_TOKEN}\n")).unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "default_profile = \"broken\"\n\n[profiles.lab]\nurl = \"{}\"\norg = \"demo\"\ntoken_file = \"{}\"\n\n[profiles.broken]\nurl = \"http://127.0.0.1:9\"\n",
            server.url(),
            token.display()
        ),
    )
    .unwrap();

    let list = |cmd: &mut assert_cmd::Command| {
        run(cmd.arg("--config").arg(&config).args(["agents", "list", "-o", "jsonl"]))
    };
    let out = list(bare_cmd().args(["--profile", "lab"]));
    assert_eq!((out.code, out.stdout.lines().count()), (0, 3), "{}", out.stderr);
    let out = list(bare_cmd().env("NXLOG_PROFILE", "lab"));
    assert_eq!(out.code, 0, "{}", out.stderr);

    // The environment overrides the profile's values.
    let out = list(
        bare_cmd()
            .env("NXLOG_PROFILE", "broken")
            .env("NXLOG_URL", server.url())
            .env("NXLOG_ORG", "demo")
            .env("NXLOG_TOKEN", RW_TOKEN),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = list(bare_cmd().args(["--profile", "nope"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unknown profile `nope`"), "{}", out.stderr);
    assert!(out.stderr.contains("`broken`, `lab`"), "{}", out.stderr);
}

#[test]
fn a_token_in_the_configuration_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[profiles.a]\ntoken = \"abc\"\n").unwrap();
    let out =
        run(bare_cmd().arg("--config").arg(&config).args(["--profile", "a", "agents", "list"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("name it with `token_file`"), "{}", out.stderr);
}

#[test]
fn missing_settings_are_usage_errors() {
    let cases = [
        (vec![], "no server URL"),
        (vec![("NXLOG_URL", "http://127.0.0.1:9")], "no organisation"),
        (vec![("NXLOG_URL", "http://127.0.0.1:9"), ("NXLOG_ORG", "demo")], "no token"),
        (
            vec![("NXLOG_URL", "127.0.0.1:9"), ("NXLOG_ORG", "demo"), ("NXLOG_TOKEN", "t")],
            "invalid base url",
        ),
    ];
    for (env, message) in cases {
        let mut cmd = bare_cmd();
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = run(cmd.args(["agents", "list"]));
        assert_eq!(out.code, 2, "{env:?}");
        assert!(out.stderr.contains(message), "{env:?}: {}", out.stderr);
    }
}

#[test]
fn token_on_the_command_line_is_refused_with_the_alternatives() {
    let server = Server::demo(3, 1);
    for args in [&["--token", RW_TOKEN][..], &[&format!("--token={RW_TOKEN}")], &["--token"]] {
        let out = run(server.cmd().args(args).args(["agents", "list"]));
        assert_eq!(out.code, 2, "{args:?}");
        assert!(out.stderr.contains("`--token` is refused"), "{}", out.stderr);
        assert!(out.stderr.contains("--token-file FILE"), "{}", out.stderr);
        assert!(!out.stderr.contains(RW_TOKEN));
    }
    assert!(server.requests().is_empty());
}

/// Empty or whitespace tokens stop before any request.
#[test]
fn empty_token_is_a_usage_error_without_a_request() {
    let server = Server::demo(3, 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, " \n").unwrap();

    let out = run(server.cmd().env("NXLOG_TOKEN", "").args(["agents", "list"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("token is empty"), "{}", out.stderr);
    let out = run(server.cmd().env("NXLOG_TOKEN", "  \t").args(["agents", "list"]));
    assert!(out.stderr.contains("token is empty"), "{}", out.stderr);
    let out = run(server.cmd().arg("--token-file").arg(&file).args(["agents", "list"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("token is empty"), "{}", out.stderr);
    let out = run(server
        .cmd()
        .env_remove("NXLOG_TOKEN")
        .arg("--token-stdin")
        .args(["agents", "list"])
        .write_stdin("\n"));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("token is empty"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

/// Values may start with a hyphen, but a flag is never taken as a value.
#[test]
fn hyphen_leading_values() {
    let server = Server::demo(3, 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("-Xk3abc"), format!("{RW_TOKEN}\n")).unwrap();

    let out = run(server.cmd().env_remove("NXLOG_TOKEN").current_dir(dir.path()).args([
        "agents",
        "list",
        "--token-file",
        "-Xk3abc",
        "-o",
        "jsonl",
    ]));
    assert_eq!((out.code, out.stdout.lines().count()), (0, 3), "{}", out.stderr);
    let out = run(server.cmd().env_remove("NXLOG_TOKEN").current_dir(dir.path()).args([
        "agents",
        "list",
        "--token-file=-Xk3abc",
        "-o",
        "jsonl",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);

    // `-x` is a (bad) filter, diagnosed as one.
    let out = run(server.cmd().args(["files-sync", "--filter", "-x", "--yes"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("error["), "a filter diagnostic: {}", out.stderr);

    // `--url` after `--filter` is a missing value, never the filter.
    let before = server.requests().len();
    let out =
        run(server.cmd().args(["files-sync", "--filter", "--url", "http://127.0.0.1:9", "--yes"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("a value is required for `--filter`, found the flag `--url`"),
        "{}",
        out.stderr
    );
    let out = run(server.cmd().args(["agents", "list", "--token-file", "--url", "x"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("a value is required for `--token-file`"), "{}", out.stderr);
    assert_eq!(server.requests().len(), before, "no request was sent");
}

#[test]
fn token_stdin_reads_one_line() {
    let server = Server::demo(2, 1);
    let out = run(server
        .cmd()
        .env_remove("NXLOG_TOKEN")
        .args(["--token-stdin", "agents", "list", "-o", "jsonl"])
        .write_stdin(format!("{RW_TOKEN}\n")));
    assert_eq!((out.code, out.stdout.lines().count()), (0, 2), "{}", out.stderr);
}

#[test]
fn ca_bundle_must_be_readable_and_pem() {
    let server = Server::demo(2, 1);
    let out = run(server.cmd().args(["--ca-bundle", "/nonexistent/ca.pem", "agents", "list"]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("cannot read the CA bundle `/nonexistent/ca.pem`"),
        "{}",
        out.stderr
    );

    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("ca.pem");
    std::fs::write(&bundle, "not a certificate\n").unwrap();
    let out = run(server.cmd().env("NXLOG_CA_BUNDLE", &bundle).args(["agents", "list"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("invalid CA bundle `"), "{}", out.stderr);
    assert!(server.requests().is_empty());
}

/// The client checks the bundle's bytes, so its error cannot know the file:
/// the CLI names the file whichever way it was given, on every command.
#[test]
fn invalid_ca_bundle_names_the_file() {
    let server = Server::demo(2, 1);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let garbage = dir.path().join("bad.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    for bundle in [&empty, &garbage] {
        let shown = bundle.display().to_string();
        let runs = [
            run(server.cmd().arg("--ca-bundle").arg(bundle).args(["agents", "list"])),
            run(server.cmd().env("NXLOG_CA_BUNDLE", bundle).args(["agents", "list"])),
            run(server.cmd().arg("--ca-bundle").arg(bundle).args(["files-sync", "--all", "--yes"])),
        ];
        for out in runs {
            assert_eq!(out.code, 2, "{}", out.stderr);
            let line = out.stderr.lines().next().unwrap_or_default();
            assert!(line.starts_with(&format!("error: invalid CA bundle `{shown}`: ")), "{line}");
        }
    }
    assert!(server.requests().is_empty());
}

/// Writes `text` as a configuration file in a fresh directory.
fn config_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Errors in the configuration file say where (line and column) and why,
/// on one line.
#[test]
fn configuration_errors_name_line_column_and_reason() {
    let cases = [
        ("[profiles.p]\nurl = \n", "line 2 column 7: "),
        ("[profiles.p]\norg = \"o\"\n[profiles.p]\n", "line 3 column 1: "),
        ("[profiles.p]\ncolour = 1\n", "line 2 column 1: unknown field `colour`"),
        ("[profiles.p]\ntoken = \"s\"\n", "name it with `token_file`"),
    ];
    for (text, want) in cases {
        let (_dir, path) = config_file(text);
        let out =
            run(bare_cmd().arg("--config").arg(&path).args(["--profile", "p", "agents", "list"]));
        assert_eq!(out.code, 2, "{text:?}");
        assert!(out.stderr.contains(want), "{text:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{text:?}: {}", out.stderr);
        let reason = out.stderr.trim_end().rsplit(": ").next().unwrap_or_default();
        assert!(!reason.trim().is_empty(), "{text:?}: a reason: {}", out.stderr);
    }
}

/// `url = ""` is refused with a reason and where it came from.
#[test]
fn empty_url_in_a_profile_says_why() {
    let (_dir, path) = config_file("[profiles.p]\nurl = \"\"\norg = \"demo\"\n");
    let out = run(bare_cmd().env("NXLOG_TOKEN", "t").arg("--config").arg(&path).args([
        "--profile",
        "p",
        "agents",
        "list",
    ]));
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("server URL is empty (from `url` of the profile `p` in `"),
        "{}",
        out.stderr
    );
    let out = run(bare_cmd()
        .env("NXLOG_TOKEN", "t")
        .env("NXLOG_ORG", "o")
        .args(["--url", "", "agents", "list"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("server URL is empty (from `--url`)"), "{}", out.stderr);
}

/// A relative `token_file` is read next to the configuration file, not in
/// the current directory; `~/` is the home directory.
#[test]
fn relative_and_home_token_files_are_found() {
    let server = Server::demo(2, 1);
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tokens")).unwrap();
    std::fs::write(dir.path().join("tokens").join("rel.token"), format!("{RW_TOKEN}\n")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    for token_file in ["tokens/rel.token", "~/tokens/rel.token"] {
        let config = dir.path().join("config.toml");
        std::fs::write(
            &config,
            format!(
                "[profiles.p]\nurl = \"{}\"\norg = \"demo\"\ntoken_file = \"{token_file}\"\n",
                server.url()
            ),
        )
        .unwrap();
        let out = run(bare_cmd()
            .env("HOME", dir.path())
            .current_dir(elsewhere.path())
            .arg("--config")
            .arg(&config)
            .args(["--profile", "p", "agents", "list", "-o", "jsonl"]));
        assert_eq!((out.code, out.stdout.lines().count()), (0, 2), "{token_file}: {}", out.stderr);
    }

    // A missing one names the absolute path that was tried.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[profiles.p]\nurl = \"http://127.0.0.1:9\"\norg = \"o\"\ntoken_file = \"nope.token\"\n",
    )
    .unwrap();
    let out = run(bare_cmd().current_dir(elsewhere.path()).arg("--config").arg(&config).args([
        "--profile",
        "p",
        "agents",
        "list",
    ]));
    assert_eq!(out.code, 2);
    let tried = dir.path().join("nope.token");
    assert!(out.stderr.contains(&format!("`{}`", tried.display())), "{}", out.stderr);
}
