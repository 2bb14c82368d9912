//! Failing closed under hostile input and faults: a stdout that cannot be written (a closed
//! pipe, a closed fd 1) never turns into exit 0 and never hides the verdict; `baseline
//! --output` never writes through a planted link and never leaves a half-written file;
//! `diff` refuses inputs it cannot read in bounded time and memory; attacker-chosen text
//! (process names, file names, namespace names) reaches no terminal and no XML raw.

// Linux resource limits (libc), Unix file modes and sockets held by Python: Linux only.
#![cfg(target_os = "linux")]

mod common;

use common::Lab;
use portghost::model::Report;
use portghost::model::{OwnerStatus, Verdict};
use portghost::policy::{Mode, baseline};
use portghost::render::{Style, github, json, junit, table};
use std::io::{Read, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "common/fixture.rs"]
mod fixture;

const BIN: &str = env!("CARGO_BIN_EXE_portghost");

/// A private temporary directory (mode 0700).
fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    dir
}

/// `portghost args…` run inside the lab's network namespace, when it has one.
fn portghost_in(lab: &Lab, args: &[&str]) -> Command {
    let mut cmd = match lab.netns_name() {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, BIN]);
            c
        }
        None => Command::new(BIN),
    };
    cmd.args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Waits at most `limit` for `child`; kills it and fails the test when it takes longer.
fn wait_within(child: &mut Child, limit: Duration, what: &str) -> (ExitStatus, String) {
    let start = Instant::now();
    let mut stderr = child.stderr.take().expect("stderr piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status, reader.join().expect("stderr reader"));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `cmd` with stdout a pipe whose read end is already closed (as after `| head -0`),
/// and returns its exit code and stderr.
fn run_into_closed_pipe(mut cmd: Command, what: &str) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let mut child = cmd.stdout(writer).spawn().expect("spawn portghost");
    drop(cmd);
    let (status, stderr) = wait_within(&mut child, Duration::from_secs(60), what);
    (status.code(), stderr)
}

/// Runs `cmd` with stdout piped, reads its first 4 KiB (as `head -c 4096` does), closes the
/// pipe and returns its exit code and stderr.
fn run_into_head(mut cmd: Command, what: &str) -> (Option<i32>, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn portghost");
    let mut stdout = child.stdout.take().expect("stdout piped");
    let mut first = [0u8; 4096];
    stdout
        .read_exact(&mut first)
        .expect("4 KiB of output before the pipe closes");
    drop(stdout);
    let (status, stderr) = wait_within(&mut child, Duration::from_secs(60), what);
    (status.code(), stderr)
}

/// A Python child holding `ghosts` UDP sockets on 127.0.0.1:3416 (a ghost port, each one
/// unexpected) and `plain` UDP sockets on ephemeral ports (unreviewed, never unexpected);
/// prints `READY` and the ephemeral ports, comma-separated.
const MANY_SOCKETS: &str = r#"
import resource, socket, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
n = max(0, min(1500, (hard - 64) // 2))
socks, ports = [], []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", 3416))
    socks.append(s)
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
    ports.append(str(s.getsockname()[1]))
print("READY", ",".join(ports), flush=True)
sys.stdin.read()
"#;

const FORMATS: [&str; 5] = ["table", "json", "junit", "github", "jsonl"];

#[test]
fn a_closed_pipe_keeps_the_verdict_in_every_format() {
    let mut lab = Lab::new();
    let (_pid, plain_ports) = lab.hold_script(MANY_SOCKETS);
    assert!(
        plain_ports.split(',').count() >= 400,
        "too few sockets bound: {plain_ports}"
    );
    // An ephemeral port may happen to be a ghost or malware port: leave those out, so that
    // nothing in the plain set is unexpected.
    let out = portghost_in(
        &lab,
        &[
            "scan",
            "--no-policy",
            "--unexpected",
            "-f",
            "jsonl",
            "--port",
            &plain_ports,
        ],
    )
    .stdout(Stdio::piped())
    .output()
    .expect("scan");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let flagged: Vec<String> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("jsonl")["port"].to_string())
        .collect();
    let plain_ports = plain_ports
        .split(',')
        .filter(|p| !flagged.iter().any(|f| f == p))
        .collect::<Vec<_>>()
        .join(",");
    for format in FORMATS {
        // 1500 unexpected listeners: far more output than a pipe holds, in every format.
        let ghost = [
            "scan",
            "--no-policy",
            "--fail-on-unexpected",
            "--format",
            format,
            "--port",
            "3416",
        ];
        let (code, stderr) = run_into_head(portghost_in(&lab, &ghost), format);
        assert_eq!(
            code,
            Some(1),
            "{format}, unexpected listeners, pipe closed after 4 KiB:\n{stderr}"
        );
        // (GitHub gets at most ten ::error annotations, however many listeners are
        // unexpected: too little to outgrow the pipe.)
        assert!(
            format == "github" || stderr.contains("portghost: cannot write the output: Broken pipe"),
            "{format}:\n{stderr}"
        );
        assert!(
            stderr.contains("portghost: unexpected: udp 127.0.0.1:3416"),
            "{format}: the verdict's stderr lines are missing:\n{stderr}"
        );
        let (code, stderr) = run_into_closed_pipe(portghost_in(&lab, &ghost), format);
        assert_eq!(
            code,
            Some(1),
            "{format}, unexpected listeners, pipe closed before output:\n{stderr}"
        );

        // Nothing unexpected: the gate passes, the write failed, so 2.
        let clean = [
            "scan",
            "--no-policy",
            "--fail-on-unexpected",
            "--format",
            format,
            "--port",
            plain_ports.as_str(),
        ];
        let (code, stderr) = run_into_closed_pipe(portghost_in(&lab, &clean), format);
        assert_eq!(code, Some(2), "{format}, nothing unexpected, pipe closed:\n{stderr}");
        assert!(
            stderr.contains("portghost: cannot write the output:"),
            "{format}:\n{stderr}"
        );
        assert!(!stderr.contains("portghost: unexpected:"), "{format}:\n{stderr}");
        if format != "github" {
            // (GitHub annotations are written only for unexpected listeners: too little to
            // outgrow the pipe here.)
            let (code, stderr) = run_into_head(portghost_in(&lab, &clean), format);
            assert_eq!(
                code,
                Some(2),
                "{format}, nothing unexpected, pipe closed after 4 KiB:\n{stderr}"
            );
        }
    }
}

/// Two scan files for `diff`: the fixture, and the fixture less its listener on 3237.
fn scan_files(dir: &Path) -> (PathBuf, PathBuf) {
    // Only listeners whose owners are known, so that every one can be compared.
    let mut old = fixture::report();
    old.retain(|c| c.listener.owner_status == OwnerStatus::Known);
    let mut new = old.clone();
    new.retain(|c| c.listener.port != 3237);
    let write = |name: &str, r: &Report| {
        let path = dir.join(name);
        let mut buf = Vec::new();
        json::render(&mut buf, r, false).expect("render json");
        std::fs::write(&path, buf).expect("write scan");
        path
    };
    (write("old.json", &old), write("new.json", &new))
}

#[test]
fn diff_explain_and_baseline_into_a_closed_pipe_never_exit_zero() {
    let dir = private_dir();
    let (old, new) = scan_files(dir.path());
    let (old, new) = (old.to_str().expect("utf-8"), new.to_str().expect("utf-8"));
    let cmd = |args: &[&str]| {
        let mut c = Command::new(BIN);
        c.args(args).stdin(Stdio::null()).stderr(Stdio::piped());
        c
    };
    for format in ["text", "json"] {
        let (code, stderr) = run_into_closed_pipe(
            cmd(&["diff", old, new, "--fail-on-change", "--format", format]),
            "diff with a change",
        );
        assert_eq!(
            code,
            Some(1),
            "diff --format {format}, a change, closed pipe:\n{stderr}"
        );
        assert!(stderr.contains("cannot write the output"), "{stderr}");
        let (code, stderr) = run_into_closed_pipe(
            cmd(&["diff", old, old, "--fail-on-change", "--format", format]),
            "diff without change",
        );
        assert_eq!(
            code,
            Some(2),
            "diff --format {format}, no change, closed pipe:\n{stderr}"
        );
    }
    let (code, stderr) = run_into_closed_pipe(cmd(&["explain", "3237", "--no-live"]), "explain");
    assert_eq!(code, Some(2), "explain, closed pipe:\n{stderr}");
    assert!(
        stderr.contains("portghost: cannot write the output: Broken pipe"),
        "{stderr}"
    );
    let (code, stderr) = run_into_closed_pipe(cmd(&["baseline", "--no-owners"]), "baseline");
    assert_eq!(code, Some(2), "baseline to stdout, closed pipe:\n{stderr}");
}

#[test]
fn a_closed_stdout_exits_two() {
    for args in [
        "scan --no-policy --no-owners -f json",
        "scan --no-policy --no-owners",
        "explain 3237 --no-live",
    ] {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("exec \"$0\" {args} >&-"))
            .arg(BIN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let (status, stderr) = wait_within(&mut child, Duration::from_secs(60), args);
        assert_eq!(status.code(), Some(2), "portghost {args} >&-:\n{stderr}");
        assert!(
            stderr.contains("portghost: cannot write the output"),
            "{args}:\n{stderr}"
        );
    }
    // A stdout that is open on /dev/null is a choice, not a failure.
    let status = Command::new(BIN)
        .args(["explain", "3237", "--no-live"])
        .stdout(Stdio::null())
        .status()
        .expect("run");
    assert_eq!(status.code(), Some(0));
}

/// `portghost baseline` in `lab` (which holds a few listeners, so the baseline has rules).
fn baseline_command(lab: &Lab, output: &Path) -> Command {
    let mut cmd = portghost_in(lab, &["baseline", "--output", output.to_str().expect("utf-8")]);
    cmd.stdout(Stdio::null());
    cmd
}

#[test]
fn baseline_output_refuses_a_symbolic_link() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:5432", "tcp:0.0.0.0:22"]);
    let dir = private_dir();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").expect("write victim");
    let link = dir.path().join("policy.toml");
    std::os::unix::fs::symlink(&victim, &link).expect("symlink");
    let mut child = baseline_command(&lab, &link).spawn().expect("spawn");
    let (status, stderr) = wait_within(&mut child, Duration::from_secs(60), "baseline");
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "refusing to write through the symbolic link {}",
            link.display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "precious\n");
    assert!(std::fs::symlink_metadata(&link).expect("link").file_type().is_symlink());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        2,
        "a temporary file was left"
    );

    // A regular file is replaced, keeping its permissions.
    let file = dir.path().join("real.toml");
    std::fs::write(&file, "old\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let mut child = baseline_command(&lab, &file).spawn().expect("spawn");
    let (status, stderr) = wait_within(&mut child, Duration::from_secs(60), "baseline");
    assert_eq!(status.code(), Some(0), "{stderr}");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(text.contains("[[allow]]"), "{text}");
    let mode = std::fs::metadata(&file).expect("stat").permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

#[test]
fn baseline_output_cut_short_leaves_the_old_file() {
    let mut lab = Lab::new();
    lab.hold(&["tcp:127.0.0.1:5432", "tcp:0.0.0.0:22", "udp:0.0.0.0:3416"]);
    let dir = private_dir();
    let existing = dir.path().join("policy.toml");
    std::fs::write(&existing, "# the reviewed policy\n").expect("write");
    let absent = dir.path().join("new.toml");
    for dest in [&existing, &absent] {
        let mut cmd = baseline_command(&lab, dest);
        // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child before exec.
        unsafe {
            use std::os::unix::process::CommandExt as _;
            cmd.pre_exec(|| {
                let limit = libc::rlimit {
                    rlim_cur: 200,
                    rlim_max: 200,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn");
        let (status, stderr) = wait_within(&mut child, Duration::from_secs(60), "baseline");
        assert_eq!(status.code(), Some(2), "{}: {status:?}\n{stderr}", dest.display());
        assert!(stderr.contains("file-size limit"), "{stderr}");
    }
    assert_eq!(
        std::fs::read_to_string(&existing).expect("read"),
        "# the reviewed policy\n"
    );
    assert!(!absent.exists(), "a partial file was created");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        1,
        "a temporary file was left"
    );
}

/// The fixture report with the owner of 3237 renamed `name`.
fn with_owner_name(name: &str) -> Report {
    let mut r = fixture::report();
    let c = r
        .listeners
        .iter_mut()
        .find(|c| c.listener.port == 3237)
        .expect("3237 in the fixture");
    let o = Arc::make_mut(&mut c.listener.owners[0]);
    o.name = name.into();
    o.exe = Some(format!("/usr/bin/{name}"));
    o.cmdline = Some(format!("{name} --serve"));
    o.user = Some(name.into());
    assert_eq!(c.verdict, Verdict::Unexpected);
    r
}

#[test]
fn junit_parses_with_characters_xml_forbids() {
    let r = with_owner_name("py\u{fffe}th\u{ffff}on\u{1}\u{b}");
    let mut out = Vec::new();
    junit::render(&mut out, &r).expect("render");
    let xml = String::from_utf8(out).expect("utf-8");
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("JUnit does not parse: {e}\n{xml}"));
    let case = doc
        .descendants()
        .find(|n| n.has_tag_name("testcase") && n.attribute("name").is_some_and(|a| a.starts_with("tcp/3237")))
        .expect("the 3237 test case");
    assert_eq!(
        case.attribute("name"),
        Some("tcp/3237 0.0.0.0 py\\u{fffe}th\\u{ffff}on\\x01\\x0b")
    );
    for c in ['\u{fffe}', '\u{ffff}', '\u{1}', '\u{b}'] {
        assert!(!xml.contains(c), "{:x} reached the XML", c as u32);
    }
}

#[test]
fn invisible_characters_are_escaped_in_every_output() {
    let r = with_owner_name("ss\u{200b}hd");
    let invisible = [
        '\u{200b}', '\u{feff}', '\u{ad}', '\u{2028}', '\u{2029}', '\u{2060}', '\u{2064}', '\u{202e}', '\u{2066}',
    ];
    let mut outputs: Vec<(&str, String)> = Vec::new();
    let mut buf = Vec::new();
    table::render(&mut buf, &r, &Style::plain()).expect("table");
    outputs.push(("table", String::from_utf8(buf).expect("utf-8")));
    let mut buf = Vec::new();
    junit::render(&mut buf, &r).expect("junit");
    outputs.push(("junit", String::from_utf8(buf).expect("utf-8")));
    let mut buf = Vec::new();
    github::render(&mut buf, &r).expect("github");
    outputs.push(("github", String::from_utf8(buf).expect("utf-8")));
    let b = baseline::generate(&r, Mode::Allowlist);
    outputs.push(("baseline", b.text.clone()));
    for (format, text) in &outputs {
        // The baseline writes the name as a TOML escape, which loads back as the exact name.
        let escape = if *format == "baseline" {
            "ss\\u200Bhd"
        } else {
            "ss\\u{200b}hd"
        };
        assert!(text.contains(escape), "{format} shows no escape:\n{text}");
        assert!(
            !text.contains("sshd(4242)") && !text.contains('\u{200b}'),
            "{format}:\n{text}"
        );
    }
    // Every character of the list, in a name, never reaches a report raw.
    for c in invisible {
        let name = format!("a{c}b");
        let r = with_owner_name(&name);
        let mut buf = Vec::new();
        table::render(&mut buf, &r, &Style::plain()).expect("table");
        junit::render(&mut buf, &r).expect("junit");
        github::render(&mut buf, &r).expect("github");
        buf.extend_from_slice(baseline::generate(&r, Mode::Allowlist).text.as_bytes());
        let text = String::from_utf8(buf).expect("utf-8");
        assert!(!text.contains(c), "U+{:04X} reached a report raw", c as u32);
    }
}

#[test]
fn error_messages_escape_file_and_namespace_names() {
    let dir = private_dir();
    let policy = format!("{}/\u{1b}[2Jx", dir.path().display());
    let cases: [&[&str]; 4] = [
        &["scan", "--policy", &policy],
        &["diff", "\u{1b}[31mX"],
        &["scan", "--netns", "\u{1b}]0;x\u{7}"],
        &["scan", "--netns", "/tmp/\u{1b}]0;x\u{7}"],
    ];
    for args in cases {
        let out = Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
        assert!(
            !out.stderr.contains(&0x1b) && !out.stderr.contains(&0x07),
            "{args:?}: a control character reached the terminal: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("\\x1b"), "{args:?}");
    }
}

/// Runs `portghost diff path other`, failing the test after 10 s.
fn diff_within_ten_seconds(path: &Path, other: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(BIN)
        .arg("diff")
        .arg(path)
        .arg(other)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (status, stderr) = wait_within(&mut child, Duration::from_secs(10), &path.display().to_string());
    (status.code(), stderr)
}

#[test]
fn diff_refuses_devices_fifos_and_oversized_files() {
    let dir = private_dir();
    let (good, _) = scan_files(dir.path());

    let (code, stderr) = diff_within_ten_seconds(Path::new("/dev/zero"), &good);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("/dev/zero: not a regular file"), "{stderr}");

    let fifo = dir.path().join("fifo.json");
    let made = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(made.success());
    let (code, stderr) = diff_within_ten_seconds(&good, &fifo);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("fifo.json: not a regular file"), "{stderr}");

    let big = dir.path().join("big.json");
    let f = std::fs::File::create(&big).expect("create");
    f.set_len(64 * 1024 * 1024 + 1).expect("sparse file");
    drop(f);
    let (code, stderr) = diff_within_ten_seconds(&big, &good);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("big.json: 67108865 bytes is more than diff reads (64 MiB at most)"),
        "{stderr}"
    );

    // At the limit's edge a real file is still read (and fails only as bad JSON).
    let mut f = std::fs::File::create(&big).expect("create");
    f.write_all(b"{").expect("write");
    drop(f);
    let (code, stderr) = diff_within_ten_seconds(&big, &good);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("big.json:1:"), "{stderr}");
}
