//! The command line as users of ss, lsof and goss try it: scan flags without the word
//! `scan`, `--port` ranges and service names, owner filters, `--sort`, `-H`, `-q`,
//! `--output FILE`, completions and the man page, the colour conventions, and the project
//! files. Live where a listener is needed: a child binds real sockets in a [`Lab`].

mod common;

use common::{Lab, comm_of, python};
use serde_json::Value;
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_portghost")
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}): {text}\n{}", stderr(out)))
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The ports of the listeners in a JSON scan, in order.
fn ports(v: &Value) -> Vec<u64> {
    v["listeners"]
        .as_array()
        .expect("listeners")
        .iter()
        .map(|l| l["port"].as_u64().expect("port"))
        .collect()
}

/// portghost run here (not in a lab), with `vars` set and the colour variables cleared.
fn portghost_env(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .env_remove("CLICOLOR")
        .stdin(Stdio::null());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run portghost")
}

#[test]
fn completions_are_generated_for_every_shell_and_bash_loads_them() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = portghost_env(&["completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(text.contains("portghost"), "{shell}: {text}");
        assert!(text.contains("fail-on-unexpected"), "{shell} completes the scan flags");
    }
    let script = format!(
        "source <({} completions bash) && complete -p portghost && COMP_WORDS=(portghost --so) COMP_CWORD=1 && _portghost portghost --so portghost && printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        bin()
    );
    match Command::new("bash").args(["-c", &script]).output() {
        Ok(out) => {
            assert_eq!(out.status.code(), Some(0), "bash: {}", stderr(&out));
            let text = stdout(&out);
            assert!(text.contains("-F _portghost portghost"), "{text}");
            assert!(
                text.lines().any(|l| l == "--sort"),
                "`portghost --so<TAB>` completes --sort: {text}"
            );
        }
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but bash cannot run: {e}"
            );
            eprintln!("skipped the bash load check: cannot run bash ({e})");
        }
    }
    assert_eq!(portghost_env(&["completions", "tcsh"], &[]).status.code(), Some(2));
}

#[test]
fn the_man_page_is_roff_and_renders() {
    let out = portghost_env(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let roff = stdout(&out);
    assert!(
        roff.starts_with(".ie \\n(.g") || roff.contains(".TH portghost 1"),
        "{roff}"
    );
    assert!(roff.contains(".TH portghost 1"), "{roff}");
    assert!(
        roff.contains("fail\\-on\\-unexpected"),
        "the scan options are in the page"
    );
    let has_man = Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_man {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but `man` is not installed"
        );
        eprintln!("skipped rendering with man -l: `man` is not installed");
        return;
    }
    let mut child = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn man");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(roff.as_bytes()).expect("feed man");
    }
    let out = child.wait_with_output().expect("man");
    assert_eq!(out.status.code(), Some(0), "man -l -: {}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains("NAME") && page.contains("portghost"), "{page}");
    assert!(page.contains("completions"), "{page}");
}

#[test]
fn scan_flags_work_without_the_word_scan_and_top_level_help_lists_them() {
    let mut lab = Lab::new();
    let pid = lab.hold(&["tcp:0.0.0.0:3237", "tcp:127.0.0.1:28111"]);
    let out = lab.portghost(&["--no-policy", "--format", "json", "--port", "3237,28111"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(ports(&v), vec![3237, 28111], "{v:#}");
    assert_eq!(v["listeners"][0]["owners"][0]["pid"], pid);

    let out = lab.portghost(&["--no-policy", "-f", "json", "--unexpected", "--port", "3237,28111"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(ports(&json(&out)), vec![3237]);

    let out = lab.portghost(&["--no-policy", "--fail-on-unexpected", "--port", "3237"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("0.0.0.0:3237"), "{}", stdout(&out));
    let out = lab.portghost(&["--no-policy", "--fail-on-unexpected", "--port", "28111"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    let help = stdout(&portghost_env(&["--help"], &[]));
    for flag in [
        "--format",
        "--port",
        "--unexpected",
        "--fail-on-unexpected",
        "--all-netns",
        "--output",
        "--quiet",
    ] {
        assert!(help.contains(flag), "top-level --help shows {flag}: {help}");
    }
    // A scan option before another command is a usage error, not silently dropped.
    let out = portghost_env(&["--format", "json", "explain", "22"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--format is a scan option"), "{}", stderr(&out));
    // Global options still go before a command.
    let out = portghost_env(&["--color", "never", "explain", "22", "--no-live"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn port_takes_ranges_and_service_names() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237", "udp:0.0.0.0:3416", "tcp:127.0.0.1:28111"]);
    let scan = |spec: &str| {
        let out = lab.portghost(&["scan", "-f", "json", "--sort", "port", "--port", spec]);
        assert_eq!(out.status.code(), Some(0), "--port {spec}: {}", stderr(&out));
        ports(&json(&out))
    };
    assert_eq!(scan("3200-3300"), vec![3237], "3416 is outside the range");
    assert_eq!(scan("3200-3500"), vec![3237, 3416]);
    assert_eq!(
        scan("apparenet-tps,28111"),
        vec![3237, 28111],
        "a name stands for its IANA ports"
    );
    assert_eq!(scan("commandport"), vec![3416]);
    assert_eq!(scan("28111-28111"), vec![28111]);
    for bad in ["0", "3300-3200", "65536", "no-such-service-name"] {
        let out = lab.portghost(&["scan", "--port", bad]);
        assert_eq!(out.status.code(), Some(2), "--port {bad}");
        assert!(!stderr(&out).is_empty(), "--port {bad} explains itself");
    }
}

#[test]
fn owner_filters_sort_header_and_quiet() {
    let mut lab = Lab::new();
    let a = lab.hold(&["tcp:127.0.0.1:28112", "tcp:0.0.0.0:3237"]);
    let b = lab.hold(&["tcp:127.0.0.1:28111"]);
    let name = comm_of(&python());
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", "-f", "json", "--port", "3237,28111,28112"];
        args.extend_from_slice(extra);
        let out = lab.portghost(&args);
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        json(&out)
    };
    let a_arg = a.to_string();
    let v = scan(&["--pid", &a_arg]);
    assert_eq!(ports(&v), vec![3237, 28112], "{v:#}");
    assert_eq!(v["summary"]["listeners"], 2);
    let both = format!("{a},{b}");
    assert_eq!(
        ports(&scan(&["--pid", &both, "--sort", "port"])),
        vec![3237, 28111, 28112]
    );
    assert_eq!(
        ports(&scan(&["--process", &name, "--sort", "port"])),
        vec![3237, 28111, 28112]
    );
    assert!(ports(&scan(&["--process", "no-such-proc"])).is_empty());
    if Lab::root() {
        assert_eq!(
            ports(&scan(&["--user", "root", "--sort", "port"])),
            vec![3237, 28111, 28112]
        );
        assert_eq!(ports(&scan(&["--user", "0", "--pid", &a_arg])), vec![3237, 28112]);
        assert!(ports(&scan(&["--user", "65534"])).is_empty());
    }
    // The default order puts the unexpected first; --sort port orders by port.
    assert_eq!(ports(&scan(&[])), vec![3237, 28111, 28112]);
    assert_eq!(ports(&scan(&["--sort", "verdict"])), vec![3237, 28111, 28112]);

    let table = |extra: &[&str]| {
        let mut args = vec!["scan", "--port", "3237,28111,28112"];
        args.extend_from_slice(extra);
        lab.portghost(&args)
    };
    let out = table(&[]);
    assert!(
        stdout(&out).lines().next().is_some_and(|l| l.contains("PROTO")),
        "{}",
        stdout(&out)
    );
    for flag in ["-H", "--no-header"] {
        let out = table(&[flag]);
        let text = stdout(&out);
        assert!(!text.contains("PROTO"), "{flag}: {text}");
        assert!(
            text.lines().next().is_some_and(|l| l.contains("0.0.0.0:3237")),
            "{flag}: {text}"
        );
    }
    for flag in ["-q", "--quiet"] {
        let out = table(&[flag, "--fail-on-unexpected"]);
        assert_eq!(out.status.code(), Some(1), "{flag}: the exit code still tells");
        assert!(out.stdout.is_empty(), "{flag}: {}", stdout(&out));
        assert!(out.stderr.is_empty(), "{flag}: {}", stderr(&out));
        let out = table(&[flag, "--fail-on-unexpected", "--pid", &b.to_string()]);
        assert_eq!(out.status.code(), Some(0), "{flag}: only b's clean listener");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn output_writes_the_format_to_a_file_and_the_table_to_stdout() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:0.0.0.0:3237"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("scan.json");
    let file_arg = file.to_str().expect("utf-8");

    let out = lab.portghost(&[
        "scan",
        "-f",
        "json",
        "--port",
        "3237",
        "--output",
        file_arg,
        "--fail-on-unexpected",
    ]);
    assert_eq!(out.status.code(), Some(1), "the gate still decides: {}", stderr(&out));
    let text = std::fs::read_to_string(&file).expect("the report was written");
    let v: Value = serde_json::from_str(&text).expect("the file is the JSON scan");
    assert_eq!(ports(&v), vec![3237]);
    assert_eq!(v["listeners"][0]["verdict"], "unexpected");
    let shown = stdout(&out);
    assert!(
        shown.contains("PROTO") && shown.contains("0.0.0.0:3237"),
        "stdout shows the table: {shown}"
    );
    assert!(!shown.contains("schema_version"), "{shown}");

    // -q: the file, and nothing on stdout.
    std::fs::remove_file(&file).expect("rm");
    let out = lab.portghost(&["scan", "-f", "junit", "--port", "3237", "-o", file_arg, "-q"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stdout.is_empty());
    let xml = std::fs::read_to_string(&file).expect("written");
    roxmltree::Document::parse(&xml).expect("the file is JUnit XML");

    // A file that cannot be written: exit 2, unless the gate already failed (1).
    let missing = dir.path().join("no-such-dir").join("scan.json");
    let missing_arg = missing.to_str().expect("utf-8");
    let out = lab.portghost(&["scan", "-f", "json", "--port", "3237", "-o", missing_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot write the output"), "{}", stderr(&out));
    let out = lab.portghost(&[
        "scan",
        "-f",
        "json",
        "--port",
        "3237",
        "-o",
        missing_arg,
        "--fail-on-unexpected",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));

    // diff --output: the JSON diff to the file, the text to stdout.
    let diff_file = dir.path().join("diff.json");
    let out = lab.portghost(&[
        "diff",
        file_arg,
        file_arg,
        "-f",
        "json",
        "--output",
        diff_file.to_str().expect("utf-8"),
    ]);
    // The JUnit file is not a scan: an error, and no diff written.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = lab.portghost(&["scan", "-f", "json", "--port", "3237", "-o", file_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = lab.portghost(&[
        "diff",
        file_arg,
        file_arg,
        "-f",
        "json",
        "--output",
        diff_file.to_str().expect("utf-8"),
        "--fail-on-change",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let d: Value = serde_json::from_str(&std::fs::read_to_string(&diff_file).expect("written")).expect("JSON diff");
    assert_eq!(d["summary"]["drift"], false, "{d:#}");
    assert!(
        !stdout(&out).trim_start().starts_with('{'),
        "stdout shows the text: {}",
        stdout(&out)
    );
    let out = lab.portghost(&["diff", file_arg, file_arg, "-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn colour_follows_clicolor_force_and_no_color() {
    let args = ["explain", "3237", "--no-live"];
    let has_escape = |out: &Output| out.stdout.contains(&0x1b);
    assert!(!has_escape(&portghost_env(&args, &[])), "not a terminal: no colour");
    assert!(has_escape(&portghost_env(&args, &[("CLICOLOR_FORCE", "1")])));
    assert!(has_escape(&portghost_env(
        &args,
        &[("CLICOLOR_FORCE", "1"), ("TERM", "dumb")]
    )));
    assert!(!has_escape(&portghost_env(&args, &[("CLICOLOR_FORCE", "0")])));
    assert!(!has_escape(&portghost_env(
        &args,
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    )));
    assert!(!has_escape(&portghost_env(
        &["--color", "never", "explain", "3237", "--no-live"],
        &[("CLICOLOR_FORCE", "1")]
    )));
}

#[test]
fn license_files_and_changelog_are_there() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |name: &str| std::fs::read_to_string(format!("{root}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mit = read("LICENSE-MIT");
    assert!(mit.starts_with("Copyright (c) The portghost developers\n"), "{mit}");
    assert!(mit.contains("Permission is hereby granted, free of charge"));
    let apache = read("LICENSE-APACHE");
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0, January 2004"));
    assert!(apache.contains("END OF TERMS AND CONDITIONS"));
    let cargo = read("Cargo.toml");
    assert!(cargo.contains("license = \"MIT OR Apache-2.0\""));
    let changelog = read("CHANGELOG.md");
    assert!(changelog.starts_with("# Changelog\n"), "{changelog}");
    assert!(changelog.contains("https://keepachangelog.com/en/1.1.0/"));
    assert!(changelog.contains("https://semver.org/spec/v2.0.0.html"));
    assert!(changelog.contains("\n## Unreleased\n") || changelog.contains("\n## [Unreleased]\n"));
    for section in changelog.lines().filter(|l| l.starts_with("### ")) {
        assert!(
            [
                "### Added",
                "### Changed",
                "### Deprecated",
                "### Removed",
                "### Fixed",
                "### Security"
            ]
            .contains(&section),
            "{section} is not a Keep a Changelog section"
        );
    }
}
