"""The permessage-deflate section of BENCHMARKS.md (see benches/deflate.sh).

summarize(runs) turns the raw lines of one deflate.sh run into medians;
render(doc, path, caption) writes the section from them.
"""
from report_common import med, size_label

PEER = "node-ws"
BASE = "ws6455-base"
FULL = "ws6455-full"
LEVEL6 = "ws6455-level6"

IDLE_CASES = [
    ("plain", "no extension, after the handshake"),
    ("plain-warm", "no extension, after one ~1 KiB message each way"),
    ("agreed", "permessage-deflate agreed, no message yet"),
    ("warm", "permessage-deflate, after one compressed message each way (context takeover): the default, `--deflate-memory windows` (32 KiB windows kept, codecs lent from the loop)"),
    ("warm-full", "the same with `--deflate-memory full` (codecs kept)"),
    ("warm-snct", "permessage-deflate, no context takeover for the server only (`--deflate-server-no-context-takeover`), after one message each way"),
    ("warm-nct", "permessage-deflate without context takeover either way (`--deflate-no-context-takeover`), after one message each way"),
    ("warm-small", "context takeover, 4 KiB windows, `--deflate-memory small` (Node: `serverMaxWindowBits`/`clientMaxWindowBits` 12), after one message each way"),
    ("warm-tiny", "context takeover, 512-byte windows, `--deflate-memory tiny` (Node: window bits 9), after one message each way"),
]
# Ratio rows: the case, its label, the ws6455 server that ran it and the
# Node case it is set against.
RATIO_PRESETS = [
    ("windows", "default, `windows` (32 KiB windows)", "ws6455", "windows"),
    ("small", "`small` (4 KiB windows; Node: window bits 12)", "ws6455", "small"),
    ("tiny", "`tiny` (512-byte windows; Node: window bits 9)", "ws6455", "tiny"),
    ("level6", "default at `--deflate-level 6`, Node's level", LEVEL6, "windows"),
]
RATIO_CORPORA = [
    ("chat", "chat JSON"),
    ("mixed", "mixed text"),
]


def base(server):
    """ws6455-deflate and ws6455-nct are ws6455; node-ws-deflate is node-ws;
    ws6455-base (another build, deflate.sh's WS_BASE), ws6455-full (the
    codecs-kept preset, echoed beside the default) and ws6455-level6 (the
    default at Node's zlib level, 6) stay apart."""
    if server in (BASE, FULL, LEVEL6):
        return server
    return "ws6455" if server.startswith("ws6455") else PEER


def summarize(runs):
    idle, echo, ratio = {}, {}, {}
    kinds = {"idle": idle, "echo": echo, "ratio": ratio}
    for r in runs:
        key = (base(r["server"]), r["case"])
        kinds[r["kind"]].setdefault(key, []).append(r)
    out = {"idle": [], "echo": [], "ratio": []}
    for (server, case), rs in sorted(ratio.items()):
        ok = [r["result"] for r in rs if "result" in r]
        out["ratio"].append({
            "server": server, "case": case, "runs": len(rs), "errors": len(rs) - len(ok),
            "payload_bytes": ok[0]["payload_bytes"] if ok else None,
            "wire_bytes": ok[0]["wire_bytes"] if ok else None,
            "ratio": ok[0]["ratio"] if ok else None,
        })
    for (server, case), rs in sorted(idle.items()):
        ok = [r["result"] for r in rs if "result" in r]
        out["idle"].append({
            "server": server, "case": case, "runs": len(rs), "errors": len(rs) - len(ok),
            "connections": ok[0]["connections"] if ok else None,
            "rss_per_connection": med([x.get("rss_per_connection") for x in ok]),
        })
    for (server, case), rs in sorted(echo.items()):
        ok = [r["result"] for r in rs if "result" in r]
        size = ok[0]["size"] if ok else None
        out["echo"].append({
            "server": server, "case": case, "size": size, "runs": len(rs), "errors": len(rs) - len(ok),
            "per_second": med([x["per_second"] for x in ok]),
            "per_server_cpu_s": med([x.get("per_server_cpu_s") for x in ok]),
            # Payload bytes each server CPU-second inflated (one message in)
            # and deflated (its echo out).
            "mb_per_server_cpu_s": med([x["per_server_cpu_s"] * x["size"] / 1e6 for x in ok
                                        if x.get("per_server_cpu_s") is not None]),
        })
    return out


def fmt(v, unit=""):
    return "–" if v is None else f"{v:,.0f}{unit}"


def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"


def pair_table(w, echo, sizes, other, intro, against_peer=False):
    """ws6455's echo throughput against another ws6455 server of the run
    (and, with `against_peer`, that server's against Node's)."""
    w(intro)
    extra = f" {other} ÷ {PEER} |" if against_peer else ""
    w(f"| message size | ws6455 MB/CPU-s | {other} MB/CPU-s | ws6455 ÷ {other} |{extra}")
    w("|---|---:|---:|---:|" + ("---:|" if against_peer else ""))
    for s in sizes:
        a, b = echo.get(("ws6455", s), {}), echo.get((other, s), {})
        mine, theirs = a.get("mb_per_server_cpu_s"), b.get("mb_per_server_cpu_s")
        row = f"| {size_label(s)} | {fmt(mine)} | {fmt(theirs)} | {ratio(mine, theirs)} |"
        if against_peer:
            row += f" {ratio(theirs, echo.get((PEER, s), {}).get('mb_per_server_cpu_s'))} |"
        w(row)
    w("")


def render(doc, path, caption=""):
    """The section; `caption` (commit, date, load) goes under each table's heading."""
    out = []
    w = out.append
    w("## permessage-deflate (RFC 7692)\n")
    w(f"Settings: `{doc.get('settings')}`. Both servers compress every message (threshold 0) at their default "
      "zlib level (ws6455 5, Node 6) with 32 KiB windows and context takeover unless the row says otherwise; "
      "Node `ws` (`benches/peers/node/echo-ws.js --deflate`) uses Node's zlib (C), ws6455 flate2 on zlib-rs.\n")
    w("```sh\nbenches/deflate.sh\n"
      "ws6455 bench --idle --url ws://127.0.0.1:PORT/ --connections N --hold 2 [--deflate] [--warm] --json --server-pid PID\n"
      "ws6455 bench --deflate --url ws://127.0.0.1:PORT/ --connections C --size S --json --server-pid PID\n```\n")
    idle = {(x["server"], x["case"]): x for x in doc["idle"]}
    w("### Memory per idle connection (RSS, medians)\n")
    if caption:
        w(caption)
    w(f"| connection state | ws6455 | {PEER} | ws6455 ÷ {PEER} |")
    w("|---|---:|---:|---:|")
    for case, label in IDLE_CASES:
        server = FULL if case == "warm-full" else "ws6455"
        ours = idle.get((server, case), {}).get("rss_per_connection")
        theirs = idle.get((PEER, case), {}).get("rss_per_connection")
        w(f"| {label} | {fmt(ours, ' B')} | {fmt(theirs, ' B')} | {ratio(ours, theirs)} |")
    w("")
    echo = {(x["server"], x["size"]): x for x in doc["echo"]}
    sizes = sorted({k[1] for k in echo if k[1]})
    w("### Compressed echo throughput (medians)\n")
    if caption:
        w(caption)
    w("JSON-like text, every message inflated on the way in and deflated on the way out; "
      "**payload MB per server CPU-second** is what one core compresses and decompresses.\n")
    w(f"| message size | ws6455 MB/CPU-s | {PEER} MB/CPU-s | ratio | ws6455 msg/s | {PEER} msg/s | ratio |")
    w("|---|---:|---:|---:|---:|---:|---:|")
    for s in sizes:
        a, b = echo.get(("ws6455", s), {}), echo.get((PEER, s), {})
        w(f"| {size_label(s)} | {fmt(a.get('mb_per_server_cpu_s'))} | {fmt(b.get('mb_per_server_cpu_s'))} | "
          f"{ratio(a.get('mb_per_server_cpu_s'), b.get('mb_per_server_cpu_s'))} | {fmt(a.get('per_second'))} | "
          f"{fmt(b.get('per_second'))} | {ratio(a.get('per_second'), b.get('per_second'))} |")
    w("")
    if any(k[0] == FULL for k in echo):
        pair_table(w, echo, sizes, FULL,
                   "The default (codecs lent between bursts) against `--deflate-memory full` (codecs kept), "
                   "same run:\n")
    if any(k[0] == LEVEL6 for k in echo):
        pair_table(w, echo, sizes, LEVEL6,
                   "The default (zlib level 5) against the same at Node's level (`--deflate-level 6`), same run: "
                   "above a few KiB the compressor is most of the server's CPU, and level 5 searches shorter "
                   "match chains (what it costs in ratio is in the next table):\n", against_peer=True)
    ratios = {(x["server"], x["case"]): x for x in doc.get("ratio", [])}
    if ratios:
        w("### Compression ratio by memory preset\n")
        if caption:
            w(caption)
        w("Wire bytes of the server's echoes (frame headers included) over their payload, lower is better: "
          "`ws6455 bench --ratio CORPUS` over one connection, every message compressed (threshold 0), "
          "on the corpora of `benches/corpus.py` — *chat JSON*: 3,000 messages of the chat demo's "
          "wire format (room messages, direct messages, presence, joins, room lists); *mixed text*: 3,000 "
          "messages taking turns between README paragraphs, Rust source, the demo pages' HTML and chat JSON.\n")
        w(f"| preset | corpus | payload | ws6455 wire | {PEER} wire | ws6455 ÷ {PEER} |")
        w("|---|---|---:|---:|---:|---:|")
        for preset, plabel, ours, node_case in RATIO_PRESETS:
            for corpus, clabel in RATIO_CORPORA:
                a = ratios.get((ours, f"{preset}-{corpus}"), {})
                b = ratios.get((PEER, f"{node_case}-{corpus}"), {})
                pct = lambda x: "–" if x.get("ratio") is None else f"{x['ratio'] * 100:.1f} %"
                w(f"| {plabel} | {clabel} | {fmt(a.get('payload_bytes'), ' B')} | {pct(a)} | {pct(b)} | "
                  f"{ratio(a.get('ratio'), b.get('ratio'))} |")
        w("")
    if any(k[0] == BASE for k in echo):
        pair_table(w, echo, sizes, BASE,
                   f"Before and after, alternating in the same run ({BASE}: commit "
                   f"`{doc.get('base', {}).get('commit', 'unknown')}`):\n")
    return "\n".join(out)
