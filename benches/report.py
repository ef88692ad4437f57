#!/usr/bin/env python3
"""Turn the bench scripts' raw runs into results JSON and regenerate
BENCHMARKS.md (and benches/results/chart.svg) from the newest results.

    report.py peers  RAW.jsonl OUT.json [--load-start L --load-end L --settings S]
    report.py fanout RAW.jsonl OUT.json [...]
    report.py scale  RAW.json  OUT.json [...]
    report.py deflate RAW.jsonl OUT.json [...]
    report.py render                      # BENCHMARKS.md from benches/results/

Python standard library only.
"""
import argparse
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
sys.path.insert(0, HERE)
import chart  # noqa: E402
import report_deflate  # noqa: E402

SERVERS = ["ws6455", "fastwebsockets", "tokio-tungstenite", "tungstenite", "node-ws", "raw-mio"]


def run(cmd, cwd=ROOT):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) * 1024
    except OSError:
        mem = 0
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_bytes": mem,
        "kernel": platform.release(),
        "rustc": run(["rustc", "--version"]),
        "node": run(["node", "--version"]),
        "ws6455_commit": run(["git", "rev-parse", "--short", "HEAD"]),
    }


def peer_versions():
    versions = {}
    try:
        with open(os.path.join(HERE, "peers", "Cargo.lock")) as f:
            lock = f.read()
        for name in ["fastwebsockets", "tokio-tungstenite", "tungstenite", "tokio", "mio"]:
            m = re.search(r'name = "%s"\nversion = "([^"]+)"' % re.escape(name), lock)
            if m:
                versions[name] = m.group(1)
    except OSError:
        pass
    try:
        with open(os.path.join(HERE, "peers", "node", "node_modules", "ws", "package.json")) as f:
            versions["ws (npm)"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    return versions


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize_peers(runs):
    cells = {}
    for r in runs:
        if r["kind"] != "echo":
            continue
        res = r.get("result", {})
        key = (r["server"], res.get("connections", r.get("connections")), res.get("size", r.get("size")))
        cells.setdefault(key, []).append(r)
    medians = []
    for (server, c, s), rs in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        ok = [r["result"] for r in rs if "result" in r]
        medians.append({
            "server": server, "connections": c, "size": s,
            "runs": len(rs), "errors": len(rs) - len(ok),
            "per_second": med([x["per_second"] for x in ok]),
            "per_server_cpu_s": med([x.get("per_server_cpu_s") for x in ok]),
            "server_core_pct": med([100 * x["server_cpu_s"] / x["duration_s"] for x in ok if x.get("server_cpu_s") is not None]),
            "generator_core_pct": med([x.get("generator_core_pct") for x in ok]),
            "generator_saturated_runs": sum(1 for x in ok if x.get("generator_saturated")),
            "p50_us": med([x.get("latency_us", {}).get("p50") for x in ok]),
            "p99_us": med([x.get("latency_us", {}).get("p99") for x in ok]),
            "p999_us": med([x.get("latency_us", {}).get("p999") for x in ok]),
        })
    idle = {}
    for r in runs:
        if r["kind"] == "idle":
            idle.setdefault(r["server"], []).append(r)
    idle_out = []
    for server, rs in idle.items():
        ok = [r["result"] for r in rs if "result" in r]
        idle_out.append({
            "server": server, "runs": len(rs), "errors": len(rs) - len(ok),
            "connections": ok[0]["connections"] if ok else None,
            "rss_per_connection": med([x.get("rss_per_connection") for x in ok]),
            "rss_before": med([x.get("server_rss_before") for x in ok]),
            "rss_after": med([x.get("server_rss_after") for x in ok]),
            "closed_by_server": max([x.get("closed_by_server", 0) for x in ok], default=None),
        })
    return medians, idle_out


def header(args):
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "load_start": float(args.load_start) if args.load_start else None,
        "load_end": float(args.load_end) if args.load_end else None,
        "settings": args.settings,
    }


def latest(kind):
    files = sorted(glob.glob(os.path.join(RESULTS, kind + "-*.json")))
    if not files:
        return None, None
    with open(files[-1]) as f:
        return json.load(f), os.path.relpath(files[-1], ROOT)


def fmt_int(v):
    return "–" if v is None else f"{v:,.0f}"


def fmt_ratio(a, b):
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.2f}×"


def size_label(s):
    return f"{s // 1024} KiB" if s and s >= 1024 and s % 1024 == 0 else f"{s} B"


def render():
    peers, peers_path = latest("peers")
    fanout, fanout_path = latest("fanout")
    scale, scale_path = latest("scale")
    out = []
    w = out.append
    w("# ws6455 benchmarks\n")
    w("Generated by `benches/report.py` from the newest files in `benches/results/`; "
      "do not edit by hand. Rerun the scripts below to refresh.\n")
    w("Only ratios measured in one run mean anything: the machine is small, shared and virtual. "
      "**Messages per server CPU-second** is the fair comparison on two cores, where the load "
      "generator and the server compete for the CPU; with one connection every server is bound by "
      "the machine's wake-up latency, so that row ranks nothing.\n")
    m = (peers or fanout or scale or {}).get("machine", machine())
    w("## Machine\n")
    w(f"- {m.get('nproc')} CPUs: {m.get('cpu_model')}; {m.get('memory_bytes', 0) / 2**30:.0f} GiB; Linux {m.get('kernel')}")
    w(f"- {m.get('rustc')}; Node {m.get('node')}; ws6455 at `{m.get('ws6455_commit')}`")
    if peers:
        v = peers.get("peer_versions", {})
        w("- peers: " + ", ".join(f"{k} {x}" for k, x in v.items()))
    w("")
    w("## Commands\n")
    w("```sh")
    w("benches/run-peers.sh   # echo matrix + RSS per idle connection (≈30 min)")
    w("benches/fanout.sh      # 1 publisher → 10,000 subscribers")
    w("benches/scale.sh       # 100,000 idle connections to ws6455 serve")
    w("benches/deflate.sh     # permessage-deflate: memory per idle connection, compressed echo")
    w("```\n")
    w("Each echo cell starts a fresh server and runs (servers alternate within every repetition; "
      "3 repetitions; medians reported):\n")
    w("```sh")
    w("ws6455 bench --url ws://127.0.0.1:PORT/ --connections C --size S --warmup 2 --duration 5 --json --server-pid PID")
    w("ws6455 bench --idle --url ws://127.0.0.1:PORT/ --connections 10000 --hold 2 --json --server-pid PID")
    w("```\n")
    w("The generator is ws6455's own mio client loop, closed loop: one text message in flight per "
      "connection, sent again on each echo; all connections open before the warmup. Server CPU is "
      "user+system time from `/proc/PID/stat` over the measured window. The servers: "
      "`ws6455 serve` (every RFC check on), `benches/peers/` (fastwebsockets and tokio-tungstenite on a "
      "current-thread tokio runtime, blocking tungstenite with a thread per connection, Node `ws`, and "
      "`echo-raw-mio`: the same mio loop shape with a no-checks echo — the ceiling).\n")
    if peers:
        w(f"## Echo: messages per second and per server CPU-second\n")
        w(f"{peers['date']}, `{peers_path}`; settings: `{peers.get('settings')}`; "
          f"1-minute load average {peers.get('load_start')} at the start, {peers.get('load_end')} at the end"
          + load_range(peers.get("runs", [])) + ".\n")
        w("![messages per server CPU-second and per second, by cell and server](benches/results/chart.svg)\n")
        med_ = {(x["server"], x["connections"], x["size"]): x for x in peers["medians"]}
        servers = [s for s in SERVERS if any(k[0] == s for k in med_)]
        cells = sorted({(k[1], k[2]) for k in med_})
        for title, key in [("Messages per server CPU-second (median)", "per_server_cpu_s"),
                           ("Messages per second (median)", "per_second")]:
            w(f"### {title}\n")
            w("| conns × size | " + " | ".join(servers) + " |")
            w("|---|" + "---:|" * len(servers))
            for c, s in cells:
                w(f"| {c} × {size_label(s)} | " + " | ".join(fmt_int(med_.get((sv, c, s), {}).get(key)) for sv in servers) + " |")
            w("")
        w("### ws6455 ÷ each peer (per server CPU-second · messages/s)\n")
        others = [s for s in servers if s != "ws6455"]
        w("| conns × size | " + " | ".join(others) + " |")
        w("|---|" + "---:|" * len(others))
        for c, s in cells:
            ours = med_.get(("ws6455", c, s), {})
            row = []
            for o in others:
                theirs = med_.get((o, c, s), {})
                row.append(fmt_ratio(ours.get("per_server_cpu_s"), theirs.get("per_server_cpu_s")) + " · " +
                           fmt_ratio(ours.get("per_second"), theirs.get("per_second")))
            w(f"| {c} × {size_label(s)} | " + " | ".join(row) + " |")
        w("")
        w("### Latency and CPU (medians)\n")
        w("| server | conns × size | p50 µs | p99 µs | p99.9 µs | server % core | generator % core | generator saturated |")
        w("|---|---|---:|---:|---:|---:|---:|---:|")
        for c, s in cells:
            for sv in servers:
                x = med_.get((sv, c, s))
                if not x:
                    continue
                f1 = lambda v: "–" if v is None else f"{v:,.0f}"
                sat = f"{x['generator_saturated_runs']}/{x['runs']}" + (f" ({x['errors']} failed)" if x["errors"] else "")
                w(f"| {sv} | {c} × {size_label(s)} | {f1(x['p50_us'])} | {f1(x['p99_us'])} | {f1(x['p999_us'])} | "
                  f"{f1(x['server_core_pct'])} | {f1(x['generator_core_pct'])} | {sat} |")
        w("")
        w("A saturated generator (≥ 90 % of a core) means messages/s is a lower bound for that "
          "server; messages per server CPU-second stays meaningful.\n")
        if peers.get("idle"):
            w("## RSS per idle connection\n")
            w("Server VmRSS after minus before opening the connections (upgraded, no traffic), divided by their number.\n")
            w("| server | connections | RSS before | RSS after | bytes per idle connection |")
            w("|---|---:|---:|---:|---:|")
            order = {s: i for i, s in enumerate(SERVERS)}
            for x in sorted(peers["idle"], key=lambda x: order.get(x["server"], 99)):
                w(f"| {x['server']} | {fmt_int(x['connections'])} | {fmt_int(x['rss_before'])} | "
                  f"{fmt_int(x['rss_after'])} | **{fmt_int(x['rss_per_connection'])}** |")
            w("")
        w(targets(peers, scale))
    if fanout:
        w("## Broadcast fan-out\n")
        w(f"{fanout['date']}, `{fanout_path}`; settings: `{fanout.get('settings')}`; load {fanout.get('load_start')} → {fanout.get('load_end')}"
          + load_range([dict(r, kind="echo") for r in fanout.get("runs", [])]) + ".\n")
        w("`examples/fanout_server.rs` encodes each published message once (`PreparedMessage`) and queues it "
          "on every subscriber with `Ctx::broadcast`; `ws6455 bench --fanout` runs the publisher (keeping a "
          "window of messages in flight) and the subscribers in one client loop.\n")
        w("```sh")
        w("target/release/examples/fanout_server 127.0.0.1:PORT")
        w("ws6455 bench --fanout --url ws://127.0.0.1:PORT --connections 10000 --size 20 --window 16 --json --server-pid PID")
        w("```\n")
        w("| run | deliveries/s | per server CPU-second | server % core | generator % core | p50 µs | p99 µs |")
        w("|---|---:|---:|---:|---:|---:|---:|")
        for r in fanout["runs"]:
            x = r.get("result")
            if not x:
                w(f"| {r['rep']} | failed | | | | | |")
                continue
            core = 100 * x["server_cpu_s"] / x["duration_s"] if x.get("server_cpu_s") is not None else None
            lat = x.get("latency_us", {})
            w(f"| {r['rep']} | {fmt_int(x['per_second'])} | {fmt_int(x.get('per_server_cpu_s'))} | {fmt_int(core)} | "
              f"{fmt_int(x.get('generator_core_pct'))} | {fmt_int(lat.get('p50'))} | {fmt_int(lat.get('p99'))} |")
        w(f"| **median** | **{fmt_int(fanout['median_per_second'])}** | **{fmt_int(fanout['median_per_server_cpu_s'])}** | | | | |")
        w("")
    if scale:
        r = scale["run"]
        w(f"## Scale: {r['connections']:,} idle connections to ws6455 serve\n")
        w(f"{scale['date']}, `{scale_path}`; load {scale.get('load_start')} → {scale.get('load_end')}.\n")
        w("```sh\nbenches/scale.sh   # N=100000\n```\n")
        procs = r["processes"]
        if procs > 1:
            w(f"This machine's open-file limit is {r['fd_limit']:,} and cannot be raised here (no "
              f"CAP_SYS_RESOURCE), so the script split the connections over {procs} `ws6455 serve` "
              "processes (each with its own generator and 8 source addresses) and sums their RSS; on a "
              "machine with a higher limit it uses one process.\n")
        total_after = sum(s["rss_after"] for s in r["servers"])
        total_before = sum(s["rss_before"] for s in r["servers"])
        conns = sum(s["connections"] for s in r["servers"])
        w(f"| connections | server processes | RSS before | RSS after | per connection | opened in |")
        w("|---:|---:|---:|---:|---:|---:|")
        w(f"| {conns:,} | {procs} | {total_before / 2**20:,.1f} MiB | **{total_after / 2**20:,.1f} MiB** | "
          f"{(total_after - total_before) / max(conns, 1):,.0f} B | {r['open_s']} s |")
        w("")
    deflate, deflate_path = latest("deflate")
    if deflate:
        w(report_deflate.render(deflate, deflate_path))
    # Hand-written analysis of the newest results (profiles, causes).
    notes = os.path.join(RESULTS, "notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            w(f.read())
    return "\n".join(out) + "\n"


def load_range(runs):
    loads = [r["load"] for r in runs if r.get("kind") == "echo" and r.get("load") is not None]
    if not loads:
        return ""
    return f" (per run: {min(loads):.2f} to {max(loads):.2f}, median {statistics.median(loads):.2f})"


def targets(peers, scale):
    med_ = {(x["server"], x["connections"], x["size"]): x for x in peers["medians"]}
    idle = {x["server"]: x for x in peers.get("idle", [])}

    def ratios(key, peer, cells):
        rs = []
        for c, s in cells:
            a = med_.get(("ws6455", c, s), {}).get(key)
            b = med_.get((peer, c, s), {}).get(key)
            if a is not None and b:
                rs.append((a / b, c, s))
        return rs

    def line(goal, rs, want):
        if not rs:
            return f"| {goal} | – | not measured |"
        worst = min(rs)
        detail = ", ".join(f"{c}×{size_label(s)} {r:.2f}" for r, c, s in rs)
        ok = worst[0] >= want
        verdict = "met" if ok else f"**missed** (worst {worst[0]:.2f}×, {100 * (1 - worst[0] / want):.0f} % short)"
        return f"| {goal} | {detail} | {verdict} |"

    small = [(c, s) for c in (100, 1000) for s in (20, 1024)]
    big = [(c, 65536) for c in (100, 1000)]
    every = sorted({(k[1], k[2]) for k in med_})
    out = ["## Targets (issue 5)\n", "| target | measured (ws6455 ÷ peer, per cell) | verdict |", "|---|---|---|"]
    out.append(line("small messages: per server CPU-second ≥ 1.1× fastwebsockets", ratios("per_server_cpu_s", "fastwebsockets", small), 1.1))
    out.append(line("small messages: per server CPU-second ≥ 0.95× raw-mio", ratios("per_server_cpu_s", "raw-mio", small), 0.95))
    out.append(line("64 KiB: per server CPU-second ≥ 1.15× fastwebsockets", ratios("per_server_cpu_s", "fastwebsockets", big), 1.15))
    out.append(line("messages/s never below fastwebsockets (every cell)", ratios("per_second", "fastwebsockets", every), 1.0))
    ours = idle.get("ws6455", {}).get("rss_per_connection")
    if ours is not None:
        verdict = "met" if ours <= 256 else f"**missed** ({ours / 256:.0f}× the target)"
        out.append(f"| ≤ 256 B RSS per idle connection | {ours:,.0f} B | {verdict} |")
    if scale:
        total = sum(s["rss_after"] for s in scale["run"]["servers"])
        verdict = "met" if total < 150e6 else f"**missed** ({total / 150e6:.1f}× the target)"
        out.append(f"| 100,000 idle connections under 150 MB server RSS | {total / 1e6:,.0f} MB | {verdict} |")
    out.append("")
    out.append("Zero allocations per echoed message: `cargo test --test zero_alloc`. Masking and UTF-8 "
               "against memcpy and simdutf8: `cargo bench --bench core`.\n")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["peers", "fanout", "scale", "deflate", "render"])
    p.add_argument("raw", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--load-start")
    p.add_argument("--load-end")
    p.add_argument("--settings")
    args = p.parse_args()
    if args.kind != "render":
        doc = header(args)
        if args.kind == "peers":
            runs = read_jsonl(args.raw)
            doc["peer_versions"] = peer_versions()
            doc["medians"], doc["idle"] = summarize_peers(runs)
            doc["runs"] = runs
        elif args.kind == "deflate":
            runs = read_jsonl(args.raw)
            doc.update(report_deflate.summarize(runs))
            doc["runs"] = runs
        elif args.kind == "fanout":
            runs = read_jsonl(args.raw)
            ok = [r["result"] for r in runs if "result" in r]
            doc["runs"] = runs
            doc["median_per_second"] = med([x["per_second"] for x in ok])
            doc["median_per_server_cpu_s"] = med([x.get("per_server_cpu_s") for x in ok])
        else:
            with open(args.raw) as f:
                doc["run"] = json.load(f)
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    peers, _ = latest("peers")
    if peers:
        chart.write(peers, os.path.join(RESULTS, "chart.svg"))
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write(render())


if __name__ == "__main__":
    main()
