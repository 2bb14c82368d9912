//! The strict policy parser against fixtures: every file in
//! `tests/fixtures/policy/invalid/` fails with exactly the message in its `.expected`
//! sibling (line, column, key and wording), and the worked example under `examples/`
//! loads.

use portghost::model::Protocol;
use portghost::policy::{self, AddressMatch, Mode, PortMatch};
use std::path::{Path, PathBuf};

/// Root and whoever owns the checkout: the fixtures are theirs.
fn checkout_owner() -> policy::trust::Trust {
    #[cfg(unix)]
    let uids = {
        use std::os::unix::fs::MetadataExt as _;
        vec![std::fs::metadata(env!("CARGO_MANIFEST_DIR")).expect("checkout").uid()]
    };
    // No owner checks off Unix.
    #[cfg(not(unix))]
    let uids = Vec::new();
    policy::trust::Trust { uids }
}

fn invalid_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/policy/invalid");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_invalid_fixture_fails_with_its_expected_message() {
    let files = invalid_fixtures();
    assert!(
        files.len() >= 12,
        "one fixture per mistake, at least 12: {}",
        files.len()
    );
    for file in files {
        // The 15-byte process-name limit is Linux's (`/proc/PID/comm`): elsewhere the name
        // is valid (tests/policy_match.rs checks both).
        if !cfg!(target_os = "linux") && file.ends_with("process-too-long.toml") {
            continue;
        }
        let expected_path = file.with_extension("expected");
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{} needs {}: {e}", file.display(), expected_path.display()));
        let err = policy::load(&file, &checkout_owner()).expect_err(&format!("{} must not load", file.display()));
        assert_eq!(
            err.to_string(),
            format!("{}:{}", file.display(), expected.trim_end()),
            "{}",
            file.display()
        );
        assert!(err.line.is_some() && err.column.is_some(), "{}", file.display());
        assert!(err.message.contains('`'), "names the key: {}", err.message);
    }
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let err = policy::load(Path::new("/nonexistent/portghost-policy.toml"), &checkout_owner()).expect_err("missing");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/portghost-policy.toml: cannot read the policy: "),
        "{err}"
    );
}

#[test]
fn the_worked_example_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/policy/web-host.toml");
    let p = policy::load(&path, &checkout_owner()).expect("example parses");
    assert_eq!(p.mode, Mode::Allowlist);
    assert_eq!(p.allow.len(), 4);
    assert_eq!(p.deny.len(), 2);
    let ssh = &p.allow[0];
    assert_eq!(ssh.ports, vec![PortMatch::Single(22)]);
    assert_eq!(ssh.protocol, Some(Protocol::Tcp));
    assert_eq!(ssh.address, Some(AddressMatch::Wildcard));
    assert_eq!(ssh.process, vec!["sshd"]);
    assert_eq!(
        ssh.unit.iter().map(|u| u.text.as_str()).collect::<Vec<_>>(),
        ["ssh.service"]
    );
    let nginx = &p.allow[1];
    assert_eq!(nginx.ports, vec![PortMatch::Single(80), PortMatch::Single(443)]);
    assert_eq!(nginx.user, vec!["root", "www-data"]);
    assert_eq!(p.allow[2].address, Some(AddressMatch::Loopback));
    assert_eq!(p.allow[3].expires.map(|d| d.to_string()).as_deref(), Some("2027-06-30"));
    assert!(p.deny.iter().any(|r| r.names_port(23)));
    assert!(p.deny.iter().any(|r| r.names_port(3237)));
    assert!(p.deny[0].comment.as_deref() == Some("telnet is banned"));
}

/// A policy of `n` allow rules, each on its own port and six lines long.
fn many_rules(n: usize) -> String {
    let mut text = String::from("version = 1\n");
    for i in 0..n {
        text.push_str(&format!(
            "\n[[allow]]\nport = {}\nprotocol = \"tcp\"\nexe = \"/usr/bin/svc{i}\"\nuser = \"root\"\n",
            1 + i % 65535
        ));
    }
    text
}

#[test]
fn a_20k_rule_policy_parses_and_its_last_error_points_at_the_right_place() {
    let n = 20_000;
    let text = many_rules(n);
    let p = policy::parse::parse("big.toml", &text).expect("20k rules parse");
    assert_eq!(p.allow.len(), n);
    // Line 1 is `version`; rule i's header is on line 3 + 6 i.
    assert_eq!(p.allow[n - 1].line, 3 + 6 * (n - 1));

    let bad = format!("{text}\n[[allow]]\nport = 22\nprotocol = \"sctp\"\n");
    let err = policy::parse::parse("big.toml", &bad).expect_err("bad last rule");
    let line = 3 + 6 * n + 2;
    assert_eq!(
        err.to_string(),
        format!("big.toml:{line}:12: `protocol`: \"sctp\" is not \"tcp\" or \"udp\"")
    );
}
