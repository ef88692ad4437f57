#!/usr/bin/env python3
"""SVG chart of a peers results file: grouped bars per cell (connections ×
size), one colour per server, two panels (messages per server CPU-second,
messages per second), legend and axis labels. The value axis is
logarithmic when the values span more than two decades (16 MiB echoes are
thousands of times fewer than 20 B ones). Standard library only; the SVG
is written by hand.

    chart.py [benches/results/peers-DATE.json] [benches/results/chart.svg]
"""
import glob
import json
import math
import os
import sys
from xml.sax.saxutils import escape

COLOURS = {
    "ws6455": "#d62728",
    "ws6455-base": "#ff9896",
    "fastwebsockets": "#1f77b4",
    "tokio-tungstenite": "#2ca02c",
    "tungstenite": "#9467bd",
    "node-ws": "#8c564b",
    "raw-mio": "#7f7f7f",
}
ORDER = list(COLOURS)


def nice_max(v):
    """A round axis maximum at or above v."""
    if v <= 0:
        return 1
    exp = 10 ** (len(str(int(v))) - 1)
    for step in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if step * exp >= v:
            return step * exp
    return 10 * exp


def label(s):
    if s >= 2**20 and s % 2**20 == 0:
        return f"{s // 2**20} MiB"
    return f"{s // 1024} KiB" if s >= 1024 and s % 1024 == 0 else f"{s} B"


def short(v):
    if v >= 1e6:
        return f"{v / 1e6:g}M"
    if v >= 1e3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def panel(out, x0, y0, width, height, title, cells, servers, values):
    present = [v for v in values.values() if v is not None and v > 0]
    top = max(present + [1])
    low = min(present + [top])
    if top / low > 100:
        # Logarithmic: whole decades from below the smallest value.
        lo_exp = math.floor(math.log10(low))
        hi_exp = max(math.ceil(math.log10(top)), lo_exp + 1)
        title += ", log scale"

        def scale(v):
            return (math.log10(max(v, 10 ** lo_exp)) - lo_exp) / (hi_exp - lo_exp)
        ticks = [10 ** e for e in range(lo_exp, hi_exp + 1)]
    else:
        ymax = nice_max(top)

        def scale(v):
            return v / ymax
        ticks = [ymax * i / 5 for i in range(6)]
    out.append(f'<text x="{x0 + width / 2}" y="{y0 - 12}" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>')
    for v in ticks:
        y = y0 + height - height * scale(v)
        out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + width}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{short(v)}</text>')
    out.append(f'<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y0 + height}" stroke="#333"/>')
    out.append(f'<line x1="{x0}" y1="{y0 + height}" x2="{x0 + width}" y2="{y0 + height}" stroke="#333"/>')
    group = width / len(cells)
    bar = group * 0.8 / len(servers)
    for ci, (c, s) in enumerate(cells):
        gx = x0 + ci * group + group * 0.1
        for si, server in enumerate(servers):
            v = values.get((server, c, s))
            if v is None:
                continue
            h = height * scale(v)
            x = gx + si * bar
            out.append(f'<rect x="{x:.1f}" y="{y0 + height - h:.1f}" width="{bar * 0.92:.1f}" height="{h:.1f}" '
                       f'fill="{COLOURS.get(server, "#000")}"><title>{escape(server)} {c} conns × {label(s)}: {v:,.0f}</title></rect>')
        cx = x0 + ci * group + group / 2
        out.append(f'<text x="{cx:.1f}" y="{y0 + height + 16}" text-anchor="middle" font-size="11">{c} × {label(s)}</text>')
    out.append(f'<text x="{x0 + width / 2}" y="{y0 + height + 34}" text-anchor="middle" font-size="12">connections × message size</text>')
    out.append(f'<text transform="translate({x0 - 52},{y0 + height / 2}) rotate(-90)" text-anchor="middle" font-size="12">{escape(title.split(" (")[0])}</text>')


def write(doc, path):
    medians = doc["medians"]
    # Known servers in their order, then the others in the order the run met them.
    met = list(dict.fromkeys([r["server"] for r in doc.get("runs", []) if r.get("kind") == "echo"] +
                             [m["server"] for m in medians]))
    servers = [s for s in ORDER if s in met] + [s for s in met if s not in ORDER]
    cells = sorted({(m["connections"], m["size"]) for m in medians})
    pw, ph, left = max(1000, 80 * len(cells)), 260, 80
    width = pw + 100
    height = 2 * (ph + 90) + 70
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
           'font-family="sans-serif"><rect width="100%" height="100%" fill="white"/>']
    for i, (key, title) in enumerate([("per_server_cpu_s", "Echoes per server CPU-second (median)"),
                                      ("per_second", "Echoes per second (median)")]):
        values = {(m["server"], m["connections"], m["size"]): m.get(key) for m in medians}
        panel(out, left, 40 + i * (ph + 90), pw, ph, title, cells, servers, values)
    ly = height - 30
    step = pw / max(len(servers), 1)
    for i, s in enumerate(servers):
        x = left + i * step
        out.append(f'<rect x="{x:.1f}" y="{ly - 11}" width="14" height="14" fill="{COLOURS.get(s, "#000")}"/>')
        out.append(f'<text x="{x + 20:.1f}" y="{ly}" font-size="13">{escape(s)}</text>')
    machine = doc.get("machine", {})
    note = (f'commit {machine.get("ws6455_commit", "?")} · {doc.get("date", "")} · {machine.get("nproc", "?")} CPUs, '
            f'{machine.get("cpu_model", "")} · load {doc.get("load_start")} at the start')
    out.append(f'<text x="{width - 10}" y="{height - 8}" text-anchor="end" font-size="10" fill="#666">{escape(note)}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else sorted(glob.glob(os.path.join(here, "results", "peers-*.json")))[-1]
    dst = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "results", "chart.svg")
    with open(src) as f:
        write(json.load(f), dst)


if __name__ == "__main__":
    main()
