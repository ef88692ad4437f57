"""The "Across servers (Redis)" section of BENCHMARKS.md (see benches/cluster.sh).

summarize(runs) turns the raw lines of one cluster.sh run (one per kind,
size and repetition) into medians per kind and size; versions() names what
the run measured; render(doc, path, provenance, current) writes the
section from what the run wrote, and nothing else.
"""
import json
import os
import subprocess

from report_common import med, ordered, size_label

HERE = os.path.dirname(os.path.abspath(__file__))
KNOWN = ["ws6455", "socketio"]
NAMES = {"ws6455": "ws6455", "socketio": "Socket.IO"}


def versions():
    """Socket.IO's packages as installed for the run, and redis-server's."""
    out = {}
    modules = os.path.join(HERE, "peers", "socketio", "node_modules")
    for pkg in ["socket.io", "@socket.io/redis-adapter", "redis"]:
        try:
            with open(os.path.join(modules, pkg, "package.json")) as f:
                out[f"{pkg} (npm)"] = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            pass
    try:
        text = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                              timeout=10).stdout
        v = next((w[2:] for w in text.split() if w.startswith("v=")), None)
        if v:
            out["redis-server"] = v
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def summarize(runs):
    groups = {}
    for r in runs:
        if r.get("kind") == "cluster":
            groups.setdefault((r["server"], r["size"]), []).append(r)
    out = []
    for (server, size), rs in groups.items():
        ok = [r["result"] for r in rs if "result" in r]
        out.append({
            "server": server, "size": size, "runs": len(rs), "errors": len(rs) - len(ok),
            "subscribers": ok[0]["connections"] if ok else None,
            "per_second": med([x["per_second"] for x in ok]),
            "per_cpu_s": med([x.get("per_server_cpu_s") for x in ok]),
            "p50_us": med([x.get("latency_us", {}).get("p50") for x in ok]),
            "p99_us": med([x.get("latency_us", {}).get("p99") for x in ok]),
        })
    return {"medians": out}


def fmt(v):
    return "–" if v is None else f"{v:,.0f}"


def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"


def core(x):
    cpu = x.get("server_cpu_s")
    return None if cpu is None else 100 * cpu / x["duration_s"]


def redis_core(r):
    """The share of a core redis-server used in run r, or None."""
    x = r["result"]
    pids, cpus = x.get("server_pids") or [], x.get("server_cpus_s") or []
    if r.get("redis_pid") not in pids or len(cpus) != len(pids):
        return None
    cpu = cpus[pids.index(r["redis_pid"])]
    return None if cpu is None else 100 * cpu / x["duration_s"]


def render(doc, path, provenance, current=None):
    """The section. provenance(runs) gives the line under each table
    (commit, date, load at the start and per run); current: the commit of
    the page's other tables, if different from this run's."""
    runs = [r for r in doc.get("runs", []) if r.get("kind") == "cluster"]
    medians = {(m["server"], m["size"]): m for m in doc.get("medians", [])}
    servers = ordered([r["server"] for r in runs], KNOWN)
    sizes = sorted({r["size"] for r in runs})
    out = ["## Across servers (Redis)\n"]
    w = out.append
    commit = doc.get("machine", {}).get("ws6455_commit")
    if current and commit != current:
        w(f"**This section is its own run, at commit `{commit}`** (the tables above are at `{current}`): "
          "its ratios compare servers measured alternately in that run, not with the tables above.\n")
    v = doc.get("cluster_versions", {})
    w("One publisher and every subscriber spread round robin over 3 servers that share one Redis "
      "(its own `redis-server`, no persistence): a message published on the first server reaches the "
      "subscribers of all three. ws6455: `examples/cluster_fanout.rs` (`/publish` → `/subscribe`, "
      "relayed through Redis). Socket.IO: `benches/peers/socketio/server.js`, Socket.IO 4 with "
      "`@socket.io/redis-adapter` (WebSocket transport only, no compression), whose `publish` events "
      "are `io.emit`ted to every socket; the generator speaks Socket.IO to it (`bench --socketio`). "
      + (("Versions: " + ", ".join(f"{k} {x}" for k, x in v.items()) + ". ") if v else "")
      + "**Deliveries per CPU-second** count the CPU of the 3 servers and redis-server together. "
      "Fresh servers for every run; the kinds alternate within each repetition; medians of the "
      f"repetitions. Settings: `{doc.get('settings')}`.\n")
    w("```sh")
    w("benches/cluster.sh")
    w("ws6455 bench --fanout [--socketio] --url ws://127.0.0.1:P1 --subscribe-url ws://127.0.0.1:P1 "
      "--subscribe-url ws://127.0.0.1:P2 --subscribe-url ws://127.0.0.1:P3 --connections N --size S "
      "--window W --json --server-pid PID1,PID2,PID3,REDIS_PID")
    w("```\n")
    for size in sizes:
        rs = [r for r in runs if r["size"] == size]
        subs = next((r["result"]["connections"] for r in rs if "result" in r), None)
        w(f"### {size_label(size)} messages to {fmt(subs)} subscribers on 3 servers\n")
        w(provenance(rs))
        w("| server | run | deliveries/s | deliveries per CPU-second (servers + Redis) | servers + Redis % core "
          "| Redis % core | generator % core | p50 µs | p99 µs |")
        w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
        for sv in servers:
            name = NAMES.get(sv, sv)
            for r in sorted((r for r in rs if r["server"] == sv), key=lambda r: r["rep"]):
                x = r.get("result")
                if not x:
                    w(f"| {name} | {r['rep']} | failed | | | | | | |")
                    continue
                lat = x.get("latency_us", {})
                w(f"| {name} | {r['rep']} | {fmt(x['per_second'])} | {fmt(x.get('per_server_cpu_s'))} "
                  f"| {fmt(core(x))} | {fmt(redis_core(r))} | {fmt(x.get('generator_core_pct'))} "
                  f"| {fmt(lat.get('p50'))} | {fmt(lat.get('p99'))} |")
            m = medians.get((sv, size))
            if m:
                w(f"| **{name}** | **median** | **{fmt(m['per_second'])}** | **{fmt(m['per_cpu_s'])}** "
                  f"| | | | **{fmt(m['p50_us'])}** | **{fmt(m['p99_us'])}** |")
        a, b = medians.get(("ws6455", size)), medians.get(("socketio", size))
        if a and b:
            w("")
            w(f"ws6455 ÷ Socket.IO (medians): deliveries/s {ratio(a['per_second'], b['per_second'])}, "
              f"per CPU-second {ratio(a['per_cpu_s'], b['per_cpu_s'])}; latency p50 "
              f"{ratio(a['p50_us'], b['p50_us'])}, p99 {ratio(a['p99_us'], b['p99_us'])} "
              "(below 1× is faster).")
        w("")
    return "\n".join(out)
