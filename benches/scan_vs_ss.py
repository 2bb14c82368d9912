#!/usr/bin/env python3
"""scan_vs_ss.py - time `portghost scan` against ss, netstat and lsof, and check it against ss.

    sudo benches/scan_vs_ss.py [--portghost PATH] [--sizes quick|full|KEY,...]
                               [--runs N] [--shared DIR]

  --portghost PATH  binary to measure (default: target/release/portghost of this repo).
                    Copy it somewhere stable first if target/ may be rebuilt meanwhile.
  --sizes           quick = the first two sizes (100/10 and 1,000/50); full = all seven
                    (default); or a comma-separated list of keys (100, 1k, 10k, 50k,
                    10k-conns, 2000procs, 10k-v6) to rerun only some.
  --runs N          measured rounds per size (default 15, and 5 for the 50,000/500 size).
  --shared DIR      the shared tree holding bench/run-in-netns.sh, listeners.py and
                    compare.py (default: ../shared relative to the repo root).

A benchmark, not a test: missed targets do not fail it. Exit status: 0, or 1 if any
correctness check (ss -tulpnH vs portghost JSON) is DIFFERENT, or 2 if a size could not be
run at all. Needs root (network namespaces) and Linux. Python 3 standard library only.

How it works. For each size the script starts ONE throw-away network namespace with
`run-in-netns.sh --tcp N/2 --udp N/2 --procs P [--conns K] [--v6]`, which runs this same
script again inside it (`--inner`). The inner run, with the same listeners throughout:
  1. correctness: `ss -tulpnH` vs `portghost scan --format json` turned into
     `PROTO ADDR PORT PID NAME` lines (one per owner, `-` when there is none), compared by
     the shared compare.py;
  2. timing: every command once per round, in an order rotated each round, 2 warm-up rounds
     then N measured ones; stdout/stderr to /dev/null; wall time by time.perf_counter()
     around spawn..reap, peak RSS from os.wait4()'s ru_maxrss (which cannot go below the
     small launcher's own peak: that floor is printed); lsof (and every other command) is
     killed after 120 s;
  3. one `portghost scan --format json --timings` run, whose phase line is reported.
It prints a table per size, and the outer run ends with a Markdown summary table (see
benches/README.md for what each column means).
"""

import argparse
import json
import os
import platform
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TIMEOUT_S = 120.0
WARMUP_ROUNDS = 2
DEFAULT_RUNS = 15

# key, label, tcp, udp, procs, conns, v6, target ratio to `ss -tulpn`, default runs
SIZES = [
    ("100", "100/10", 50, 50, 10, 0, False, 0.6, DEFAULT_RUNS),
    ("1k", "1,000/50", 500, 500, 50, 0, False, 0.5, DEFAULT_RUNS),
    ("10k", "10,000/100", 5000, 5000, 100, 0, False, 0.3, DEFAULT_RUNS),
    ("50k", "50,000/500", 25000, 25000, 500, 0, False, 0.25, 5),
    ("10k-conns", "10,000/100 + 20k conns", 5000, 5000, 100, 20000, False, 0.25, DEFAULT_RUNS),
    ("2000procs", "100/2,000", 50, 50, 2000, 0, False, 0.6, DEFAULT_RUNS),
    ("10k-v6", "10,000/100 v6", 5000, 5000, 100, 0, True, 0.3, DEFAULT_RUNS),
]
RSS_TARGET_MIB = 40.0  # at 50,000 sockets
RSS_TARGET_KEY = "50k"

PG, PG_NO, SS_P, SS_N = "portghost", "portghost --no-owners", "ss -tulpn", "ss -tuln"


def say(*a):
    print(*a, flush=True)


# ---------------------------------------------------------------------------------------
# inner run (inside the namespace)
# ---------------------------------------------------------------------------------------

# The timed commands are started by this small helper (a second interpreter, -I -S, no
# imports beyond os/time/select/signal), not by the inner script itself, which parses
# portghost's JSON and grows to hundreds of MiB at 50k. It uses posix_spawn (vfork-like,
# as hyperfine -N does; a fork() of even this small interpreter adds ~0.5 ms per run).
# Caveat: ru_maxrss includes the address space a child had before exec, and a vfork child
# shares its parent's, so no run can report less than the launcher's own peak (~9 MiB).
# That floor is measured with /bin/true for every size, and values at it are shown as
# "<=floor"; above it ru_maxrss is the command's own peak.
LAUNCHER = r"""
import os, sys, time, select, signal
dn = os.open(os.devnull, os.O_RDWR)
io = [(os.POSIX_SPAWN_DUP2, dn, 0), (os.POSIX_SPAWN_DUP2, dn, 1), (os.POSIX_SPAWN_DUP2, dn, 2)]
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    argv = line.rstrip(b"\n").split(b"\t")
    timeout = float(argv.pop(0))
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=io)
    fd = os.pidfd_open(pid)
    ready = select.select([fd], [], [], timeout)[0]
    if not ready:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    _, st, ru = os.wait4(pid, 0)
    t1 = time.perf_counter()
    os.close(fd)
    out.write(b"%.6f %d %d %d\n" % ((t1 - t0) * 1000.0, ru.ru_maxrss,
                                     os.waitstatus_to_exitcode(st), not ready))
    out.flush()
"""


class Runner:
    """Runs one command at a time through LAUNCHER, stdio on /dev/null; times and reaps it."""

    def __init__(self):
        # own session, so that one killpg() ends the launcher and a command it is running
        self.p = subprocess.Popen([sys.executable, "-I", "-S", "-c", LAUNCHER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  start_new_session=True)

    def run(self, argv, timeout=TIMEOUT_S):
        """Returns (wall ms, peak RSS KiB, exit code, timed_out)."""
        self.p.stdin.write(("\t".join([str(timeout)] + argv) + "\n").encode())
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        if len(line) != 4:
            raise RuntimeError("launcher died running %s" % " ".join(argv))
        return float(line[0]), int(line[1]), int(line[2]), line[3] == b"1"

    def close(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.p.wait()


def host_counts():
    procs = fds = 0
    for d in os.listdir("/proc"):
        if d.isdigit():
            procs += 1
            try:
                fds += len(os.listdir("/proc/%s/fd" % d))
            except OSError:
                pass
    return procs, fds


def pg_json_to_lines(path, out_path):
    """portghost JSON -> `PROTO ADDR PORT PID NAME` lines; returns a few facts from the JSON."""
    with open(path) as f:
        doc = json.load(f)
    status = {}
    with open(out_path, "w") as out:
        for l in doc["listeners"]:
            status[l["owner_status"]] = status.get(l["owner_status"], 0) + 1
            owners = l.get("owners") or []
            if not owners:
                out.write("%s %s %d - -\n" % (l["protocol"], l["local_address"], l["port"]))
            for o in owners:
                name = "_".join(str(o.get("name") or "-").split()) or "-"
                out.write("%s %s %d %d %s\n" % (l["protocol"], l["local_address"], l["port"],
                                                o["pid"], name))
    return {"listeners": len(doc["listeners"]), "complete": doc.get("complete"),
            "warnings": doc.get("warnings", []), "owner_status": status}


def correctness(pg, shared, tmp):
    ss_file, pg_json, pg_lines = (os.path.join(tmp, n) for n in ("ss.txt", "pg.json", "pg.txt"))
    with open(ss_file, "w") as f:
        subprocess.run(["ss", "-tulpnH"], stdout=f, check=True)
    with open(pg_json, "w") as f:
        p = subprocess.run([pg, "scan", "--format", "json"], stdout=f, stderr=subprocess.PIPE,
                           text=True)
    if p.returncode != 0:
        return {"verdict": "DIFFERENT", "line": "portghost exited %d: %s"
                % (p.returncode, p.stderr.strip()[:300]), "facts": {}}
    facts = pg_json_to_lines(pg_json, pg_lines)
    c = subprocess.run([sys.executable, os.path.join(shared, "bench", "compare.py"),
                        ss_file, pg_lines], capture_output=True, text=True)
    out = c.stdout.strip().splitlines() or ["DIFFERENT (compare.py printed nothing: %s)"
                                            % c.stderr.strip()[:200]]
    verdict = "EQUAL" if c.returncode == 0 and out[0].startswith("EQUAL") else "DIFFERENT"
    return {"verdict": verdict, "line": out[0], "details": out[1:], "facts": facts}


def inner(a):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    runner = None
    tmp = tempfile.mkdtemp(prefix="pg-scan-vs-ss.")
    result = {"label": a.label, "inner_pid": os.getpid(),
              "gen_pid": int(os.environ.get("PGBENCH_GEN_PID", "0") or 0), "workers": []}
    try:
        wfile = os.environ.get("PGBENCH_WORKER_PIDS")
        if wfile and os.path.exists(wfile):
            with open(wfile) as f:
                result["workers"] = [int(x) for x in f.read().split()]
        pg = a.portghost
        nprocs, nfds = host_counts()
        result["host"] = {"procs": nprocs, "fds": nfds}

        runner = Runner()
        floor = max(runner.run(["/bin/true"])[1] for _ in range(3))
        result["rss_floor_kib"] = floor

        # 1. correctness
        result["correctness"] = correctness(pg, a.shared, tmp)

        # 2. timing
        cmds, skipped = [], []
        for name, argv in ((PG, [pg, "scan", "--format", "json"]),
                           (PG_NO, [pg, "scan", "--format", "json", "--no-owners"]),
                           (SS_P, ["ss", "-tulpn"]), (SS_N, ["ss", "-tuln"]),
                           ("netstat -tulpn", ["netstat", "-tulpn"]),
                           ("lsof -nP -i", ["lsof", "-nP", "-i"])):
            exe = argv[0] if os.path.isabs(argv[0]) else shutil.which(argv[0])
            if not exe or not os.access(exe, os.X_OK):
                skipped.append("%s (%s not found)" % (name, argv[0]))
                continue
            cmds.append((name, [exe] + argv[1:]))
        result["skipped"] = skipped
        samples = {n: [] for n, _ in cmds}
        rss = {n: [] for n, _ in cmds}
        codes = {n: set() for n, _ in cmds}
        timeouts = {n: 0 for n, _ in cmds}
        load_before = open("/proc/loadavg").read().split()[:3]
        t_start = time.monotonic()
        for r in range(WARMUP_ROUNDS + a.runs):
            k = r % len(cmds)
            for name, argv in cmds[k:] + cmds[:k]:
                ms, maxrss, code, to = runner.run(argv)
                if r < WARMUP_ROUNDS:
                    continue
                samples[name].append(ms)
                rss[name].append(maxrss)
                codes[name].add(code)
                timeouts[name] += to
        result["timing_s"] = time.monotonic() - t_start
        result["load"] = [load_before, open("/proc/loadavg").read().split()[:3]]
        result["cmds"] = {n: {"median": statistics.median(samples[n]), "min": min(samples[n]),
                              "max": max(samples[n]), "rss_kib": max(rss[n]),
                              "codes": sorted(codes[n]), "timeouts": timeouts[n],
                              "n": len(samples[n])} for n, _ in cmds}

        result["rss_floor_kib"] = max([floor] + [runner.run(["/bin/true"])[1] for _ in range(3)])

        # 3. phase timings
        p = subprocess.run([pg, "scan", "--format", "json", "--timings"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                           timeout=TIMEOUT_S)
        lines = p.stderr.splitlines()
        result["phase"] = next((x for x in lines if "timings:" in x), "(no timings line)")
        result["stderr"] = [x for x in lines if "timings:" not in x]
    finally:
        if runner:
            runner.close()
        shutil.rmtree(tmp, ignore_errors=True)
        with open(a.result + ".tmp", "w") as f:
            json.dump(result, f)
        os.rename(a.result + ".tmp", a.result)
    print_size(result, a)
    return 0


def rss_cell(kib, floor_kib):
    """MiB, or "<=floor" when the value is not above the launcher's own peak."""
    if kib <= floor_kib:
        return "<=%.1f" % (floor_kib / 1024.0)
    return "%.1f" % (kib / 1024.0)


def fmt_ratio(x, ref):
    return "%.2fx" % (x / ref) if ref else "-"


def print_size(res, a):
    c = res["cmds"]
    ref_p = c.get(SS_P, {}).get("median")
    ref_n = c.get(SS_N, {}).get("median")
    rows = [("command", "median ms", "min-max ms", "x ss -tulpn", "x ss -tuln", "peak RSS MiB",
             "note")]
    for name, m in c.items():
        note = []
        if m["timeouts"]:
            note.append("%d timed out (%ds)" % (m["timeouts"], TIMEOUT_S))
        if m["codes"] != [0]:
            note.append("exit %s" % ",".join(map(str, m["codes"])))
        rows.append((name, "%.1f" % m["median"], "%.1f-%.1f" % (m["min"], m["max"]),
                     fmt_ratio(m["median"], ref_p),
                     fmt_ratio(m["median"], ref_n) if name in (PG_NO, SS_N) else "",
                     rss_cell(m["rss_kib"], res["rss_floor_kib"]), "; ".join(note)))
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        say("  " + "  ".join(s.ljust(w[j]) if j == 0 or j == 6 else s.rjust(w[j])
                             for j, s in enumerate(r)).rstrip())
        if i == 0:
            say("  " + "  ".join("-" * x for x in w))
    for s in res.get("skipped", []):
        say("  skipped: %s" % s)
    co = res["correctness"]
    f = co.get("facts", {})
    say("  correctness: %s%s" % (co["line"], "; portghost complete=%s owner_status=%s" %
                                 (f.get("complete"), f.get("owner_status")) if f else ""))
    for d in co.get("details", []):
        say("  " + d)
    for w_ in f.get("warnings", []):
        say("  portghost warning: %s" % w_)
    say("  phase: %s" % res["phase"])
    say("  %d rounds (+%d warm-up) in %.1f s; RSS floor %.1f MiB (/bin/true via the launcher);"
        " host %d processes, %d fds; loadavg %s -> %s"
        % (a.runs, WARMUP_ROUNDS, res["timing_s"], res["rss_floor_kib"] / 1024.0,
           res["host"]["procs"], res["host"]["fds"],
           "/".join(res["load"][0]), "/".join(res["load"][1])))


# ---------------------------------------------------------------------------------------
# outer run
# ---------------------------------------------------------------------------------------

def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024.0 / 1024.0)
    return "nproc %d, %s, %s RAM, kernel %s" % (len(os.sched_getaffinity(0)), model, mem,
                                               platform.release())


def versions(pg):
    def first(argv):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            out = (p.stdout + p.stderr).strip().splitlines()
            return out[0].strip() if out else "?"
        except (OSError, subprocess.TimeoutExpired):
            return "missing"
    lsof = "missing"
    if shutil.which("lsof"):
        p = subprocess.run(["lsof", "-v"], capture_output=True, text=True)
        lsof = next((l.split(":", 1)[1].strip() for l in p.stderr.splitlines()
                     if "revision:" in l and "latest" not in l), "?")
    return "%s; %s; %s; lsof %s" % (first([pg, "--version"]), first(["ss", "-V"]),
                                     first(["netstat", "-V"]), lsof)


def proc_alive_as(pid, needle):
    """True if `pid` exists and its command line contains `needle`."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return needle.encode() in f.read()
    except OSError:
        return False


def check_cleanup(ns, res):
    """Returns a list of problems left behind by one size (and kills our leftovers by PID)."""
    problems = []
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    if any(line.split()[0] == ns for line in out.splitlines() if line.split()):
        problems.append("namespace %s still exists" % ns)
    if res:
        left = [p for p in [res.get("gen_pid", 0)] + res.get("workers", [])
                if p and proc_alive_as(p, "listeners.py")]
        if proc_alive_as(res.get("inner_pid", 0), "--inner"):
            left.append(res["inner_pid"])
        for p in left:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if left:
            problems.append("%d fixture processes were left (killed by PID)" % len(left))
    return problems


def run_size(size, a, runs):
    key, label, tcp, udp, procs, conns, v6, target, _ = size
    fd, result = tempfile.mkstemp(prefix="pg-scan-vs-ss.", suffix=".json")
    os.close(fd)
    os.unlink(result)
    cmd = [os.path.join(a.shared, "bench", "run-in-netns.sh"), "--tcp", str(tcp),
           "--udp", str(udp), "--procs", str(procs)]
    if conns:
        cmd += ["--conns", str(conns)]
    if v6:
        cmd += ["--v6"]
    cmd += ["--", sys.executable, os.path.abspath(__file__), "--inner", "--label", label,
            "--portghost", a.portghost, "--shared", a.shared, "--runs", str(runs),
            "--result", result]
    say("\n## %s (%d TCP + %d UDP in %d processes%s%s), %d rounds"
        % (label, tcp, udp, procs, ", +%d established connections" % conns if conns else "",
           ", alternating 127.0.0.1 / ::1" if v6 else "", runs))
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
    try:
        rc = p.wait()
    except BaseException:
        p.send_signal(signal.SIGTERM)  # run-in-netns.sh cleans up on TERM
        p.wait()
        if os.path.exists(result):
            os.unlink(result)
        raise
    res = None
    if os.path.exists(result):
        with open(result) as f:
            res = json.load(f)
        os.unlink(result)
    problems = check_cleanup("pgbench-%d" % p.pid, res)
    for pr in problems:
        say("  CLEANUP: %s" % pr)
    if rc != 0 or not res or "cmds" not in res:
        say("  ERROR: this size did not complete (exit status %d)" % rc)
        return None, problems
    return res, problems


def summary(done, rss_key):
    say("\n## Summary\n")
    say("| size | `ss -tulpn` ms | portghost ms | ratio | target | met? | "
        "`--no-owners` vs `ss -tuln` | peak RSS MiB | correctness |")
    say("|---|---|---|---|---|---|---|---|---|")
    met = total = 0
    for size, res in done:
        key, label, _, _, _, _, _, target, _ = size
        if res is None:
            say("| %s | - | - | - | ≤%.2f× | - | - | - | not run |" % (label, target))
            continue
        c = res["cmds"]
        ss_p, pg = c.get(SS_P, {}).get("median"), c[PG]["median"]
        ratio = pg / ss_p if ss_p else None
        ok = ratio is not None and ratio <= target
        total += 1
        met += ok
        no, ss_n = c[PG_NO]["median"], c.get(SS_N, {}).get("median")
        no_cell = ("%.1f vs %.1f (%.2f×) %s" % (no, ss_n, no / ss_n, "✓" if no <= ss_n else "✗")
                   if ss_n else "%.1f" % no)
        rss_mib = c[PG]["rss_kib"] / 1024.0
        rss_c = rss_cell(c[PG]["rss_kib"], res["rss_floor_kib"]).replace("<=", "≤")
        if key == rss_key:
            rss_c += " (target ≤%d: %s)" % (RSS_TARGET_MIB,
                                              "✓" if rss_mib <= RSS_TARGET_MIB else "✗")
        co = res["correctness"]
        cnt = co["line"].split()[1:3] if co["line"].startswith(("EQUAL", "DIFFERENT")) else []
        say("| %s | %s | %.1f | %s | ≤%.2f× | %s | %s | %s | %s |"
            % (label, "%.1f" % ss_p if ss_p else "-", pg,
               "%.2f×" % ratio if ratio is not None else "-", target,
               "yes" if ok else "**no**", no_cell, rss_c,
               " ".join([co["verdict"]] + cnt)))
    say("\nRatio = median portghost `scan --format json` / median `ss -tulpn`; "
        "ratio targets met: %d of %d." % (met, total))


def outer(a):
    # on SIGTERM, pass it on to run-in-netns.sh (see run_size), which then cleans up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if os.geteuid() != 0:
        sys.exit("scan_vs_ss: must run as root (network namespaces); try sudo")
    a.portghost = os.path.abspath(a.portghost)
    a.shared = os.path.abspath(a.shared)
    if not os.access(a.portghost, os.X_OK):
        sys.exit("scan_vs_ss: %s is not an executable; build with cargo build --release "
                 "or pass --portghost" % a.portghost)
    script = os.path.join(a.shared, "bench", "run-in-netns.sh")
    if not os.access(script, os.X_OK):
        sys.exit("scan_vs_ss: %s not found; pass --shared" % script)
    if a.sizes == "quick":
        sizes = SIZES[:2]
    elif a.sizes == "full":
        sizes = SIZES
    else:
        keys = a.sizes.split(",")
        sizes = [s for s in SIZES if s[0] in keys]
        unknown = set(keys) - {s[0] for s in SIZES}
        if unknown:
            sys.exit("scan_vs_ss: unknown size(s) %s; known: quick, full, %s"
                     % (", ".join(sorted(unknown)), ", ".join(s[0] for s in SIZES)))
    for tool in ("ss", "ip"):
        if not shutil.which(tool):
            sys.exit("scan_vs_ss: %s is required" % tool)
    say("# portghost scan vs ss")
    say("machine: %s" % machine())
    say("tools: %s" % versions(a.portghost))
    say("binary: %s" % a.portghost)
    done, problems, t0 = [], [], time.monotonic()
    for size in sizes:
        runs = a.runs if a.runs else size[8]
        res, pr = run_size(size, a, runs)
        done.append((size, res))
        problems += pr
    summary(done, RSS_TARGET_KEY)
    left = [l for l in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                      text=True).stdout.splitlines() if l.startswith("pgbench-")]
    say("\ncleanup: %s%s; total %.0f s"
        % ("; ".join(problems) if problems else "namespaces deleted, no fixture process left",
           " (pgbench namespaces present, not ours: %s)" % ", ".join(l.split()[0] for l in left)
           if left else "", time.monotonic() - t0))
    if any(r is not None and r["correctness"]["verdict"] != "EQUAL" for _, r in done):
        return 1
    if any(r is None for _, r in done):
        return 2
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--portghost", default=os.path.join(REPO, "target", "release", "portghost"),
                    help="binary to measure (default: %(default)s)")
    ap.add_argument("--sizes", default="full",
                    help="quick (first two sizes), full (all, default), or keys: "
                    + ",".join(s[0] for s in SIZES))
    ap.add_argument("--runs", type=int, default=None,
                    help="measured rounds per size (default 15; 5 for 50,000/500)")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"),
                    help="shared tree with bench/ (default: %(default)s)")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--label", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.runs is not None and a.runs < 1:
        ap.error("--runs must be >= 1")
    return inner(a) if a.inner else outer(a)


if __name__ == "__main__":
    sys.exit(main())
