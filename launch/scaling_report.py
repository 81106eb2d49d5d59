#!/usr/bin/env python3
"""Tables and figure of launch/scaling_study.sh: reads DIR/runs/<mode>-<platform>-K<k>-s<seed>.json
(a tptt summary line with "simulation": {"real_seconds", ...}) and writes DIR/scaling.csv,
DIR/scaling.md and DIR/speedup.png (when matplotlib is present).

Time to solve is simulated wall time with validation included (the summary's seconds). The
speed-up of a (mode, K) is the median over its seeds of K = 1 exact's time on the same seed
divided by its own; a seed it did not solve counts as no speed-up (0), so the median needs two
of three seeds solved."""
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
    """{(platform, mode, K): {...}}: per seed iterations, times and speed-ups against K = 1 exact."""
    groups = {}
    for r in rows:
        groups.setdefault((r["platform"], r["mode"], r["K"]), []).append(r)
    base = {(r["platform"], r["seed"]): r["simulated_s"] for r in rows
            if r["mode"] == "exact" and r["K"] == 1 and r["solved"]}
    out = {}
    for (platform, mode, K), rs in groups.items():
        rs.sort(key=lambda r: r["seed"])
        speedups = [base[(platform, r["seed"])] / r["simulated_s"] if r["solved"] and (platform, r["seed"]) in base
                    else 0.0 for r in rs]
        out[(platform, mode, K)] = {
            "label": rs[0]["label"], "labels": sorted({r["label"] for r in rs}), "seeds": [r["seed"] for r in rs],
            "iterations": [r["iterations"] if r["solved"] else None for r in rs],
            "best_error": [r["best_error"] for r in rs], "solved": sum(r["solved"] for r in rs),
            "times": [r["simulated_s"] if r["solved"] else None for r in rs],
            "speedup": statistics.median(speedups), "speedups": speedups,
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
        lines += [f"Platform: {platform}. Simulated seconds to solve, validation included (— : not solved "
                  "within the budget, best validation error in brackets); speed-up: median over the seeds of "
                  "K = 1 exact's time on the same seed over this run's.", "",
                  "| mode | K | iterations to solve (seeds 1, 2, 3) | simulated s | speed-up (per seed) | median "
                  "speed-up | real s / simulated s |", "|---|---|---|---|---|---|---|"]
        for (p, mode, K), s in sorted(summary.items(), key=lambda kv: (kv[0][1] != "exact", kv[0][1], kv[0][2])):
            if p != platform:
                continue
            times = ", ".join(f"{t:.2f}" if t else "—" for t in s["times"])
            per_seed = ", ".join(f"{v:.2f}" if v else "—" for v in s["speedups"])
            median = f"**{s['speedup']:.2f}×**" if s["speedup"] else "—"
            lines.append(f"| {' / '.join(s['labels'])} | {K} | {fmt_iterations(s)} | {times} | {per_seed} | {median} | "
                         f"{s['real_over_simulated']:.1f} |")
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
        for mode in sorted({k[1] for k in summary if k[0] == platform}):
            pts = sorted((K, s["speedup"]) for (p, m, K), s in summary.items()
                         if p == platform and m == mode and s["speedup"])
            if mode != "exact" and mode != "stale" and (platform, "exact", 1) in summary:
                pts = [(1, 1.0)] + pts
            if pts:
                ax.plot([k for k, _ in pts], [v for _, v in pts], marker="o", label=f"{mode} ({platform})")
    ax.set_xscale("log", base=2)
    ks = sorted({k[2] for k in summary})
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("ranks K (simulated hosts)")
    ax.set_ylabel("time to solve, speed-up vs K = 1 exact\n(median of seeds)")
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
