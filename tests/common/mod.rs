//! Live-test support: a child process that holds real sockets, optionally inside a
//! network namespace of its own, and the `portghost` binary run next to it.
//!
//! As root (with `ip` available) each [`Lab`] creates a fresh network namespace with only
//! `lo`, so nothing else on the machine can interfere; otherwise it uses the host's
//! namespace and tests match only their own PIDs and ports. Everything started is killed
//! by PID and every namespace deleted when the `Lab` drops.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Python program run by the child: binds every `proto:addr:port` argument, prints
/// `READY`, then waits until stdin closes or it is killed.
const HOLDER: &str = r#"
import socket, sys
socks = []
for spec in sys.argv[1:]:
    proto, rest = spec.split(":", 1)
    addr, port = rest.rsplit(":", 1)
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, int(port)))
    if proto == "tcp":
        s.listen(16)
    socks.append(s)
print("READY", flush=True)
sys.stdin.read()
"#;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn have_ip() -> bool {
    Command::new("ip")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The real Python interpreter (not a shim), so that the child's PID and name are its own.
pub fn python() -> PathBuf {
    let out = Command::new("python3")
        .args(["-c", "import os, sys; print(os.path.realpath(sys.executable))"])
        .output()
        .expect("python3 is needed by the live tests");
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8").trim())
}

/// The name the kernel gives a process running `exe`: its file name, cut to 15 bytes.
pub fn comm_of(exe: &std::path::Path) -> String {
    let name = exe.file_name().expect("file name").to_string_lossy().into_owned();
    name.chars().take(15).collect()
}

/// A place to run listeners and portghost: a private network namespace as root, else the host.
pub struct Lab {
    netns: Option<String>,
    children: Vec<Child>,
    adopted: Vec<u32>,
}

impl Lab {
    /// A fresh lab; a private network namespace when running as root with `ip` available.
    pub fn new() -> Lab {
        if is_root() && have_ip() {
            let name = format!(
                "portghost-test-{}-{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::SeqCst)
            );
            let ok = Command::new("ip")
                .args(["netns", "add", &name])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip netns add {name} failed");
            let lab = Lab {
                netns: Some(name.clone()),
                children: Vec::new(),
                adopted: Vec::new(),
            };
            let up = Command::new("ip")
                .args(["netns", "exec", &name, "ip", "link", "set", "lo", "up"])
                .status()
                .is_ok_and(|s| s.success());
            assert!(up, "bringing lo up in {name} failed");
            lab
        } else {
            Lab {
                netns: None,
                children: Vec::new(),
                adopted: Vec::new(),
            }
        }
    }

    /// True when this lab has a private network namespace.
    pub fn isolated(&self) -> bool {
        self.netns.is_some()
    }

    /// The `ip netns` name of this lab's namespace, when it has one.
    pub fn netns_name(&self) -> Option<&str> {
        self.netns.as_deref()
    }

    /// The inode of this lab's network namespace, when it has one of its own (only on
    /// Linux, the one system with network namespaces).
    #[cfg(unix)]
    pub fn netns_inode(&self) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        let name = self.netns.as_ref()?;
        Some(
            std::fs::metadata(format!("/run/netns/{name}"))
                .expect("stat the lab's netns")
                .ino(),
        )
    }

    fn command(&self, program: &std::path::Path) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    /// Starts a child that binds `specs` (`"tcp:0.0.0.0:3237"`, `"udp:::1:3416"`) and
    /// returns its PID once every socket is bound.
    pub fn hold(&mut self, specs: &[&str]) -> u32 {
        self.hold_with(&python(), specs)
    }

    /// Like [`Lab::hold`], with the Python interpreter at `interpreter` (for example a copy
    /// placed somewhere suspicious).
    pub fn hold_with(&mut self, interpreter: &std::path::Path, specs: &[&str]) -> u32 {
        let (pid, rest) = self.start_python(&[], interpreter, HOLDER, specs);
        assert!(rest.is_empty(), "listener child failed to bind {specs:?}");
        pid
    }

    /// Like [`Lab::hold`], with the child running as user `nobody` (65534) through
    /// `setpriv`, which execs the interpreter (so the PID is the interpreter's). Ports must
    /// be 1024 or above. Only meaningful when the tests run as root.
    pub fn hold_as_nobody(&mut self, specs: &[&str]) -> u32 {
        let prefix = ["--reuid=65534", "--regid=65534", "--clear-groups"];
        let (pid, rest) = self.start_python(&prefix, &python(), HOLDER, specs);
        assert!(rest.is_empty(), "listener child failed to bind {specs:?}");
        pid
    }

    /// Starts `python3 -c script` (which must print a line starting with `READY` once set
    /// up, and exit when stdin closes) and returns its PID and the rest of that line.
    pub fn hold_script(&mut self, script: &str) -> (u32, String) {
        self.start_python(&[], &python(), script, &[])
    }

    /// Like [`Lab::hold_script`], with `args` after the script (`sys.argv[1:]`).
    pub fn hold_script_args(&mut self, script: &str, args: &[&str]) -> (u32, String) {
        self.start_python(&[], &python(), script, args)
    }

    /// Starts `program args…` in the lab, waits for it to print a line starting with
    /// `READY` and returns its PID and the rest of that line. It is killed by PID when the
    /// lab drops.
    pub fn start(&mut self, program: &std::path::Path, args: &[&str]) -> (u32, String) {
        let mut child = self
            .command(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        self.children.push(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read READY");
        let rest = line.trim().strip_prefix("READY").expect("child failed to start");
        (pid, rest.trim().to_string())
    }

    /// Runs `python3 -c script args…` in the lab (through `setpriv setpriv_args…` when
    /// those are given), waits for its `READY` line and returns its PID and what followed
    /// `READY` on that line.
    fn start_python(
        &mut self,
        setpriv_args: &[&str],
        interpreter: &std::path::Path,
        script: &str,
        args: &[&str],
    ) -> (u32, String) {
        let mut cmd = if setpriv_args.is_empty() {
            self.command(interpreter)
        } else {
            let mut c = self.command(std::path::Path::new("setpriv"));
            c.args(setpriv_args).arg(interpreter);
            c
        };
        let mut child = cmd
            .arg("-c")
            .arg(script)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn python child");
        let pid = child.id();
        let stdout = child.stdout.take().expect("stdout");
        self.children.push(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read READY");
        let rest = line.trim().strip_prefix("READY").expect("python child failed to start");
        (pid, rest.trim().to_string())
    }

    /// Kills the child with PID `pid` that [`Lab::hold`] started and waits for it, so its
    /// sockets are closed when this returns.
    pub fn stop(&mut self, pid: u32) {
        let i = self
            .children
            .iter()
            .position(|c| c.id() == pid)
            .expect("stop: not a child of this lab");
        let mut child = self.children.remove(i);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Takes responsibility for killing `pid` (a process a child started) when the lab drops.
    pub fn adopt(&mut self, pid: u32) {
        self.adopted.push(pid);
    }

    /// Runs `program args` in this lab and returns its output.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, program]);
                c
            }
            None => Command::new(program),
        };
        cmd.args(args).stdin(Stdio::null()).output().expect("run command")
    }

    /// Runs the portghost binary as user `nobody` (65534) through `setpriv`, for tests of
    /// the unprivileged view. Only meaningful when the tests run as root. A `scan` uses no
    /// policy unless the arguments name one.
    pub fn portghost_as_nobody(&self, args: &[&str]) -> Output {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_portghost"));
        let mut full = vec![
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            bin.to_str().expect("utf-8 path"),
        ];
        full.extend(without_discovery(args));
        self.run("setpriv", &full)
    }

    /// True when the tests run as root.
    pub fn root() -> bool {
        is_root()
    }

    /// True when the tests run as root and `ip` can create network namespaces, so that a
    /// [`Lab`] gets a namespace of its own.
    pub fn can_isolate() -> bool {
        is_root() && have_ip()
    }

    /// Runs the portghost binary with `args` in the namespace the tests run in (normally the
    /// host's), not in this lab's.
    pub fn portghost_outside(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_portghost"))
            .args(args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::null())
            .output()
            .expect("run portghost")
    }

    /// Runs the portghost binary with `args` in this lab (stdin closed, colour env cleared).
    /// A `scan` or `explain` uses no policy unless the arguments name one, so that a policy file on the
    /// machine (./portghost.toml, /etc/portghost/policy.toml) cannot change the results.
    pub fn portghost(&self, args: &[&str]) -> Output {
        self.portghost_in(None, &without_discovery(args))
    }

    /// Runs the portghost binary with exactly `args` (policy discovery included) in this
    /// lab, in the working directory `cwd` when given.
    pub fn portghost_in(&self, cwd: Option<&std::path::Path>, args: &[&str]) -> Output {
        self.portghost_env(cwd, &[], args)
    }

    /// [`Lab::portghost_in`] with the environment variables `env` set.
    pub fn portghost_env(
        &self,
        cwd: Option<&std::path::Path>,
        env: &[(&str, &std::ffi::OsStr)],
        args: &[&str],
    ) -> Output {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_portghost"));
        let mut cmd = self.command(&bin);
        if let Some(dir) = cwd {
            cmd.current_dir(dir);
        }
        cmd.envs(env.iter().copied());
        cmd.args(args)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .stdin(Stdio::null());
        let start = Instant::now();
        let out = cmd.output().expect("run portghost");
        assert!(start.elapsed() < Duration::from_secs(60), "portghost hung");
        out
    }
}

/// `args` with `--no-policy` after `scan` or `explain` when they name no policy.
fn without_discovery<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut out = args.to_vec();
    if matches!(args.first(), Some(&"scan" | &"explain"))
        && !args.iter().any(|a| *a == "--policy" || *a == "--no-policy")
    {
        out.insert(1, "--no-policy");
    }
    out
}

impl Drop for Lab {
    fn drop(&mut self) {
        for pid in &self.adopted {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(ns) = &self.netns {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[path = "live_scans.rs"]
pub mod live_scans;

/// True under `CI=true`, where CI installed every tool and no live test may skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether a test's need is met (`ok`); otherwise prints why the test is skipped, and
/// fails under `CI=true`.
pub fn require(what: &str, ok: bool) -> bool {
    if !ok {
        assert!(!in_ci(), "CI=true but {what} is missing");
        eprintln!("skipped: needs {what}");
    }
    ok
}

/// `program` as a file on `PATH` or in one of the usual program directories.
pub fn tool(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// A process a test started (usually through `ip netns exec`), and the PIDs of what it
/// started in turn; every one is killed by PID when this drops.
pub struct Started {
    /// The process the test spawned.
    pub child: Child,
    /// PIDs it started that must die with it; 0 is ignored.
    pub pids: Vec<u32>,
}

impl Drop for Started {
    fn drop(&mut self) {
        for pid in self.pids.iter().filter(|&&p| p > 0) {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `rpcbind -f` and `rpc.statd -F --no-notify STATD_ARGS` in the network namespace
/// `netns`, in a private mount namespace with tmpfs on `/run` and `/var/lib/nfs` (so the
/// host's rpcbind socket and NFS state are untouched). Returns the supervisor (which kills
/// both when dropped, also if this fails half-way) and the PIDs of rpcbind and rpc.statd,
/// once both have started; waiting for statd to listen is the caller's.
pub fn start_nfs(netns: &str, statd_args: &str) -> (Started, u32, u32) {
    let script = format!(
        r#"set -e
mount -t tmpfs -o mode=0755 portghost-test /run
mkdir -p /run/rpcbind
chown _rpc /run/rpcbind 2>/dev/null || true
mount -t tmpfs -o mode=0755 portghost-test /var/lib/nfs
mkdir -p /var/lib/nfs/sm /var/lib/nfs/sm.bak
rpcbind -f & echo "rpcbind $!"
i=0; while [ ! -S /run/rpcbind.sock ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
rpc.statd -F --no-notify {statd_args} & echo "statd $!"
echo READY
wait"#
    );
    let mut child = Command::new("ip")
        .args(["netns", "exec", netns])
        .args(["unshare", "--mount", "--propagation", "private", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start rpcbind and rpc.statd");
    let stdout = child.stdout.take().expect("stdout");
    let mut started = Started {
        child,
        pids: Vec::new(),
    };
    let (mut rpcbind, mut statd) = (0, 0);
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read the supervisor's output");
        let mut words = line.split_whitespace();
        match (words.next(), words.next().and_then(|p| p.parse().ok())) {
            (Some("rpcbind"), Some(pid)) => rpcbind = pid,
            (Some("statd"), Some(pid)) => statd = pid,
            (Some("READY"), _) => break,
            _ => {}
        }
        // Known at once, so that a failure from here on still kills them.
        started.pids = vec![statd, rpcbind];
    }
    assert!(rpcbind > 0 && statd > 0, "rpcbind and rpc.statd did not start");
    (started, rpcbind, statd)
}

/// `promtool ARGS…` with `stdin`; panics with its output unless it succeeds.
pub fn promtool(args: &[&str], stdin: &[u8]) {
    use std::io::Write as _;
    let mut child = std::process::Command::new("promtool")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}{}\n--- input:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(stdin)
    );
}
