#!/usr/bin/env python3
"""watch_cost.py - what `portghost watch` costs: CPU when idle, latency, and memory under churn.

    sudo benches/watch_cost.py [--portghost PATH] [--shared DIR] {cpu,latency,rss} [options]

  cpu      CPU time of `portghost watch --interval 1` over --duration seconds (default 60)
           in a throw-away network namespace holding --sockets listening sockets (default
           10,000: half TCP, half UDP, on 127.0.0.1, in --procs processes, default 100),
           from /proc/PID/stat utime+stime before and after (after a 5 s warm-up); three
           times, all with --quiet-start and --no-policy: writing only the events (to
           /dev/null); the same with --owner-interval 1000000 (the socket dump alone, as
           nothing changes); and also rewriting a --textfile. Reference, in the same namespace and the same run:
           `ss -tuln` started once a second for as long, its CPU time from wait4's rusage.
           Target: the watch under 1 % of one core.
  latency  --trials listeners (default 100) each living 2 intervals, then as many living
           half an interval, opened at a random moment of the watch's cycle (--interval,
           default 0.2 s; distinct ports), in a fresh namespace with only loopback; each
           listener's `listener-added` event is looked for on the watch's stdout. Target:
           every listener living 2 intervals reported within 2 intervals of its opening;
           for those living half an interval, the fraction reported is printed.
  rss      `portghost watch --interval 1 --textfile` (events to /dev/null) for --duration
           seconds (default 1800) in a namespace holding --base listening sockets (default
           1,000) while a churner opens 50 TCP listeners a second (--rate) and closes each
           one second later; VmRSS from /proc/PID/status every 10 s. Target: VmRSS at the
           end within 10 % of VmRSS after 1 minute.

  --portghost PATH  binary to measure (default: target/release/portghost of this repo).
                    Copy it somewhere stable first if target/ may be rebuilt meanwhile.
  --shared DIR      the shared tree holding bench/run-in-netns.sh and bench/listeners.py
                    (default: ../shared relative to the repo root).

A benchmark, not a test: a missed target does not fail it (exit 0); it exits 1 when the
watch died or the measurement could not be made. Needs root (network namespaces), `ip`,
`ss` and Python 3 (standard library only). Each mode runs in its own namespace made by
run-in-netns.sh, which kills its fixture by PID and deletes the namespace; this script
kills the watch (and `ss`) it started, by PID.
"""

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CLK_TCK = os.sysconf("SC_CLK_TCK")
WARMUP_S = 5.0


def say(*a):
    print(*a, flush=True)


def cpu_ticks(pid):
    """utime + stime of `pid` (all its threads), in clock ticks, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3): utime and stime are fields 14 and 15
    return int(fields[11]) + int(fields[12])


def vm_rss_kib(pid, key="VmRSS:"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise RuntimeError("no %s for %d" % (key, pid))


def loadavg():
    with open("/proc/loadavg") as f:
        return "/".join(f.read().split()[:3])


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return "nproc %d, %s, kernel %s" % (len(os.sched_getaffinity(0)), model, platform.release())


class Watch:
    """`portghost watch ARGS`, its stdout to /dev/null or read line by line; killed by PID."""

    def __init__(self, pg, args, read_events=False, keep=True):
        self.lines = []  # (monotonic time received, parsed event), when `keep`
        self.counts = {}  # events by kind
        self.keep = keep
        self.p = subprocess.Popen([pg, "watch"] + args, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE if read_events else subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        self.reader = None
        if read_events:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            ev = json.loads(line)
            kind = ev.get("event")
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if self.keep:
                self.lines.append((time.monotonic(), ev))

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        err = self.p.stderr.read()
        if self.reader:
            self.reader.join(5)
        return self.p.returncode, err


# ---------------------------------------------------------------------------------------
# cpu
# ---------------------------------------------------------------------------------------

def measure_watch_cpu(pg, args, duration):
    w = Watch(pg, args)
    try:
        time.sleep(WARMUP_S)  # the first full scan (owner walk) is start-up, not steady state
        if not w.alive():
            raise RuntimeError("portghost watch exited: %s" % (w.stop(),))
        t0, c0 = time.monotonic(), cpu_ticks(w.p.pid)
        time.sleep(duration)
        t1, c1 = time.monotonic(), cpu_ticks(w.p.pid)
        rss = vm_rss_kib(w.p.pid)
        if not w.alive():
            raise RuntimeError("portghost watch exited: %s" % (w.stop(),))
    finally:
        code, err = w.stop()
    cpu_s = (c1 - c0) / CLK_TCK
    return {"cpu_s": cpu_s, "wall_s": t1 - t0, "pct": 100.0 * cpu_s / (t1 - t0),
            "rss_kib": rss, "exit": code, "stderr": err.strip()[:300]}


def measure_ss_cpu(duration):
    """`ss -tuln` once a second (stdout to /dev/null) for `duration` s: its CPU from wait4."""
    ss = shutil.which("ss")
    cpu = 0.0
    runs = int(duration)
    t0 = time.monotonic()
    for i in range(runs):
        delay = t0 + i - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        pid = os.posix_spawn(ss, [ss, "-tuln"], os.environ, file_actions=[
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)])
        _, status, ru = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError("ss -tuln failed")
        cpu += ru.ru_utime + ru.ru_stime
    delay = t0 + duration - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    wall = time.monotonic() - t0
    return {"cpu_s": cpu, "wall_s": wall, "pct": 100.0 * cpu / wall, "runs": runs}


def inner_cpu(a):
    tmp = tempfile.mkdtemp(prefix="pg-watch-cost.")
    try:
        count = sum(1 for _ in open("/proc/net/tcp")) - 1 + sum(1 for _ in open("/proc/net/udp")) - 1
        say("  namespace %s: %d TCP+UDP sockets in /proc/net/{tcp,udp}; loadavg %s"
            % (os.environ.get("PGBENCH_NETNS", "?"), count, loadavg()))
        base = ["--interval", "1", "--quiet-start", "--no-policy"]
        rows = []
        # ss first and last, so that drift in the machine's load shows
        # the second watch row is the dump alone (owners never refreshed without a change): the
        # first minus it is the periodic owner walk
        for name, fn in (
            ("ss -tuln once a second", lambda: measure_ss_cpu(a.duration)),
            ("portghost watch --interval 1", lambda: measure_watch_cpu(a.portghost, base, a.duration)),
            ("portghost watch --interval 1 --owner-interval 1000000",
             lambda: measure_watch_cpu(a.portghost, base + ["--owner-interval", "1000000"],
                                       a.duration)),
            ("portghost watch --interval 1 --textfile",
             lambda: measure_watch_cpu(a.portghost, base + ["--textfile", os.path.join(tmp, "pg.prom")],
                                       a.duration)),
            ("ss -tuln once a second (again)", lambda: measure_ss_cpu(a.duration)),
        ):
            before = loadavg()
            r = fn()
            r["name"], r["load"] = name, "%s -> %s" % (before, loadavg())
            rows.append(r)
            say("  %-56s %7.3f s CPU in %5.1f s = %6.3f %% of one core%s  (loadavg %s)"
                % (name, r["cpu_s"], r["wall_s"], r["pct"],
                   ", VmRSS %.1f MiB" % (r["rss_kib"] / 1024.0) if "rss_kib" in r else
                   ", %d runs" % r["runs"], r["load"]))
        with open(a.result, "w") as f:
            json.dump(rows, f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


# ---------------------------------------------------------------------------------------
# latency
# ---------------------------------------------------------------------------------------

def inner_latency(a):
    interval = a.interval
    w = Watch(a.portghost, ["--interval", str(interval), "--quiet-start", "--no-policy"],
              read_events=True)
    rng = random.Random(a.seed)
    trials = []  # (port, lives (in intervals), t_open, t_close)
    try:
        time.sleep(WARMUP_S)
        port = 40000
        for lives in (2.0, 0.5):
            for _ in range(a.trials):
                time.sleep(rng.uniform(0, interval))  # a random phase of the watch's cycle
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", port))
                s.listen(1)
                t_open = time.monotonic()
                time.sleep(lives * interval)
                s.close()
                trials.append((port, lives, t_open, time.monotonic()))
                port += 1
                time.sleep(interval)  # the next listener opens after this one's cycle
            time.sleep(3 * interval)
        time.sleep(2.0)
        if not w.alive():
            raise RuntimeError("portghost watch exited: %s" % (w.stop(),))
    finally:
        code, err = w.stop()
    added = {}
    for t, ev in list(w.lines):
        if ev.get("event") == "listener-added":
            added.setdefault(ev["listener"]["port"], t)
    results = {}
    for lives in (2.0, 0.5):
        rows = [(p, o, c) for p, l, o, c in trials if l == lives]
        lat = sorted(added[p] - o for p, o, c in rows if p in added)
        within2 = sum(1 for x in lat if x <= 2 * interval)
        lived = sorted(c - o for p, o, c in rows)
        results[str(lives)] = {
            "trials": len(rows), "seen": len(lat), "within_2_intervals": within2,
            "latency_median_s": lat[len(lat) // 2] if lat else None,
            "latency_max_s": lat[-1] if lat else None,
            "lived_min_s": lived[0], "lived_max_s": lived[-1]}
        say("  living %.1f intervals (%.0f ms): seen %d/%d (%.0f %%), within 2 intervals %d/%d;"
            " latency median %s, max %s; lived %.0f-%.0f ms"
            % (lives, lives * interval * 1000, len(lat), len(rows), 100.0 * len(lat) / len(rows),
               within2, len(rows),
               "%.0f ms" % (1000 * lat[len(lat) // 2]) if lat else "-",
               "%.0f ms" % (1000 * lat[-1]) if lat else "-",
               1000 * lived[0], 1000 * lived[-1]))
    results["interval_s"] = interval
    results["watch_exit"] = code
    results["errors"] = sum(1 for _, ev in w.lines if ev.get("event") == "error")
    with open(a.result, "w") as f:
        json.dump(results, f)
    return 0


# ---------------------------------------------------------------------------------------
# rss
# ---------------------------------------------------------------------------------------

def churner(rate, stop, counts):
    """Opens `rate` TCP listeners a second on 127.0.0.1 (ports 30000-30999 in turn), closing
    each one second after it opened, until `stop` is set."""
    live = []
    port = 30000
    step = 1.0 / rate
    next_t = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        while live and now - live[0][0] >= 1.0:
            live.pop(0)[1].close()
            counts["closed"] += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        live.append((now, s))
        counts["opened"] += 1
        port = 30000 + (port - 30000 + 1) % 1000
        next_t += step
        delay = next_t - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    for _, s in live:
        s.close()


def inner_rss(a):
    tmp = tempfile.mkdtemp(prefix="pg-watch-rss.")
    stop = threading.Event()
    counts = {"opened": 0, "closed": 0}
    w = Watch(a.portghost, ["--interval", "1", "--quiet-start", "--no-policy",
                            "--textfile", os.path.join(tmp, "pg.prom")], read_events=True,
              keep=False)
    samples = []
    try:
        t0 = time.monotonic()
        ch = threading.Thread(target=churner, args=(a.rate, stop, counts), daemon=True)
        ch.start()
        next_sample = 10.0
        while True:
            elapsed = time.monotonic() - t0
            if elapsed >= a.duration:
                break
            if not w.alive():
                raise RuntimeError("portghost watch exited: %s" % (w.stop(),))
            if elapsed >= next_sample:
                rss, hwm = vm_rss_kib(w.p.pid), vm_rss_kib(w.p.pid, "VmHWM:")
                cpu = cpu_ticks(w.p.pid) / CLK_TCK
                samples.append((elapsed, rss, hwm, cpu))
                say("  t=%6.0f s  VmRSS %6d KiB  VmHWM %6d KiB  CPU %7.1f s  churn opened %d"
                    " closed %d  events %s  loadavg %s"
                    % (elapsed, rss, hwm, cpu, counts["opened"], counts["closed"],
                       json.dumps(w.counts, sort_keys=True), loadavg()))
                next_sample += 10.0
            time.sleep(0.5)
        end = (time.monotonic() - t0, vm_rss_kib(w.p.pid), vm_rss_kib(w.p.pid, "VmHWM:"))
    finally:
        stop.set()
        code, err = w.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    at_1min = next((s for s in samples if s[0] >= 60.0), samples[0] if samples else None)
    result = {"duration_s": end[0], "rss_end_kib": end[1], "hwm_end_kib": end[2],
              "rss_1min_kib": at_1min[1] if at_1min else None, "opened": counts["opened"],
              "closed": counts["closed"], "events": w.counts, "watch_exit": code, "stderr": err.strip()[:300],
              "samples": samples}
    if at_1min:
        change = 100.0 * (end[1] - at_1min[1]) / at_1min[1]
        result["change_pct"] = change
        say("  VmRSS after %.0f s: %d KiB; at the end (%.0f s): %d KiB; change %+.1f %% (target"
            " within 10 %%: %s); VmHWM %d KiB; churn: %d opened, %d closed (%.1f/s); events %s"
            % (at_1min[0], at_1min[1], end[0], end[1], change,
               "met" if abs(change) <= 10.0 else "MISSED", end[2], counts["opened"],
               counts["closed"], counts["opened"] / end[0], json.dumps(w.counts, sort_keys=True)))
    with open(a.result, "w") as f:
        json.dump(result, f)
    return 0


# ---------------------------------------------------------------------------------------
# outer
# ---------------------------------------------------------------------------------------

def in_netns(a, mode, tcp, udp, procs, extra):
    fd, result = tempfile.mkstemp(prefix="pg-watch-cost.", suffix=".json")
    os.close(fd)
    cmd = [os.path.join(a.shared, "bench", "run-in-netns.sh"), "--tcp", str(tcp), "--udp",
           str(udp), "--procs", str(procs), "--", sys.executable, os.path.abspath(__file__),
           "--portghost", a.portghost, "--shared", a.shared, mode, "--inner", "--result",
           result] + extra
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL)
    try:
        with open(result) as f:
            text = f.read()
        return p.returncode, json.loads(text) if text else None
    finally:
        os.unlink(result)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--portghost", default=os.path.join(REPO, "target", "release", "portghost"))
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(REPO), "shared"))
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("cpu")
    c.add_argument("--duration", type=float, default=60.0)
    c.add_argument("--sockets", type=int, default=10000)
    c.add_argument("--procs", type=int, default=100)
    lt = sub.add_parser("latency")
    lt.add_argument("--interval", type=float, default=0.2)
    lt.add_argument("--trials", type=int, default=100)
    lt.add_argument("--seed", type=int, default=15)
    r = sub.add_parser("rss")
    r.add_argument("--duration", type=float, default=1800.0)
    r.add_argument("--base", type=int, default=1000)
    r.add_argument("--rate", type=float, default=50.0)
    for s in (c, lt, r):
        s.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
        s.add_argument("--result", help=argparse.SUPPRESS)
    a = ap.parse_args()
    a.portghost = os.path.abspath(a.portghost)
    a.shared = os.path.abspath(a.shared)

    if a.inner:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        return {"cpu": inner_cpu, "latency": inner_latency, "rss": inner_rss}[a.mode](a)

    if os.geteuid() != 0:
        sys.exit("watch_cost.py: needs root (network namespaces)")
    commit = subprocess.run(["git", "-C", REPO, "describe", "--always", "--dirty"],
                            capture_output=True, text=True).stdout.strip()
    say("# watch_cost.py %s: %s; repo at %s; %s; loadavg %s; %s"
        % (a.mode, subprocess.run([a.portghost, "--version"], capture_output=True,
                                  text=True).stdout.strip(), commit, machine(), loadavg(),
           time.strftime("%Y-%m-%d %H:%M:%S")))
    if a.mode == "cpu":
        say("## CPU: %d sockets (half TCP, half UDP) in %d processes, %.0f s each"
            % (a.sockets, a.procs, a.duration))
        rc, res = in_netns(a, "cpu", a.sockets // 2, a.sockets - a.sockets // 2, a.procs,
                           ["--duration", str(a.duration)])
        if not res:
            return 1
        for row in res:
            if row["name"].startswith("portghost"):
                say("  %s: %.3f %% of one core (target < 1 %%: %s)"
                    % (row["name"], row["pct"], "met" if row["pct"] < 1.0 else "MISSED"))
    elif a.mode == "latency":
        say("## Latency: --interval %.2f s, %d trials per lifetime" % (a.interval, a.trials))
        rc, res = in_netns(a, "latency", 0, 0, 1, ["--interval", str(a.interval), "--trials",
                                                   str(a.trials), "--seed", str(a.seed)])
        if not res:
            return 1
        two = res["2.0"]
        say("  2 intervals: %d/%d within 2 intervals (target 100 %%: %s); half an interval: %d/%d"
            " seen (%.0f %%)" % (two["within_2_intervals"], two["trials"],
                                 "met" if two["within_2_intervals"] == two["trials"] else "MISSED",
                                 res["0.5"]["seen"], res["0.5"]["trials"],
                                 100.0 * res["0.5"]["seen"] / res["0.5"]["trials"]))
    else:
        say("## RSS under churn: %.0f s, %d base sockets, %.0f listeners opened (and closed) a"
            " second" % (a.duration, a.base, a.rate))
        rc, res = in_netns(a, "rss", a.base // 2, a.base - a.base // 2, 10,
                           ["--duration", str(a.duration), "--rate", str(a.rate)])
        if not res or "change_pct" not in res:
            return 1
    say("# done, loadavg %s, %s" % (loadavg(), time.strftime("%Y-%m-%d %H:%M:%S")))
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
