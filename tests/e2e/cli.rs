//! The command line itself: help texts, usage errors, completions.

use crate::support::{bare_cmd, run};

#[test]
fn help_of_every_command() {
    let commands: &[&[&str]] = &[
        &[],
        &["filter", "check"],
        &["agents", "list"],
        &["certificate", "renew"],
        &["files-sync"],
        &["completion"],
    ];
    for command in commands {
        let out = run(bare_cmd().args(*command).arg("--help").env("COLUMNS", "100"));
        assert_eq!(out.code, 0, "{command:?}");
        assert!(out.stdout.contains("Exit codes:"), "{command:?} documents exit codes");
        let name = if command.is_empty() { "nxagents".to_owned() } else { command.join("_") };
        insta::assert_snapshot!(format!("help_{name}"), out.stdout);
    }
}

#[test]
fn version_exits_0() {
    let out = run(bare_cmd().arg("--version"));
    assert_eq!(out.code, 0);
    assert!(out.stdout.starts_with("nxagents "), "{}", out.stdout);
}

#[test]
fn usage_errors_exit_2() {
    let cases: &[&[&str]] = &[
        &[],
        &["no-such-command"],
        &["agents", "list", "--no-such-flag"],
        &["certificate", "renew"],
        &["files-sync"],
        &["files-sync", "--all", "--id", "1589a98a-66b3-11ee-80d5-4f584c6f672d"],
        &["certificate", "renew", "--all", "--expired", "--expiring-within", "3d"],
        &["filter", "check", "-o", "yaml", "(a=b)"],
    ];
    for args in cases {
        let out = run(bare_cmd().args(*args));
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn no_selection_never_means_every_agent() {
    let out = run(bare_cmd().args(["certificate", "renew", "--yes"]));
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("--filter <EXPR>|--id <UUID>|--all"), "{}", out.stderr);
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(bare_cmd().args(["completion", shell]));
        assert_eq!(out.code, 0, "{shell}");
        assert!(out.stdout.contains("nxagents"), "{shell}");
        assert!(out.stdout.contains("files-sync"), "{shell}");
    }
}

#[test]
fn man_pages_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(bare_cmd().args(["generate-man", "--out"]).arg(dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let page = std::fs::read_to_string(dir.path().join("nxagents.1")).expect("nxagents.1");
    assert!(page.contains("Exit codes"), "the man page documents exit codes");
    assert!(dir.path().join("nxagents-certificate-renew.1").exists());
}

/// `filter check` and `completion` never talk to a server, so their help
/// shows their own exit codes, not the table of the commands that do.
#[test]
fn offline_commands_show_only_their_own_exit_codes() {
    for command in [&["filter", "check"][..], &["completion"]] {
        let out = run(bare_cmd().args(command).arg("--help"));
        assert_eq!(out.code, 0, "{command:?}");
        assert!(out.stdout.contains("Exit codes:\n  0 "), "{command:?}: {}", out.stdout);
        for other in ["some agents failed", "authentication", "interrupted"] {
            assert!(!out.stdout.contains(other), "{command:?} shows `{other}`: {}", out.stdout);
        }
    }
    let out = run(bare_cmd().args(["files-sync", "--help"]));
    assert!(out.stdout.contains("3    some agents failed"), "{}", out.stdout);
}
