#!/usr/bin/env python3
"""Turn the bench scripts' raw runs into results JSON and regenerate
BENCHMARKS.md (and benches/results/chart.svg) from the newest results.

    report.py peers   RAW.jsonl OUT.json [--load-start L --load-end L --settings S --commit C
                                          --base-commit C --base-path P --max-load M]
    report.py fanout  RAW.jsonl OUT.json [...]
    report.py scale   RAW.json  OUT.json [...]
    report.py deflate RAW.jsonl OUT.json [...]
    report.py tls     RAW.jsonl OUT.json [... --force --base-commit C --base-path P]
    report.py churn   RAW.jsonl OUT.json [...]
    report.py cluster RAW.jsonl OUT.json [...]
    report.py render                      # BENCHMARKS.md from benches/results/

Every command also takes --results DIR (default benches/results) and
--markdown FILE (default BENCHMARKS.md); the scripts' QUICK=1 mode points
both into a temp directory.

What gets rendered, so that no table claims what it did not measure:
* a run whose 1-minute load average at the start exceeded --max-load
  (default $MAXLOAD or 1.5) is written with "published": false and is
  never rendered (files from before this gate are judged by their
  load_start the same way); render says so on stderr;
* the newest publishable file of any kind names the current commit; of
  each kind only the newest publishable file measured at that commit is
  rendered, and every table says that commit, the date and the load;
* benches/results/notes.md is included only if its first line names the
  same commit (`<!-- commit: abc1234 -->`);
* the wss:// (TLS) section (benches/tls.sh), the memory-after-bursts
  section (benches/churn.sh) and the across-servers section
  (benches/cluster.sh) are runs of their own: the newest
  publishable file of each is shown whatever its commit, which its
  tables name, and does not decide the current commit of the others;
  `tls --force` (tls.sh's FORCE=1) publishes a run over the load limit,
  and its section says so.

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
sys.path.insert(0, HERE)
import chart  # noqa: E402
import report_churn  # noqa: E402
import report_cluster  # noqa: E402
import report_deflate  # noqa: E402
import report_tls  # noqa: E402
from report_common import med, ordered, size_label  # noqa: E402

# The servers' column order; servers not listed here follow, in the order
# the run met them.
KNOWN_SERVERS = ["ws6455", "ws6455-base", "fastwebsockets", "tokio-tungstenite", "tungstenite",
                 "node-ws", "raw-mio"]
# The kinds whose newest file sets the page's current commit; the others
# are shown on their own (see the module doc).
MAIN_KINDS = ["peers", "fanout", "scale", "deflate"]
STANDALONE_KINDS = ["tls", "churn", "cluster"]
KINDS = MAIN_KINDS + STANDALONE_KINDS
DEFAULT_MAX_LOAD = float(os.environ.get("MAXLOAD") or 1.5)


def run(cmd, cwd=ROOT):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(commit=None):
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
        "ws6455_commit": commit or run(["git", "rev-parse", "--short", "HEAD"]) or "unknown",
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


def tls_versions():
    """What the TLS run's servers were built with."""
    versions = {}
    for label, lock_path, names in [
            ("ws6455", os.path.join(ROOT, "Cargo.lock"), ["rustls", "aws-lc-rs"]),
            ("peers", os.path.join(HERE, "peers", "Cargo.lock"),
             ["rustls", "aws-lc-rs", "tokio-rustls", "tokio-tungstenite", "tokio"])]:
        try:
            with open(lock_path) as f:
                lock = f.read()
        except OSError:
            continue
        for name in names:
            m = re.search(r'name = "%s"\nversion = "([^"]+)"' % re.escape(name), lock)
            if m:
                versions[f"{name} ({label})"] = m.group(1)
    openssl = run(["node", "-p", "process.versions.openssl"])
    if openssl:
        versions["Node's OpenSSL"] = openssl
    try:
        with open(os.path.join(HERE, "peers", "node", "node_modules", "ws", "package.json")) as f:
            versions["ws (npm)"] = json.load(f)["version"]
    except (OSError, ValueError, KeyError):
        pass
    return versions


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def server_order(names):
    """KNOWN_SERVERS first, in their order, then the others as met."""
    return ordered(names, KNOWN_SERVERS)


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
            "messages": med([x.get("messages") for x in ok]),
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
    skipped = [{k: r[k] for k in ("connections", "size", "in_flight", "budget")}
               for r in runs if r["kind"] == "skip"]
    return medians, idle_out, skipped


def fanout_runs(doc):
    """The fan-out runs with server and size filled in (files from before
    fanout.sh took SIZES and a base build have neither)."""
    out = []
    for r in doc.get("runs", []):
        r = dict(r)
        r.setdefault("server", "ws6455")
        r.setdefault("size", r.get("result", {}).get("size"))
        out.append(r)
    return out


def rss_growth(r):
    """Server peak RSS during the run minus its RSS before, or None."""
    before, peak = r.get("server_rss_before"), r.get("server_rss_peak")
    return peak - before if before is not None and peak is not None else None


def summarize_fanout(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["server"], r["size"]), []).append(r)
    out = []
    for (server, size), rs in groups.items():
        ok = [r for r in rs if "result" in r]
        out.append({
            "server": server, "size": size, "runs": len(rs), "errors": len(rs) - len(ok),
            "subscribers": ok[0]["result"]["connections"] if ok else None,
            "per_second": med([r["result"]["per_second"] for r in ok]),
            "per_server_cpu_s": med([r["result"].get("per_server_cpu_s") for r in ok]),
            "rss_growth": med([rss_growth(r) for r in ok]),
        })
    return out


def header(args):
    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(args.commit),
        "load_start": float(args.load_start) if args.load_start else None,
        "load_end": float(args.load_end) if args.load_end else None,
        "settings": args.settings,
    }
    if args.base_path:
        server = "ws6455-base-tls" if args.kind == "tls" else "ws6455-base"
        doc["base"] = {"server": server, "commit": args.base_commit or "unknown", "path": args.base_path}
    ok, reason = load_verdict(doc["load_start"], args.max_load)
    doc["published"] = ok
    if not ok:
        doc["unpublished_reason"] = reason
    doc["max_load"] = args.max_load
    return doc


def load_verdict(load_start, max_load):
    if load_start is None:
        return False, "no load average recorded at the start"
    if load_start > max_load:
        return False, f"load {load_start:g} > {max_load:g} at the start"
    return True, None


def publishable(doc, max_load):
    """(ok, reason): the verdict the file records, or for files from before
    the load gate, the same test on their load_start."""
    if "published" in doc:
        return doc["published"], doc.get("unpublished_reason")
    ok, reason = load_verdict(doc.get("load_start"), max_load)
    return ok, reason and reason + "; the file predates the load gate and was judged at render time"


def commit_of(doc):
    return doc.get("machine", {}).get("ws6455_commit") or "unknown"


def load_results(results):
    """Every results file as (kind, stamp, path, doc), oldest first."""
    out = []
    for kind in KINDS:
        for path in glob.glob(os.path.join(results, kind + "-*.json")):
            stamp = os.path.basename(path)[len(kind) + 1:-len(".json")]
            try:
                with open(path) as f:
                    out.append((kind, stamp, path, json.load(f)))
            except (OSError, ValueError) as e:
                print(f"report.py: cannot read {path}: {e}", file=sys.stderr)
    return sorted(out, key=lambda x: x[1])


def shown_path(path):
    """A results file's path as BENCHMARKS.md shows it."""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path


# ---- formatting -------------------------------------------------------------

def fmt_int(v):
    return "–" if v is None else f"{v:,.0f}"


def fmt_ratio(a, b):
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.2f}×"


def fmt_mib(v):
    return "–" if v is None else f"{v / 2**20:,.1f} MiB"


def human_bytes(v):
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if v >= scale:
            return f"{v / scale:,.1f} {unit}"
    return f"{v} B"


def per_subscriber(growth, subscribers):
    return "–" if growth is None or not subscribers else f"{growth / subscribers:,.0f} B"


def load_range(runs, kinds=("echo",)):
    loads = [r["load"] for r in runs if r.get("kind") in kinds and r.get("load") is not None]
    if not loads:
        return ""
    return f"; per run {min(loads):.2f} to {max(loads):.2f} (median {statistics.median(loads):.2f})"


def provenance(doc, path, runs=None, kinds=("echo",), end=True):
    """The line under every table: commit, date, load, source file."""
    load = doc.get("load_start")
    text = (f"*Commit `{commit_of(doc)}`, {doc.get('date')}; 1-minute load average "
            f"{'–' if load is None else f'{load:.2f}'} at the start")
    text += load_range(runs, kinds) if runs is not None else ""
    if end and doc.get("load_end") is not None:
        text += f", {doc['load_end']:.2f} at the end"
    text += f"; `{shown_path(path)}`.*"
    base = doc.get("base")
    if base:
        text += (f" *`{base['server']}` is the build of commit `{base['commit']}` "
                 f"(`{base['path']}`), run alternately with the current one.*")
    return text + "\n"


# ---- rendering ----------------------------------------------------------------

def render(results, markdown, max_load):
    """BENCHMARKS.md's text, and the current peers doc (for the chart)."""
    every = load_results(results)
    shown, skipped = {}, []
    publishable_docs = []
    for kind, stamp, path, doc in every:
        ok, reason = publishable(doc, max_load)
        if ok:
            publishable_docs.append((kind, stamp, path, doc))
        else:
            print(f"report.py: not rendering {shown_path(path)}: not published: {reason}", file=sys.stderr)
            skipped.append((kind, path, doc, f"not published: {reason}"))
    main_docs = [d for d in publishable_docs if d[0] in MAIN_KINDS]
    current = commit_of(main_docs[-1][3]) if main_docs else None
    for kind, stamp, path, doc in publishable_docs:
        if commit_of(doc) == current or kind in STANDALONE_KINDS:
            shown[kind] = (path, doc)  # oldest first: the newest wins
    for kind, stamp, path, doc in publishable_docs:
        if kind not in STANDALONE_KINDS and commit_of(doc) != current:
            print(f"report.py: not rendering {shown_path(path)}: measured at {commit_of(doc)}, "
                  f"not at the current {current}", file=sys.stderr)
            skipped.append((kind, path, doc, f"measured at `{commit_of(doc)}`, not `{current}`"))
        elif shown.get(kind, (None,))[0] != path:
            print(f"report.py: not rendering {shown_path(path)}: a newer {kind} file at {current} is shown",
                  file=sys.stderr)

    out = []
    w = out.append
    w("# ws6455 benchmarks\n")
    w(f"Generated by `benches/report.py` from `{shown_path(results)}/`; do not edit by hand. "
      "Rerun the scripts below to refresh.\n")
    w("Only ratios measured in one run mean anything: the machine is small, shared and virtual. "
      "**Messages per server CPU-second** is the fair comparison on two cores, where the load "
      "generator and the server compete for the CPU; with one connection every server is bound by "
      "the machine's wake-up latency, so that row ranks nothing.\n")
    w(f"Rules of this page: a run whose 1-minute load average exceeded {max_load:g} when it started "
      "is kept in the results directory but not shown; of the others, only runs measured at the commit "
      "of the newest one are shown, and each table names its commit, date and load. The wss:// (TLS) "
      "section (`benches/tls.sh`), the memory-after-bursts section (`benches/churn.sh`) and the "
      "across-servers section (`benches/cluster.sh`) are runs "
      "of their own: the newest publishable run of each is shown, at the commit its tables name.\n")
    titles = {"tls": "wss:// (TLS)", "churn": "memory-after-bursts", "cluster": "across-servers"}
    apart = [f"the {titles[k]} section, a run of its own at commit `{commit_of(shown[k][1])}`"
             for k in STANDALONE_KINDS if k in shown and commit_of(shown[k][1]) != current]
    if current is None:
        w("**No current results**: no results file passes the rules above. Run the scripts below.\n")
    elif apart:
        w(f"**Every table below was measured at commit `{current}`, except those of "
          f"{', and those of '.join(apart)}.**\n")
    else:
        w(f"**Every table below was measured at commit `{current}`.**\n")
    any_doc = (next((d for k, (_, d) in shown.items() if k not in STANDALONE_KINDS), None)
               or next((d for k, (_, d) in shown.items()), None))
    if any_doc:
        m = any_doc.get("machine", {})
        w("## Machine\n")
        w(f"- {m.get('nproc')} CPUs: {m.get('cpu_model')}; {m.get('memory_bytes', 0) / 2**30:.0f} GiB; Linux {m.get('kernel')}")
        w(f"- {m.get('rustc')}; Node {m.get('node')}")
        if "peers" in shown and shown["peers"][1].get("peer_versions"):
            v = shown["peers"][1]["peer_versions"]
            w("- peers: " + ", ".join(f"{k} {x}" for k, x in v.items()))
        w("")
    commands(w)
    if "peers" in shown:
        render_peers(w, *shown["peers"], markdown, results, shown.get("scale"))
    if "fanout" in shown:
        render_fanout(w, *shown["fanout"])
    if "scale" in shown:
        render_scale(w, *shown["scale"])
    if "deflate" in shown:
        path, doc = shown["deflate"]
        w(report_deflate.render(doc, shown_path(path), provenance(doc, path, doc.get("runs", []), ("idle", "echo", "ratio"))))
    notes = os.path.join(results, "notes.md")
    if current and os.path.exists(notes):
        with open(notes) as f:
            text = f.read()
        m = re.match(r"\s*<!--\s*commit:\s*(\S+)\s*-->", text)
        if m and m.group(1) == current:
            w(text[m.end():].strip() + "\n")
        else:
            print(f"report.py: not rendering {shown_path(notes)}: written for "
                  f"{m.group(1) if m else 'no named commit'}, not {current}", file=sys.stderr)
    # After the notes, which speak of the tables above at `current` only.
    if "tls" in shown:
        path, doc = shown["tls"]
        w(report_tls.render(doc, shown_path(path),
                            lambda kinds, end: provenance(doc, path, doc.get("runs", []), kinds, end), current))
    if "churn" in shown:
        path, doc = shown["churn"]
        # Its servers run one after another, not alternately: the section
        # names the base build itself.
        w(report_churn.render(doc, shown_path(path), provenance(dict(doc, base=None), path)))
    if "cluster" in shown:
        path, doc = shown["cluster"]
        w(report_cluster.render(doc, shown_path(path),
                                lambda rs: provenance(doc, path, rs, ("cluster",)), current))
    newest_skipped = {}
    for kind, path, doc, reason in sorted(skipped, key=lambda x: x[1]):
        newest_skipped[kind] = (path, doc, reason)
    hidden = [(k, v) for k, v in newest_skipped.items() if k not in shown or v[0] > shown[k][0]]
    if hidden:
        w("## Results not shown\n")
        w("The newest file of each benchmark that the rules above leave out:\n")
        for kind, (path, doc, reason) in sorted(hidden, key=lambda kv: KINDS.index(kv[0])):
            w(f"- {kind}: `{shown_path(path)}` (commit `{commit_of(doc)}`, {doc.get('date')}): {reason}")
        w("")
    return "\n".join(out) + "\n", shown.get("peers")


def commands(w):
    w("## Commands\n")
    w("```sh")
    w("benches/run-peers.sh   # echo matrix + RSS per idle connection")
    w("benches/fanout.sh      # 1 publisher → 10,000 subscribers")
    w("benches/scale.sh       # 100,000 idle connections to ws6455 serve")
    w("benches/deflate.sh     # permessage-deflate: memory per idle connection, compressed echo")
    w("benches/tls.sh         # wss://: echo, RSS per idle TLS connection, handshakes per CPU-second")
    w("benches/churn.sh       # memory after bursts: RSS after rounds of connections that all end")
    w("benches/cluster.sh     # 1 publisher → 10,000 subscribers on 3 servers sharing Redis, against Socket.IO")
    w("QUICK=1 benches/run-peers.sh   # a dry run of a script: results and this page go to a temp directory")
    w("```\n")
    w("Knobs (environment): `SERVERS`, `CONNS`, `SIZES`, `REPS`, `WARMUP`, `DURATION`, `IDLE`; "
      "`MAXINFLIGHT` (default 2G): echo cells whose connections × size exceed it are skipped, since "
      "the server and the generator would each hold that much; `WS_BASE=path/to/ws6455` adds the "
      "server `ws6455-base` (another build, for before/after in one run; in `tls.sh`, `ws6455-base-tls`) "
      "and `FANOUT_BASE=path/to/fanout_server` "
      "does the same for the fan-out; `WINDOWRATE` (default 100M): a cell measures for at least "
      "connections × size / WINDOWRATE seconds, after a warm-up of half that, so that large cells "
      "count many echoes per connection rather than one wave of them; `MAXLOAD` (default 1.5) and `LOADWAIT` (default 1200 s) "
      "for the load gate.\n")


def render_peers(w, path, doc, markdown, results, scale):
    runs = doc.get("runs", [])
    med_ = {(x["server"], x["connections"], x["size"]): x for x in doc["medians"]}
    servers = server_order([r["server"] for r in runs if r.get("kind") == "echo"] + [k[0] for k in med_])
    skipped = {(x["connections"], x["size"]): x for x in doc.get("skipped", [])}
    cells = sorted({(k[1], k[2]) for k in med_} | set(skipped))
    w("## Echo: messages per second and per server CPU-second\n")
    w("Each cell starts a fresh server; servers alternate within every repetition; medians of the "
      f"repetitions. Settings: `{doc.get('settings')}`.\n")
    w("```sh")
    w("ws6455 bench --url ws://127.0.0.1:PORT/ --connections C --size S --warmup W --duration D --json --server-pid PID")
    w("```\n")
    w("The generator is ws6455's own mio client loop, closed loop: one message in flight per "
      "connection, sent again on each echo; all connections open before the warmup. Server CPU is "
      "user+system time from `/proc/PID/stat` over the measured window. The servers: "
      "`ws6455 serve` (every RFC check on), "
      + ("`ws6455-base` (`ws6455 serve` of the base build named under each table), " if "ws6455-base" in servers else "")
      + "`benches/peers/` (fastwebsockets and tokio-tungstenite on a "
      "current-thread tokio runtime, blocking tungstenite with a thread per connection, Node `ws`, and "
      "`echo-raw-mio`: the same mio loop shape with a no-checks echo — the ceiling).\n")
    if skipped:
        w("**Skipped cells** (connections × size above the in-flight memory budget `MAXINFLIGHT`; every "
          "connection keeps one message in flight, so the server and the generator would each hold about "
          "this much): " + "; ".join(
              f"{c} × {size_label(s)} ({human_bytes(x['in_flight'])} > {human_bytes(x['budget'])})"
              for (c, s), x in sorted(skipped.items())) + ".\n")
    chart_path = os.path.join(results, "chart.svg")
    rel = os.path.relpath(chart_path, os.path.dirname(os.path.abspath(markdown)))
    w(f"![messages per server CPU-second and per second, by cell and server]({rel})\n")

    def cell(sv, c, s, key):
        if (c, s) in skipped:
            return "skipped"
        x = med_.get((sv, c, s))
        if x and x["errors"] == x["runs"]:
            return "failed"
        return fmt_int((x or {}).get(key))

    for title, key in [("Messages per server CPU-second (median)", "per_server_cpu_s"),
                       ("Messages per second (median)", "per_second")]:
        w(f"### {title}\n")
        w(provenance(doc, path, runs))
        w("| conns × size | " + " | ".join(servers) + " |")
        w("|---|" + "---:|" * len(servers))
        for c, s in cells:
            w(f"| {c} × {size_label(s)} | " + " | ".join(cell(sv, c, s, key) for sv in servers) + " |")
        w("")
    others = [s for s in servers if s != "ws6455"]
    if "ws6455" in servers and others:
        w("### ws6455 ÷ each other server (per server CPU-second · messages/s)\n")
        w(provenance(doc, path, runs))
        w("| conns × size | " + " | ".join(others) + " |")
        w("|---|" + "---:|" * len(others))
        for c, s in cells:
            if (c, s) in skipped:
                w(f"| {c} × {size_label(s)} | " + " | ".join("skipped" for _ in others) + " |")
                continue
            ours = med_.get(("ws6455", c, s), {})
            row = []
            for o in others:
                theirs = med_.get((o, c, s), {})
                row.append(fmt_ratio(ours.get("per_server_cpu_s"), theirs.get("per_server_cpu_s")) + " · " +
                           fmt_ratio(ours.get("per_second"), theirs.get("per_second")))
            w(f"| {c} × {size_label(s)} | " + " | ".join(row) + " |")
        w("")
    w("### Latency and CPU (medians)\n")
    w(provenance(doc, path, runs))
    w("| server | conns × size | messages counted | p50 µs | p99 µs | p99.9 µs | server % core | generator % core | generator saturated |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for c, s in cells:
        for sv in servers:
            x = med_.get((sv, c, s))
            if not x:
                continue
            sat = f"{x['generator_saturated_runs']}/{x['runs']}" + (f" ({x['errors']} failed)" if x["errors"] else "")
            w(f"| {sv} | {c} × {size_label(s)} | {fmt_int(x.get('messages'))} | {fmt_int(x['p50_us'])} | {fmt_int(x['p99_us'])} | "
              f"{fmt_int(x['p999_us'])} | {fmt_int(x['server_core_pct'])} | {fmt_int(x['generator_core_pct'])} | {sat} |")
    w("")
    w("A saturated generator (≥ 90 % of a core) means messages/s is a lower bound for that "
      "server; messages per server CPU-second stays meaningful. *Messages counted* is the median "
      "number of echoes in one measured window: where it is small (large messages, many connections) "
      "the rates above are coarse.\n")
    if doc.get("idle"):
        w("## RSS per idle connection\n")
        w("Server VmRSS after minus before opening the connections (upgraded, no traffic), divided by their number.\n")
        w("```sh")
        w("ws6455 bench --idle --url ws://127.0.0.1:PORT/ --connections N --hold 2 --json --server-pid PID")
        w("```\n")
        # (load_end was read before the idle runs)
        w(provenance(doc, path, runs, ("idle",), end=False))
        w("| server | connections | RSS before | RSS after | bytes per idle connection |")
        w("|---|---:|---:|---:|---:|")
        order = {s: i for i, s in enumerate(server_order([x["server"] for x in doc["idle"]]))}
        for x in sorted(doc["idle"], key=lambda x: order[x["server"]]):
            failed = f" ({x['errors']} of {x['runs']} failed)" if x.get("errors") else ""
            w(f"| {x['server']} | {fmt_int(x['connections'])} | {fmt_int(x['rss_before'])} | "
              f"{fmt_int(x['rss_after'])} | **{fmt_int(x['rss_per_connection'])}**{failed} |")
        w("")
    w(goals(doc, path, scale))


def goals(doc, path, scale):
    """The project's performance goals, judged on this run only (and the
    scale run if it is at the same commit)."""
    med_ = {(x["server"], x["connections"], x["size"]): x for x in doc["medians"]}
    idle = {x["server"]: x for x in doc.get("idle", [])}

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
            return f"| {goal} | – | not measured in this run |"
        worst = min(rs)
        detail = ", ".join(f"{c}×{size_label(s)} {r:.2f}" for r, c, s in rs)
        ok = worst[0] >= want
        verdict = "met" if ok else f"**missed** (worst {worst[0]:.2f}×, {100 * (1 - worst[0] / want):.0f} % short)"
        return f"| {goal} | {detail} | {verdict} |"

    small = [(c, s) for c in (100, 1000) for s in (20, 1024)]
    large = [(c, s) for c in (100, 1000) for s in (65536, 1 << 20, 16 << 20)]
    every = sorted({(k[1], k[2]) for k in med_})
    out = ["## Goals\n",
           "Each verdict is computed from the tables above, so from the same run and commit.\n",
           provenance(doc, path),
           "| goal | measured (ws6455 ÷ peer, per cell) | verdict |", "|---|---|---|"]
    out.append(line("20 B and 1 KiB: per server CPU-second ≥ 1.15× fastwebsockets", ratios("per_server_cpu_s", "fastwebsockets", small), 1.15))
    out.append(line("20 B and 1 KiB: per server CPU-second ≥ 0.97× raw-mio", ratios("per_server_cpu_s", "raw-mio", small), 0.97))
    out.append(line("64 KiB to 16 MiB: per server CPU-second ≥ 1.3× fastwebsockets", ratios("per_server_cpu_s", "fastwebsockets", large), 1.3))
    out.append(line("64 KiB to 16 MiB: per server CPU-second ≥ 1.0× raw-mio", ratios("per_server_cpu_s", "raw-mio", large), 1.0))
    out.append(line("messages/s never below fastwebsockets (every cell)", ratios("per_second", "fastwebsockets", every), 1.0))
    ours = idle.get("ws6455", {}).get("rss_per_connection")
    if ours is not None:
        verdict = "met" if ours <= 256 else f"**missed** ({ours / 256:.1f}× the goal)"
        out.append(f"| ≤ 256 B RSS per idle connection | {ours:,.0f} B | {verdict} |")
    if scale:
        spath, sdoc = scale
        r = sdoc["run"]
        total = sum(s["rss_after"] for s in r["servers"])
        verdict = "met" if total < 150e6 else f"**missed** ({total / 150e6:.1f}× the goal)"
        out.append(f"| {r['connections']:,} idle connections under 150 MB server RSS (scale run below, "
                   f"`{shown_path(spath)}`) | {total / 1e6:,.0f} MB | {verdict} |")
    out.append("")
    return "\n".join(out)


def render_fanout(w, path, doc):
    runs = fanout_runs(doc)
    summary = {(x["server"], x["size"]): x for x in summarize_fanout(runs)}
    servers = server_order([r["server"] for r in runs])
    sizes = sorted({r["size"] for r in runs if r["size"] is not None})
    w("## Broadcast fan-out\n")
    w("`examples/fanout_server.rs` encodes each published message once (`PreparedMessage`) and queues it "
      "on every subscriber with `Ctx::broadcast`; `ws6455 bench --fanout` runs the publisher (keeping a "
      "window of messages in flight) and the subscribers in one client loop. A fresh server for every "
      f"run. Settings: `{doc.get('settings')}`.\n")
    w("```sh")
    w("target/release/examples/fanout_server 127.0.0.1:PORT")
    w("ws6455 bench --fanout --url ws://127.0.0.1:PORT --connections N --size S --window W --json --server-pid PID")
    w("```\n")
    has_rss = any(r.get("server_rss_before") is not None for r in runs)
    if has_rss:
        w("RSS growth is the server's peak RSS during the run (VmHWM) minus its RSS before the "
          "subscribers connected, read from `/proc/PID/status` by `benches/fanout.sh`.\n")
    for size in sizes:
        rs = [r for r in runs if r["size"] == size]
        subs = next((r["result"]["connections"] for r in rs if "result" in r), None)
        w(f"### {size_label(size)} messages to {fmt_int(subs)} subscribers\n")
        w(provenance(doc, path, [dict(r, kind="fanout") for r in rs], ("fanout",)))
        head = "| server | run | deliveries/s | deliveries per server CPU-second | server % core | generator % core | p50 µs | p99 µs |"
        rule = "|---|---|---:|---:|---:|---:|---:|---:|"
        if has_rss:
            head += " RSS before | RSS growth | growth per subscriber |"
            rule += "---:|---:|---:|"
        w(head)
        w(rule)
        for sv in servers:
            for r in sorted((r for r in rs if r["server"] == sv), key=lambda r: r["rep"]):
                x = r.get("result")
                if not x:
                    w(f"| {sv} | {r['rep']} | failed |" + " |" * (rule.count("|") - 4))
                    continue
                core = 100 * x["server_cpu_s"] / x["duration_s"] if x.get("server_cpu_s") is not None else None
                lat = x.get("latency_us", {})
                row = (f"| {sv} | {r['rep']} | {fmt_int(x['per_second'])} | {fmt_int(x.get('per_server_cpu_s'))} | "
                       f"{fmt_int(core)} | {fmt_int(x.get('generator_core_pct'))} | {fmt_int(lat.get('p50'))} | "
                       f"{fmt_int(lat.get('p99'))} |")
                if has_rss:
                    g = rss_growth(r)
                    row += f" {fmt_mib(r.get('server_rss_before'))} | {fmt_mib(g)} | {per_subscriber(g, x['connections'])} |"
                w(row)
            m = summary.get((sv, size))
            if m:
                row = (f"| **{sv}** | **median** | **{fmt_int(m['per_second'])}** | **{fmt_int(m['per_server_cpu_s'])}** "
                       "| | | | |")
                if has_rss:
                    g = m["rss_growth"]
                    row += f" | **{fmt_mib(g)}** | **{per_subscriber(g, m['subscribers'])}** |"
                w(row)
        a, b = summary.get(("ws6455", size)), summary.get(("ws6455-base", size))
        if a and b:
            w("")
            w(f"ws6455 ÷ ws6455-base (medians): deliveries/s {fmt_ratio(a['per_second'], b['per_second'])}, "
              f"per server CPU-second {fmt_ratio(a['per_server_cpu_s'], b['per_server_cpu_s'])}"
              + (f", RSS growth {fmt_ratio(a['rss_growth'], b['rss_growth'])}" if has_rss else "") + ".")
        w("")


def render_scale(w, path, doc):
    r = doc["run"]
    w(f"## Scale: {r['connections']:,} idle connections to ws6455 serve\n")
    w("```sh\nbenches/scale.sh   # N=100000\n```\n")
    procs = r["processes"]
    if procs > 1:
        w(f"The open-file limit was {r['fd_limit']:,} and could not be raised, so the script split the "
          f"connections over {procs} `ws6455 serve` processes (each with its own generator and 8 source "
          "addresses) and sums their RSS; with a higher limit it uses one process.\n")
    w(provenance(doc, path))
    total_after = sum(s["rss_after"] for s in r["servers"])
    total_before = sum(s["rss_before"] for s in r["servers"])
    conns = sum(s["connections"] for s in r["servers"])
    w("| connections | server processes | RSS before | RSS after | per connection | opened in |")
    w("|---:|---:|---:|---:|---:|---:|")
    w(f"| {conns:,} | {procs} | {total_before / 2**20:,.1f} MiB | **{total_after / 2**20:,.1f} MiB** | "
      f"{(total_after - total_before) / max(conns, 1):,.0f} B | {r['open_s']} s |")
    w("")


def write_markdown(results, markdown, max_load):
    text, peers = render(results, markdown, max_load)
    chart_path = os.path.join(results, "chart.svg")
    if peers:
        chart.write(peers[1], chart_path)
    elif os.path.exists(chart_path):
        # A chart of results that are no longer shown would outlive them.
        os.remove(chart_path)
    with open(markdown, "w") as f:
        f.write(text)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=KINDS + ["render"])
    p.add_argument("raw", nargs="?")
    p.add_argument("out", nargs="?")
    p.add_argument("--load-start")
    p.add_argument("--load-end")
    p.add_argument("--settings")
    p.add_argument("--commit", help="the measured build's commit (default: HEAD now)")
    p.add_argument("--base-commit", help="commit of the ws6455-base build")
    p.add_argument("--base-path", help="path of the ws6455-base build")
    p.add_argument("--force", action="store_true",
                   help="tls: publish the run even if its load at the start exceeded --max-load")
    p.add_argument("--max-load", type=float, default=DEFAULT_MAX_LOAD,
                   help="publish only runs whose load at the start is at most this")
    p.add_argument("--results", default=os.path.join(HERE, "results"))
    p.add_argument("--markdown", default=os.path.join(ROOT, "BENCHMARKS.md"))
    args = p.parse_args()
    if args.kind != "render":
        if not args.raw or not args.out:
            p.error(f"{args.kind} needs RAW and OUT")
        doc = header(args)
        if args.kind == "peers":
            runs = read_jsonl(args.raw)
            doc["peer_versions"] = peer_versions()
            doc["medians"], doc["idle"], doc["skipped"] = summarize_peers(runs)
            doc["runs"] = runs
        elif args.kind == "deflate":
            runs = read_jsonl(args.raw)
            doc.update(report_deflate.summarize(runs))
            doc["runs"] = runs
        elif args.kind == "tls":
            runs = read_jsonl(args.raw)
            doc["tls_versions"] = tls_versions()
            doc.update(report_tls.summarize(runs))
            doc["runs"] = runs
            if args.force and not doc["published"]:
                doc["published"] = True
                doc["forced"] = True
                doc["forced_reason"] = doc.pop("unpublished_reason")
        elif args.kind == "churn":
            runs = read_jsonl(args.raw)
            doc.update(report_churn.summarize(runs))
            doc["runs"] = runs
        elif args.kind == "cluster":
            runs = read_jsonl(args.raw)
            doc["cluster_versions"] = report_cluster.versions()
            doc.update(report_cluster.summarize(runs))
            doc["runs"] = runs
        elif args.kind == "fanout":
            runs = read_jsonl(args.raw)
            doc["runs"] = runs
            doc["medians"] = summarize_fanout(fanout_runs(doc))
        else:
            with open(args.raw) as f:
                doc["run"] = json.load(f)
        with open(args.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        if not doc["published"]:
            print(f"report.py: {doc['unpublished_reason']}: not published, retry later "
                  f"(the results are kept in {shown_path(args.out)})", file=sys.stderr)
    write_markdown(args.results, args.markdown, args.max_load)


if __name__ == "__main__":
    main()
