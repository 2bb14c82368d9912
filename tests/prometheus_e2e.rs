//! The fleet route end to end, with Debian's own `prometheus-node-exporter` and `prometheus`:
//! in a test network namespace, node_exporter's textfile collector reads the file that
//! `portghost watch --netns NS --textfile` rewrites, Prometheus scrapes node_exporter every
//! second and evaluates the repository's `examples/prometheus/portghost.rules.yml` every
//! second. A ghost listener (Python on 0.0.0.0:3237/tcp, a seed ghost port, so unexpected) is
//! opened in the namespace, and Prometheus's HTTP API must show
//! `portghost_listeners{verdict="unexpected"}` go from 0 to 1, and the alerts
//! `PortghostUnexpectedListener` and `PortghostNewListener` (for 3237 only, not for the
//! listeners that were there from the start: node_exporter's and Prometheus's own) firing.
//! `promtool check metrics` must accept the textfile and `promtool check rules` the rules.
//!
//! Everything waits by polling with generous deadlines (no timing is asserted). Prometheus and
//! node_exporter listen on loopback inside the namespace, and the HTTP queries are made from
//! inside it (`ip netns exec NS python3`), so nothing is reachable from outside. Each process
//! is killed by PID and the namespace deleted when the test ends, also on failure.
//!
//! Needs root, `ip`, `python3`, and Debian's `prometheus` (with `promtool`) and
//! `prometheus-node-exporter`; without them it says why and passes, except under `CI=true`,
//! where `.ci/run` installs them and a missing one fails the test.

mod common;

use common::{Lab, Started, promtool, require, tool};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// node_exporter's port, on 127.0.0.1 inside the test namespace.
const NODE_EXPORTER: &str = "127.0.0.1:9100";
/// Prometheus's port, on 127.0.0.1 inside the test namespace.
const PROMETHEUS: &str = "127.0.0.1:9090";
/// How long any one step may take before the test gives up (Prometheus scrapes and
/// evaluates every second; the watch scans every half second).
const DEADLINE: Duration = Duration::from_secs(120);

/// The rules under test.
const RULES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/prometheus/portghost.rules.yml");

/// Fetches an URL (the first argument, plus `?query=` and the second argument, encoded,
/// when given) and prints the body; exits non-zero on any error (not listening yet, HTTP
/// status other than 200).
const HTTP_GET: &str = r#"
import sys, urllib.parse, urllib.request
url = sys.argv[1]
if len(sys.argv) > 2:
    url += "?query=" + urllib.parse.quote(sys.argv[2])
with urllib.request.urlopen(url, timeout=5) as r:
    sys.stdout.write(r.read().decode())
"#;

/// The test namespace, the directory holding the configuration, the data and the logs, and
/// the processes started in it.
struct Fleet<'a> {
    netns: &'a str,
    dir: &'a Path,
}

impl Fleet<'_> {
    /// Starts `program args…` in the namespace (`ip netns exec` execs it, so the child's PID
    /// is the program's), its output going to `DIR/NAME.log`.
    fn start(&self, name: &str, program: &Path, args: &[&str]) -> Started {
        let log = std::fs::File::create(self.dir.join(format!("{name}.log"))).expect("log file");
        let child = Command::new("ip")
            .args(["netns", "exec", self.netns])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Started {
            child,
            pids: Vec::new(),
        }
    }

    /// The body of `http://ADDR/PATH` (with `?query=QUERY` when given), fetched from inside the
    /// namespace; `None` while nothing answers there or the status is not 200.
    fn get(&self, addr: &str, path: &str, query: Option<&str>) -> Option<String> {
        let url = format!("http://{addr}{path}");
        let out = Command::new("ip")
            .args(["netns", "exec", self.netns, "python3", "-c", HTTP_GET, &url])
            .args(query)
            .stdin(Stdio::null())
            .output()
            .expect("run python3 in the namespace");
        out.status
            .success()
            .then(|| String::from_utf8(out.stdout).expect("utf-8 body"))
    }

    /// The `data` of a Prometheus API answer at `path`; `None` until Prometheus answers with
    /// status `success`.
    fn api(&self, path: &str, query: Option<&str>) -> Option<Value> {
        let body = self.get(PROMETHEUS, path, query)?;
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"));
        (v["status"] == "success").then(|| v["data"].clone())
    }

    /// The samples of the instant query `promql`: (labels, value) pairs.
    fn query(&self, promql: &str) -> Option<Vec<(Value, f64)>> {
        let data = self.api("/api/v1/query", Some(promql))?;
        assert_eq!(data["resultType"], "vector", "{promql}: {data}");
        Some(
            data["result"]
                .as_array()
                .expect("result")
                .iter()
                .map(|s| {
                    let value = s["value"][1].as_str().expect("value").parse().expect("number");
                    (s["metric"].clone(), value)
                })
                .collect(),
        )
    }

    /// Prometheus's active alerts (`/api/v1/alerts`).
    fn alerts(&self) -> Option<Vec<Value>> {
        Some(self.api("/api/v1/alerts", None)?["alerts"].as_array()?.clone())
    }

    /// Polls `check` every 200 ms until it gives a value; panics naming `what` (with the logs
    /// of node_exporter, Prometheus and the watch) after [`DEADLINE`].
    fn wait<T>(&self, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(v) = check() {
                return v;
            }
            if Instant::now() > deadline {
                panic!("{what}: not within {DEADLINE:?}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The last lines of each log, for a failure message.
    fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["node_exporter", "prometheus", "watch"] {
            let text = std::fs::read_to_string(self.dir.join(format!("{name}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out += &format!("--- {name}.log (last 20 lines)\n");
            for line in &lines[lines.len().saturating_sub(20)..] {
                out += line;
                out.push('\n');
            }
        }
        out
    }
}

/// The value of the one sample of `samples`, or `None` when there is not exactly one.
fn single(samples: &[(Value, f64)]) -> Option<f64> {
    match samples {
        [(_, v)] => Some(*v),
        _ => None,
    }
}

/// Whether `alert` is named `name`, firing, with every label of `labels`.
fn firing(alert: &Value, name: &str, labels: &[(&str, &str)]) -> bool {
    alert["labels"]["alertname"] == name
        && alert["state"] == "firing"
        && labels.iter().all(|(k, v)| alert["labels"][*k] == *v)
}

#[test]
fn a_ghost_listener_reaches_prometheus_through_node_exporter_and_fires_the_alerts() {
    if !require("root and `ip`", Lab::can_isolate()) || !require("python3", tool("python3").is_some()) {
        return;
    }
    let (Some(prometheus), Some(node_exporter)) = (tool("prometheus"), tool("prometheus-node-exporter")) else {
        require("Debian's prometheus and prometheus-node-exporter", false);
        return;
    };
    if !require("promtool (Debian's prometheus)", tool("promtool").is_some()) {
        return;
    }
    promtool(&["check", "rules", RULES], b"");

    // Declared first, dropped last: the namespace goes after every process in it.
    let mut lab = Lab::new();
    let netns = lab.netns_name().expect("a private namespace as root").to_owned();
    let tmp = tempfile::tempdir().expect("tempdir");
    let fleet = Fleet {
        netns: &netns,
        dir: tmp.path(),
    };
    let textfiles = tmp.path().join("textfile");
    let data = tmp.path().join("data");
    std::fs::create_dir(&textfiles).expect("mkdir");
    let textfile: PathBuf = textfiles.join("portghost.prom");
    let config = tmp.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {RULES}\n\
             scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['{NODE_EXPORTER}']\n"
        ),
    )
    .expect("write prometheus.yml");

    let path = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
    // Only the textfile collector: the rest would only add series nobody here reads.
    let _node_exporter = fleet.start(
        "node_exporter",
        &node_exporter,
        &[
            "--collector.disable-defaults",
            "--collector.textfile",
            &format!("--collector.textfile.directory={}", path(&textfiles)),
            &format!("--web.listen-address={NODE_EXPORTER}"),
        ],
    );
    let _prometheus = fleet.start(
        "prometheus",
        &prometheus,
        &[
            &format!("--config.file={}", path(&config)),
            &format!("--storage.tsdb.path={}", path(&data)),
            &format!("--web.listen-address={PROMETHEUS}"),
        ],
    );
    fleet.wait("node_exporter answering", || {
        fleet
            .get(NODE_EXPORTER, "/metrics", None)
            .filter(|m| m.contains("node_textfile_scrape_error"))
    });
    fleet.wait("Prometheus ready", || fleet.get(PROMETHEUS, "/-/ready", None));

    // Both listen now, so the watch's first scan has them: they are not new.
    let watch_log = std::fs::File::create(tmp.path().join("watch.log")).expect("log file");
    let _watch = Started {
        child: Command::new(env!("CARGO_BIN_EXE_portghost"))
            .args(["watch", "--netns", &netns, "--no-policy", "--interval", "0.5"])
            .args(["--textfile", &path(&textfile)])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(watch_log)
            .spawn()
            .expect("start portghost watch"),
        pids: Vec::new(),
    };

    // Scraped: no unexpected listener, and the two that were there from the start.
    fleet.wait("portghost_listeners{verdict=\"unexpected\"} 0 in Prometheus", || {
        single(&fleet.query("portghost_listeners{verdict=\"unexpected\"}")?).filter(|v| *v == 0.0)
    });
    let info = fleet.query("portghost_listener_info").expect("query");
    let mut ports: Vec<&str> = info.iter().filter_map(|(m, _)| m["port"].as_str()).collect();
    ports.sort_unstable();
    assert_eq!(ports, ["9090", "9100"], "{info:?}");
    for (m, _) in &info {
        assert_eq!(m["job"], "node", "{m}");
        assert_eq!(m["netns"], netns.as_str(), "{m}");
        assert_ne!(m["verdict"], "unexpected", "{m}");
    }

    let ghost = lab.hold(&["tcp:0.0.0.0:3237"]);
    let process = common::comm_of(&common::python());

    fleet.wait("portghost_listeners{verdict=\"unexpected\"} 1 in Prometheus", || {
        single(&fleet.query("portghost_listeners{verdict=\"unexpected\"}")?).filter(|v| *v == 1.0)
    });
    let info = fleet
        .query("portghost_listener_info{verdict=\"unexpected\"}")
        .expect("query");
    let [(ghost_labels, sockets)] = info.as_slice() else {
        panic!("one unexpected listener: {info:?}");
    };
    assert_eq!(*sockets, 1.0, "{ghost_labels}");
    for (k, v) in [
        ("protocol", "tcp"),
        ("port", "3237"),
        ("address_scope", "wildcard"),
        ("process", process.as_str()),
        ("netns", netns.as_str()),
    ] {
        assert_eq!(ghost_labels[k], v, "{k}: {ghost_labels}");
    }

    let alerts = fleet.wait("PortghostUnexpectedListener and PortghostNewListener firing", || {
        let alerts = fleet.alerts()?;
        let unexpected = alerts
            .iter()
            .any(|a| firing(a, "PortghostUnexpectedListener", &[("verdict", "unexpected")]));
        let new = alerts.iter().any(|a| {
            firing(
                a,
                "PortghostNewListener",
                &[("port", "3237"), ("protocol", "tcp"), ("netns", netns.as_str())],
            )
        });
        (unexpected && new).then_some(alerts)
    });
    // The listeners that were there from the start are not new.
    let new: Vec<&Value> = alerts
        .iter()
        .filter(|a| a["labels"]["alertname"] == "PortghostNewListener")
        .collect();
    assert_eq!(new.len(), 1, "only 3237 is new: {new:#?}");
    let unexpected = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "PortghostUnexpectedListener")
        .expect("the alert");
    assert_eq!(
        unexpected["annotations"]["summary"],
        format!("1 unexpected listener(s) on {NODE_EXPORTER}"),
        "{unexpected}"
    );

    // The textfile node_exporter read passes Prometheus's linter, ghost included.
    let text = std::fs::read(&textfile).expect("the textfile");
    assert!(
        String::from_utf8_lossy(&text).contains("portghost_listeners{verdict=\"unexpected\"} 1\n"),
        "{}",
        String::from_utf8_lossy(&text)
    );
    promtool(&["check", "metrics"], &text);

    // Gone again: the count falls back to 0 in Prometheus.
    lab.stop(ghost);
    fleet.wait("portghost_listeners{verdict=\"unexpected\"} back to 0", || {
        single(&fleet.query("portghost_listeners{verdict=\"unexpected\"}")?).filter(|v| *v == 0.0)
    });
}
