#!/usr/bin/env python3
"""Tables and figure of launch/scaling_study.sh: reads DIR/runs/<mode>-<platform>-K<k>-s<seed>.json
(a tptt summary line with "simulation": {"real_seconds", ...}) and writes DIR/scaling.csv,
DIR/scaling.md and DIR/speedup.png (when matplotlib is present).

Time to solve is simulated wall time with validation included (the summary's seconds). The
speed-up of a (mode, K) is the median over seeds of K = 1 exact's time divided by the median of
its own; a mode with an unsolved seed has no median ("—")."""
import csv
import json
import os
import re
import statistics
import sys

NAME = re.compile(r"^(?P<mode>[a-z0-9_+]+)-(?P<platform>[A-Za-z0-9_]+)-K(?P<K>\d+)-s(?P<seed>\d+)\.json$")


def load(directory):
    rows = []
    for f in sorted(os.listdir(os.path.join(directory, "runs"))):
        m = NAME.match(f)
        if not m:
            continue
        with open(os.path.join(directory, "runs", f)) as fh:
            j = json.loads(fh.read())
        r = j["result"]
        rows.append({"mode": m["mode"], "label": j.get("mode", m["mode"]), "platform": m["platform"],
                     "K": int(m["K"]), "seed": int(m["seed"]), "solved": bool(r.get("solved")),
                     "iterations": r.get("solved_at") if r.get("solved") else r.get("iterations"),
                     "simulated_s": r.get("seconds"), "real_s": j.get("simulation", {}).get("real_seconds"),
                     "best_error": r.get("best_error")})
    return rows


def median_or_none(values):
    return statistics.median(values) if values and None not in values else None


def summarise(rows):
    """{(platform, mode, K): {...}} with K = 1 of pipelined and decoupled taken from exact."""
    groups = {}
    for r in rows:
        groups.setdefault((r["platform"], r["mode"], r["K"]), []).append(r)
    out = {}
    for (platform, mode, K), rs in groups.items():
        rs.sort(key=lambda r: r["seed"])
        times = [r["simulated_s"] if r["solved"] else None for r in rs]
        out[(platform, mode, K)] = {
            "label": rs[0]["label"], "seeds": [r["seed"] for r in rs],
            "iterations": [r["iterations"] if r["solved"] else None for r in rs],
            "best_error": [r["best_error"] for r in rs], "solved": sum(r["solved"] for r in rs),
            "time": median_or_none(times), "times": times,
            "real_over_simulated": statistics.median(r["real_s"] / r["simulated_s"] for r in rs
                                                     if r["real_s"] and r["simulated_s"]),
        }
    return out


def fmt_iterations(s):
    return ", ".join(f"{i:,}" if i is not None else f"— ({e:.1%})" for i, e in zip(s["iterations"], s["best_error"]))


def main(directory):
    rows = load(directory)
    if not rows:
        sys.exit(f"scaling_report.py: no runs in {directory}/runs")
    with open(os.path.join(directory, "scaling.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
    summary = summarise(rows)
    lines = []
    for platform in sorted({k[0] for k in summary}):
        base = summary.get((platform, "exact", 1), {}).get("time")
        lines += [f"Platform: {platform}. Simulated time to solve, validation included; speed-up against "
                  f"K = 1 exact ({base:.2f} s simulated)." if base else f"Platform: {platform}.", "",
                  "| mode | K | iterations to solve (seeds) | solved | simulated s (median) | speed-up | real / simulated |",
                  "|---|---|---|---|---|---|---|"]
        for (p, mode, K), s in sorted(summary.items(), key=lambda kv: (kv[0][1] != "exact", kv[0][1], kv[0][2])):
            if p != platform:
                continue
            t = s["time"]
            speed = f"{base / t:.2f}×" if base and t else "—"
            lines.append(f"| {s['label']} | {K} | {fmt_iterations(s)} | {s['solved']}/{len(s['seeds'])} | "
                         f"{t:.2f} |" if t else f"| {s['label']} | {K} | {fmt_iterations(s)} | "
                         f"{s['solved']}/{len(s['seeds'])} | — |")
            lines[-1] += f" {speed} | {s['real_over_simulated']:.1f} |"
        lines.append("")
    with open(os.path.join(directory, "scaling.md"), "w") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))
    plot(summary, os.path.join(directory, "speedup.png"))


def plot(summary, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("scaling_report.py: no matplotlib; no figure (apt-get install python3-matplotlib)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(6, 4))
    for platform in sorted({k[0] for k in summary}):
        base = summary.get((platform, "exact", 1), {}).get("time")
        if not base:
            continue
        for mode in sorted({k[1] for k in summary if k[0] == platform}):
            pts = sorted((K, base / s["time"]) for (p, m, K), s in summary.items()
                         if p == platform and m == mode and s["time"])
            if mode != "exact" and mode != "stale" and (platform, "exact", 1) in summary:
                pts = [(1, 1.0)] + pts
            if pts:
                ax.plot([k for k, _ in pts], [v for _, v in pts], marker="o", label=f"{mode} ({platform})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ranks K (simulated hosts)")
    ax.set_ylabel("speed-up of time to solve vs K = 1 exact")
    ax.set_title("temporal order T = 120, simulated (SimGrid SMPI)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"scaling_report.py: wrote {path}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: scaling_report.py DIR")
    main(sys.argv[1])
