"""The wss:// (TLS) section of BENCHMARKS.md (see benches/tls.sh).

summarize(runs) turns the raw lines of one tls.sh run into medians;
render(doc, path, provenance) writes the section from them, with the
issue's goals judged on that run alone.
"""
from report_common import med, ordered, size_label

OURS = "ws6455-tls"
# Another build of ws6455 run alternately (WS_BASE): a before/after column.
BASE = "ws6455-base-tls"
PEERS = ["tokio-tungstenite-tls", "node-ws-tls"]
ORDER = [OURS, BASE] + PEERS
# The goals for wss://: per server CPU-second, ws6455 ÷ peer.
ECHO_GOALS = [("tokio-tungstenite-tls", 1.2), ("node-ws-tls", 2.0)]


def order(names):
    return ordered(names, ORDER)


def summarize(runs):
    echo, idle, hs = {}, {}, {}
    for r in runs:
        res = r.get("result", {})
        if r["kind"] == "echo":
            key = (r["server"], res.get("connections", r.get("connections")), res.get("size", r.get("size")))
            echo.setdefault(key, []).append(r)
        elif r["kind"] == "idle":
            idle.setdefault(r["server"], []).append(r)
        elif r["kind"] == "handshake":
            hs.setdefault((r["server"], r.get("groups", "default")), []).append(r)
    out = {"echo": [], "idle": [], "handshake": []}
    for (server, c, s), rs in sorted(echo.items(), key=lambda kv: (kv[0][1] or 0, kv[0][2] or 0, kv[0][0])):
        ok = [r["result"] for r in rs if "result" in r]
        out["echo"].append({
            "server": server, "connections": c, "size": s, "runs": len(rs), "errors": len(rs) - len(ok),
            "per_second": med([x["per_second"] for x in ok]),
            "per_server_cpu_s": med([x.get("per_server_cpu_s") for x in ok]),
            "messages": med([x.get("messages") for x in ok]),
            "server_core_pct": med([100 * x["server_cpu_s"] / x["duration_s"] for x in ok
                                    if x.get("server_cpu_s") is not None]),
            "generator_core_pct": med([x.get("generator_core_pct") for x in ok]),
            "generator_saturated_runs": sum(1 for x in ok if x.get("generator_saturated")),
            "p50_us": med([x.get("latency_us", {}).get("p50") for x in ok]),
            "p99_us": med([x.get("latency_us", {}).get("p99") for x in ok]),
        })
    for server, rs in idle.items():
        ok = [r["result"] for r in rs if "result" in r]
        out["idle"].append({
            "server": server, "runs": len(rs), "errors": len(rs) - len(ok),
            "connections": ok[0]["connections"] if ok else None,
            "rss_before": med([x["server_rss_before"] for x in ok]),
            "rss_after": med([x["server_rss_after"] for x in ok]),
            "rss_per_connection": med([x["rss_per_connection"] for x in ok]),
            "open_s": med([x.get("open_s") for x in ok]),
        })
    for (server, groups), rs in hs.items():
        ok = [r["result"] for r in rs if "result" in r]
        out["handshake"].append({
            "server": server, "groups": groups, "runs": len(rs), "errors": len(rs) - len(ok),
            "concurrency": ok[0]["concurrency"] if ok else None,
            "per_second": med([x["per_second"] for x in ok]),
            "per_server_cpu_s": med([x.get("per_server_cpu_s") for x in ok]),
            "server_core_pct": med([100 * x["server_cpu_s"] / x["duration_s"] for x in ok
                                    if x.get("server_cpu_s") is not None]),
            "client_core_pct": med([100 * x["client_cpu_s"] / x["duration_s"] for x in ok]),
            "failed_cycles": sum(x.get("errors", 0) for x in ok),
            "lingering": sum(x.get("lingering", 0) for x in ok),
            "first_error": next((x["first_error"] for x in ok + [r.get("detail") or {} for r in rs]
                                 if x.get("first_error")), None),
            "kx_group": next((x["kx_group"] for x in ok if x.get("kx_group")), None),
            "cipher_suite": next((x["cipher_suite"] for x in ok if x.get("cipher_suite")), None),
        })
    return out


def fmt(v, unit=""):
    return "–" if v is None else f"{v:,.0f}{unit}"


def ratio(a, b):
    return "–" if a is None or not b else f"{a / b:.2f}×"


def render(doc, path, provenance, current=None):
    """The section. provenance(kinds, end) gives the line under each
    table's heading (commit, date, load); current: the commit of the
    page's other tables, if different from this run's."""
    out = []
    w = out.append
    w("## wss:// (TLS)\n")
    commit = doc.get("machine", {}).get("ws6455_commit")
    if current and commit != current:
        w(f"**This section is its own run, at commit `{commit}`** (the tables above are at `{current}`): "
          "its ratios compare servers measured alternately in that run, not with the tables above.\n")
    if doc.get("forced"):
        w(f"**Published with `FORCE=1` although the load average at the start ({doc.get('load_start')}) "
          f"exceeded {doc.get('max_load')}**: the ratios are less trustworthy than usual.\n")
    v = doc.get("tls_versions", {})
    w(f"Settings: `{doc.get('settings')}`. The servers: `ws6455 serve --tls-cert … --tls-key …` "
      "(ws6455-tls); `benches/peers/src/bin/echo-tokio-tungstenite-tls.rs`, tokio-tungstenite on "
      "tokio-rustls on a current-thread runtime, with the same rustls, provider (aws-lc-rs) and "
      "server settings as ws6455 (tokio-tungstenite-tls); `node benches/peers/node/echo-ws.js --tls-cert … "
      "--tls-key …`, Node `ws` on `https.createServer` at Node's TLS defaults (node-ws-tls). "
      + (("Versions: " + ", ".join(f"{k} {x}" for k, x in v.items()) + ". ") if v else "")
      + "The certificate: ECDSA P-256, self-signed, made by openssl for the run. Each cell starts "
      "a fresh server; servers alternate within every repetition; medians of the repetitions.\n")
    w("```sh")
    w("benches/tls.sh")
    w("ws6455 bench --url wss://127.0.0.1:PORT/ --ca cert.pem --connections C --size S --warmup W --duration D --json --server-pid PID")
    w("benches/peers/target/release/tls-idle-client --url wss://127.0.0.1:PORT/ --ca cert.pem --count N")
    w("benches/peers/target/release/tls-handshake-client --url wss://127.0.0.1:PORT/ --ca cert.pem --warmup W --seconds D --concurrency K --server-pid PID [--groups X25519]")
    w("```\n")

    runs = doc.get("runs", [])
    echo = {(x["server"], x["connections"], x["size"]): x for x in doc.get("echo", [])}
    servers = order([r["server"] for r in runs])
    cells = sorted({(k[1], k[2]) for k in echo if k[1] is not None and k[2] is not None})
    # Ratio columns: the base build (if run) and the peers; the goals and
    # the idle verdict are about the peers only.
    peers = [p for p in [BASE] + PEERS if p in servers]

    def cell(sv, c, s, key):
        x = echo.get((sv, c, s))
        if x and x["errors"] == x["runs"]:
            return "failed"
        return fmt((x or {}).get(key))

    def ratios(c, s, key):
        ours = echo.get((OURS, c, s), {}).get(key)
        return [ratio(ours, echo.get((p, c, s), {}).get(key)) for p in peers]

    if cells:
        def echo_table(title, key, note=""):
            w(f"### Echo over wss://: {title} (median)\n")
            w(provenance(("echo",), True))
            if note:
                w(note)
            w("| conns × size | " + " | ".join(servers) + " | "
              + " | ".join(f"{OURS} ÷ {p}" for p in peers) + " |")
            w("|---|" + "---:|" * (len(servers) + len(peers)))
            for c, s in cells:
                w(f"| {c} × {size_label(s)} | " + " | ".join(cell(sv, c, s, key) for sv in servers)
                  + " | " + " | ".join(ratios(c, s, key)) + " |")
            w("")

        echo_table("messages per server CPU-second", "per_server_cpu_s",
                   "The generator is `ws6455 bench` (ws6455's own mio client, over TLS), closed loop: one "
                   "message in flight per connection. Server CPU is user+system time from `/proc/PID/stat` "
                   "over the measured window.\n")
        echo_table("messages per second", "per_second")
        w("| server | conns × size | messages counted | p50 µs | p99 µs | server % core | generator % core | generator saturated |")
        w("|---|---|---:|---:|---:|---:|---:|---:|")
        for c, s in cells:
            for sv in servers:
                x = echo.get((sv, c, s))
                if not x:
                    continue
                sat = f"{x['generator_saturated_runs']}/{x['runs']}" + (f" ({x['errors']} failed)" if x["errors"] else "")
                w(f"| {sv} | {c} × {size_label(s)} | {fmt(x['messages'])} | {fmt(x['p50_us'])} | {fmt(x['p99_us'])} | "
                  f"{fmt(x['server_core_pct'])} | {fmt(x['generator_core_pct'])} | {sat} |")
        w("")

    idle = {x["server"]: x for x in doc.get("idle", [])}
    if idle:
        w("### RSS per idle TLS connection (median)\n")
        w(provenance(("idle",), False))
        w("Server VmRSS after minus before N connections are open (TLS 1.3 handshake and opening "
          "handshake done, no message) and have been held for the settling time, divided by N.\n")
        w(f"| server | connections | RSS before | RSS after | bytes per idle TLS connection | {OURS} ÷ this |")
        w("|---|---:|---:|---:|---:|---:|")
        ours = idle.get(OURS, {}).get("rss_per_connection")
        for sv in order(list(idle)):
            x = idle[sv]
            failed = f" ({x['errors']} of {x['runs']} failed)" if x.get("errors") else ""
            w(f"| {sv} | {fmt(x['connections'])} | {fmt(x['rss_before'])} | {fmt(x['rss_after'])} | "
              f"**{fmt(x['rss_per_connection'])}**{failed} | {ratio(ours, x['rss_per_connection'])} |")
        w("")

    hs = doc.get("handshake", [])
    if hs:
        w("### TLS handshakes per server CPU-second (median)\n")
        w(provenance(("handshake",), True))
        conc = next((x["concurrency"] for x in hs if x.get("concurrency")), None)
        w(f"{fmt(conc)} client threads, each looping: new TCP connection → full TLS 1.3 handshake (no "
          "resumption) → opening handshake → Close → the server's Close and end of the connection. "
          "*Offered*: the client's key exchange groups, `default` being aws-lc-rs's list with "
          "X25519MLKEM768 first (what ws6455's client and browsers offer); *agreed*: the group the server "
          "chose, so a server without ML-KEM does less work in the `default` rows.\n")
        w(f"| offered | server | agreed | cipher suite | handshakes/s | per server CPU-second | server % core | client % core | {OURS} ÷ this (per CPU-s) | failed cycles |")
        w("|---|---|---|---|---:|---:|---:|---:|---:|---:|")
        by = {(x["groups"], x["server"]): x for x in hs}
        for groups in list(dict.fromkeys(x["groups"] for x in hs)):
            ours = by.get((groups, OURS), {}).get("per_server_cpu_s")
            for sv in order([x["server"] for x in hs if x["groups"] == groups]):
                x = by[(groups, sv)]
                failed = fmt(x["failed_cycles"]) + (f" ({x['errors']} of {x['runs']} runs failed)" if x["errors"] else "")
                w(f"| {groups} | {sv} | {x.get('kx_group') or '–'} | {x.get('cipher_suite') or '–'} | "
                  f"{fmt(x['per_second'])} | **{fmt(x['per_server_cpu_s'])}** | {fmt(x['server_core_pct'])} | "
                  f"{fmt(x['client_core_pct'])} | {ratio(ours, x['per_server_cpu_s'])} | {failed} |")
        w("")
        errs = [(x["server"], x["groups"], x["first_error"]) for x in hs if x.get("first_error")]
        if errs:
            w("First error of a failed cycle: " + "; ".join(f"{s} ({g}): `{e}`" for s, g, e in errs) + ".\n")

    w("### Goals for wss://\n")
    w(provenance(("echo", "idle"), True))
    w("| goal | measured (ws6455-tls ÷ peer, per cell) | verdict |")
    w("|---|---|---|")
    for peer, want in ECHO_GOALS:
        rs = []
        for c, s in cells:
            a = echo.get((OURS, c, s), {}).get("per_server_cpu_s")
            b = echo.get((peer, c, s), {}).get("per_server_cpu_s")
            if a is not None and b:
                rs.append((a / b, c, s))
        goal = f"echo per server CPU-second ≥ {want:g}× {peer} (every cell)"
        if not rs:
            w(f"| {goal} | – | not measured in this run |")
            continue
        worst = min(rs)
        detail = ", ".join(f"{c}×{size_label(s)} {r:.2f}" for r, c, s in rs)
        verdict = "met" if worst[0] >= want else f"**missed** (worst {worst[0]:.2f}×, {100 * (1 - worst[0] / want):.0f} % short)"
        w(f"| {goal} | {detail} | {verdict} |")
    ours = idle.get(OURS, {}).get("rss_per_connection")
    theirs = [(p, idle[p]["rss_per_connection"]) for p in PEERS if idle.get(p, {}).get("rss_per_connection") is not None]
    if ours is None or not theirs:
        w("| idle RSS per TLS connection below every peer | – | not measured in this run |")
    else:
        detail = f"{ours:,.0f} B against " + ", ".join(f"{p} {b:,.0f} B" for p, b in theirs)
        above = [p for p, b in theirs if ours >= b]
        verdict = "met" if not above else "**missed** (not below " + ", ".join(above) + ")"
        w(f"| idle RSS per TLS connection below every peer | {detail} | {verdict} |")
    w("")
    return "\n".join(out)
