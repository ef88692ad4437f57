"""The "Memory after bursts" section of BENCHMARKS.md (see benches/churn.sh).

summarize(runs) turns the raw lines of one churn.sh run (one per round)
into per-server figures; render(doc, path, provenance) writes the section.
"""
from report_common import med, ordered

KNOWN = ["ws6455", "ws6455-base", "node-ws"]
WORKLOADS = {
    "deflate": ("Compressed connections", "connections that each send one compressed ~1 KiB message "
                "and get its echo, held 1 s, then closed (`bench --idle --warm --deflate`)", 20),
    "echo-64k": ("64 KiB echoes", "connections echoing 64 KiB binaries for 1 s", 10),
    "echo-1m": ("1 MiB echoes", "connections echoing 1 MiB binaries for 1 s", 10),
}
MB = 1e6


def slope(values):
    """Least-squares growth per round, or None for fewer than 3 rounds."""
    n = len(values)
    if n < 3:
        return None
    mx, my = (n - 1) / 2, sum(values) / n
    den = sum((i - mx) ** 2 for i in range(n))
    return sum((i - mx) * (v - my) for i, v in enumerate(values)) / den


def summarize(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["workload"], r["server"]), []).append(r)
    out = []
    for (workload, server), rs in groups.items():
        rs = sorted(rs, key=lambda r: r["round"])
        base = rs[0]["baseline"]
        after = [r["after"] for r in rs if r.get("after") is not None]
        peaks = [r["peak"] for r in rs if r.get("peak") is not None]
        out.append({
            "workload": workload, "server": server, "rounds": len(rs), "wait_s": rs[0].get("wait_s"),
            "baseline": base,
            "peak": max(peaks) if peaks else None,
            "peak_first": peaks[0] if peaks else None,
            "peak_median": med(peaks),
            "after": after,
            "most_above": max(a - base for a in after) if after else None,
            "last_above": after[-1] - base if after else None,
            # The trend ignores round 1: the first burst sets up what lasts
            # (the connection table, the allocator's own structures).
            "growth_per_round": slope(after[1:]),
            "fds_after": rs[-1].get("fds"),
        })
    return {"churn": out}


def mb(v, sign=False):
    if v is None:
        return "–"
    return f"{v / MB:+,.1f} MB" if sign else f"{v / MB:,.1f} MB"


def render(doc, path, provenance):
    rows = doc.get("churn", [])
    out = ["## Memory after bursts\n",
           "One server process per workload and server; each round is a burst of connections that all end, "
           f"then {rows[0]['wait_s'] if rows else '?'} s of idleness before RSS is read. *Baseline* is RSS "
           "before the first round; *above baseline* is RSS after a round minus the baseline; *trend* is the "
           "least-squares growth per round of the RSS after rounds 2 to the last. The goal (issue: memory comes "
           "back) is each round's RSS within the figure in the heading of the baseline, with no upward trend. "
           "`benches/churn.sh`.\n"]
    for workload, (title, what, goal_mb) in WORKLOADS.items():
        mine = [r for r in rows if r["workload"] == workload]
        if not mine:
            continue
        conns = doc.get("settings", "")
        out.append(f"### {title}: within +{goal_mb} MB\n")
        out.append(f"Each round: {what}. Settings: `{conns}`.\n")
        out.append("| server | rounds | baseline | peak in a round | after round 1 | after the last round "
                   "| most above baseline | trend per round | RSS after each round (MB) |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|")
        by = {r["server"]: r for r in mine}
        for server in ordered(list(by), KNOWN):
            r = by[server]
            after = r["after"]
            out.append(
                f"| {server} | {r['rounds']} | {mb(r['baseline'])} | {mb(r['peak'])} "
                f"| {mb(after[0] if after else None)} | {mb(after[-1] if after else None)} "
                f"| {mb(r['most_above'], True)} | {mb(r['growth_per_round'], True)} "
                f"| {', '.join(f'{a / MB:.0f}' for a in after)} |")
        ws, node = by.get("ws6455"), by.get("node-ws")
        if ws and node and ws["most_above"] is not None and node["most_above"]:
            out.append(f"\nMost above baseline, ws6455 ÷ Node `ws`: "
                       f"{ws['most_above'] / node['most_above']:.3f}.")
        base = by.get("ws6455-base")
        if ws and base and ws["peak"] and base["peak"]:
            out.append(f"Peak, ws6455 ÷ ws6455-base: {ws['peak'] / base['peak']:.3f} for the highest of any "
                       f"round, {ws['peak_median'] / base['peak_median']:.3f} for the median round, "
                       f"{ws['peak_first'] / base['peak_first']:.3f} in round 1 (a fresh process).")
        out.append("")
    base = doc.get("base")
    if base:
        provenance = (provenance.rstrip("\n") + f" *`ws6455-base` is `ws6455 serve` built at commit "
                      f"`{base['commit']}` (`{base['path']}`), measured in the same run.*\n")
    out.append(provenance)
    return "\n".join(out)
