#!/usr/bin/env python3
"""Figures and tables from tptt metrics logs (JSON lines written by `tptt train --log`).

    launch/plot.py cost LOG... [-o cost.png] [--logy] [--per-seed] [--x iteration|f_updates|elapsed_s]
    launch/plot.py rho LOG... [-o rho.png]
    launch/plot.py norms LOG... [-o norms.png] [--tensors W_hh,V_hh,...]
    launch/plot.py csv-table out/ablation/runs.csv [--task temporal]
    launch/plot.py fig8 out/ablation/runs.csv [--out-dir out/ablation] [--logy]
    launch/plot.py csv-build --logs out/ablation/logs --csv out/ablation/runs.csv

Logs are grouped into configurations by their first line's config and run objects (algorithm,
schedule, p_G, ranks, sync mode, staleness, threads; task and length when they differ): one
colour per configuration, the bold line is the mean over its seeds, the light band spans the
seeds' minimum to maximum (or, with --per-seed, one thin line per seed). A run that stopped
before others of its configuration keeps its last value from then on (a solved run stays
solved), and a dot marks the point where a seed solved the task. On another x axis (--x f_updates) the seeds' curves are interpolated
linearly onto the union of their x values.

Plotting needs matplotlib (launch/plot.sh installs it); csv-table and csv-build need only the
standard library. Figures use the Agg backend (no display).
"""
import argparse
import csv
import glob
import json
import math
import os
import sys

CSV_FIELDS = ["task", "length", "algorithm", "schedule", "p_g", "ranks", "sync", "staleness",
              "threads", "seed", "solved", "solved_at", "best_error", "iterations", "wall_s",
              "log", "stop_reason", "status", "g_updates", "f_updates"]


# ----------------------------------------------------------------------------- reading logs

class Run:
    """One metrics log: its configuration, its check records and its summary (or None)."""

    def __init__(self, path):
        self.path = path
        self.config, self.run, self.records, self.summary = {}, {}, [], None
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    j = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by an interrupted run
                if "config" in j:
                    self.config, self.run = j["config"], j.get("run", {})
                elif "summary" in j:
                    self.summary = j["summary"]
                elif "iteration" in j:
                    self.records.append(j)

    def key(self):
        c, r = self.config, self.run
        return {
            "task": c.get("task"),
            "length": c.get("length"),
            "algorithm": c.get("algorithm"),
            "schedule": c.get("schedule", "alternate"),
            "p_g": c.get("p_g", 1.0),
            "ranks": r.get("ranks", c.get("ranks", 1)),
            "sync": c.get("sync", r.get("sync", r.get("mode"))),
            "staleness": c.get("staleness", r.get("staleness")),
            "threads": c.get("threads", 1),
        }

    def series(self, field, x="iteration"):
        xs, ys = [], []
        for rec in self.records:
            v = rec
            for part in field.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            xv = rec.get(x)
            if xv is None:
                continue
            xs.append(xv)
            ys.append(float("nan") if v is None else float(v))
        return xs, ys


def fmt_p(p):
    if p is None:
        return "?"
    p = float(p)
    for num, den in ((1, 2), (1, 3), (2, 3), (1, 4), (1, 5)):
        if abs(p - num / den) < 1e-3 and den != 1:
            return f"{num}/{den}"
    return f"{p:g}"


SCHEDULE_ORDER = {"alternate": 0, "random": 1, "concurrent": 2}


def config_sort_key(k):
    return (str(k["task"]), k["length"] or 0, str(k["algorithm"]),
            SCHEDULE_ORDER.get(k["schedule"], 9), -(float(k["p_g"]) if k["p_g"] is not None else 0),
            k["ranks"] or 1, str(k["sync"]), k["staleness"] or 0, k["threads"] or 1)


def label_maker(keys):
    """A function key -> short label naming only what matters or varies among keys."""
    varies = {f: len({json.dumps(k[f]) for k in keys}) > 1 for f in keys[0]} if keys else {}

    def label(k):
        parts = []
        if varies.get("task") or varies.get("length"):
            parts.append(f"{k['task']} T={k['length']}")
        if varies.get("algorithm"):
            parts.append(str(k["algorithm"]))
        s = k["schedule"]
        if s == "alternate":
            parts.append("alternate (p_G=1)")
        else:
            parts.append(f"{s} p_G={fmt_p(k['p_g'])}")
        ranks = k["ranks"] or 1
        if ranks > 1 or varies.get("ranks"):
            mode = f" {k['sync']}" if k["sync"] else ""
            stale = f" s={k['staleness']}" if k["staleness"] not in (None, "", 0) else ""
            parts.append(f"K={ranks}{mode}{stale}")
        if (k["threads"] or 1) > 1 or varies.get("threads"):
            parts.append(f"{k['threads']} thr")
        return ", ".join(parts)

    return label


def group_runs(paths):
    groups = {}
    for p in paths:
        try:
            r = Run(p)
        except OSError as e:
            print(f"plot: cannot read {p}: {e}", file=sys.stderr)
            continue
        if not r.records:
            print(f"plot: {p}: no check records, left out", file=sys.stderr)
            continue
        k = r.key()
        groups.setdefault(json.dumps(k, sort_keys=True), (k, []))[1].append(r)
    ordered = sorted(groups.values(), key=lambda kv: config_sort_key(kv[0]))
    return ordered


def carried(xs, ys, grid):
    """ys on grid: linear interpolation between the records (exact where the grid point is a
    record, as on the iteration axis, where all runs check at the same iterations); nan before
    the first record; the last value after the end of the run."""
    out, j = [], 0
    for g in grid:
        if not xs or g < xs[0]:
            out.append(float("nan"))
            continue
        if g >= xs[-1]:
            out.append(ys[-1])
            continue
        while xs[j + 1] < g:
            j += 1
        x0, x1 = xs[j], xs[j + 1]
        if g == x0 or x1 == x0:
            out.append(ys[j])
        else:
            t = (g - x0) / (x1 - x0)
            out.append(ys[j] + t * (ys[j + 1] - ys[j]))
    return out


def nanstats(columns):
    mean, lo, hi = [], [], []
    for col in columns:
        vals = [v for v in col if v is not None and math.isfinite(v)]
        if vals:
            mean.append(sum(vals) / len(vals))
            lo.append(min(vals))
            hi.append(max(vals))
        else:
            mean.append(float("nan"))
            lo.append(float("nan"))
            hi.append(float("nan"))
    return mean, lo, hi


# ----------------------------------------------------------------------------- plotting

def pyplot():
    try:
        import matplotlib
    except ImportError:
        sys.exit("plot: matplotlib is missing; run launch/plot.sh (installs python3-matplotlib)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def draw_field(ax, groups, field, x="iteration", per_seed=False, style="-", label_of=None,
               colours=None, mark_solved=False, with_label=True, positive=False, marker=None):
    """positive: values <= 0 count as missing (log axes; e.g. the update norm of a phase that
    the last iteration of a random schedule did not run)."""
    for i, (k, runs) in enumerate(groups):
        colour = colours[i % len(colours)]
        series = [r.series(field, x) for r in runs]
        if positive:
            series = [(xs, [v if v > 0 else float("nan") for v in ys]) for xs, ys in series]
        grid = sorted({v for xs, _ in series for v in xs})
        if not grid:
            continue
        cols = list(zip(*[carried(xs, ys, grid) for xs, ys in series]))
        mean, lo, hi = nanstats(cols)
        lab = label_of(k) if with_label else None
        if with_label and len(runs) > 1:
            lab += f" ({len(runs)} seeds)"
        ax.plot(grid, mean, style, color=colour, lw=1.8, label=lab, marker=marker, ms=3)
        if len(runs) > 1:
            if per_seed:
                for xs, ys in series:
                    ax.plot(xs, ys, style, color=colour, lw=0.6, alpha=0.45)
            else:
                ax.fill_between(grid, lo, hi, color=colour, alpha=0.15, lw=0)
        if mark_solved:
            for r, (xs, ys) in zip(runs, series):
                if r.summary and r.summary.get("solved") and xs:
                    ax.plot([xs[-1]], [ys[-1]], "o", color=colour, ms=4, mec="black", mew=0.5)


def colour_cycle(plt):
    return plt.rcParams["axes.prop_cycle"].by_key()["color"]


def finish(fig, ax, out, dpi, legend_loc="best"):
    ax.grid(True, alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc=legend_loc, framealpha=0.85)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    print(f"plot: wrote {out}")


def title_of(groups, what):
    tasks = sorted({(k["task"], k["length"]) for k, _ in groups}, key=str)
    where = "; ".join(f"{t}, T = {l}" for t, l in tasks) if len(tasks) <= 2 else "several tasks"
    return f"{what} — {where}"


def cmd_cost(args):
    plt = pyplot()
    groups = group_runs(args.logs)
    if not groups:
        sys.exit("plot: no usable logs")
    label_of = label_maker([k for k, _ in groups])
    fig, ax = plt.subplots(figsize=(args.width, args.height))
    draw_field(ax, groups, "cost", x=args.x, per_seed=args.per_seed, label_of=label_of,
               colours=colour_cycle(plt), mark_solved=True, positive=args.logy)
    if args.logy:
        ax.set_yscale("log")
    ax.set_xlabel({"iteration": "iteration", "f_updates": "F updates",
                   "elapsed_s": "seconds"}.get(args.x, args.x))
    ax.set_ylabel("training cost (mean since previous check)")
    ax.set_title(args.title or title_of(groups, "Cost"), fontsize=10)
    finish(fig, ax, args.out, args.dpi)


def cmd_rho(args):
    plt = pyplot()
    groups = group_runs(args.logs)
    if not groups:
        sys.exit("plot: no usable logs")
    label_of = label_maker([k for k, _ in groups])
    colours = colour_cycle(plt)
    fig, ax = plt.subplots(figsize=(args.width, args.height))
    draw_field(ax, groups, "rho_whh", x=args.x, per_seed=args.per_seed, style="-",
               label_of=label_of, colours=colours)
    draw_field(ax, groups, "rho_vhh", x=args.x, per_seed=args.per_seed, style="--",
               label_of=label_of, colours=colours, with_label=False)
    ax.set_xlabel(args.x)
    ax.set_ylabel("spectral radius")
    ax.set_title(args.title or title_of(groups, "Spectral radii (solid W_hh, dashed V_hh)"),
                 fontsize=10)
    finish(fig, ax, args.out, args.dpi)


def cmd_norms(args):
    plt = pyplot()
    groups = group_runs(args.logs)
    if not groups:
        sys.exit("plot: no usable logs")
    label_of = label_maker([k for k, _ in groups])
    tensors = [t for t in args.tensors.split(",") if t]
    ncol = min(len(tensors), 2)
    nrow = (len(tensors) + ncol - 1) // ncol
    fig, axes = plt.subplots(nrow, ncol, figsize=(args.width, args.height * nrow / 1.6),
                             squeeze=False, sharex=True)
    for i, t in enumerate(tensors):
        ax = axes[i // ncol][i % ncol]
        draw_field(ax, groups, "update_norm." + t, x=args.x, per_seed=args.per_seed,
                   label_of=label_of, colours=colour_cycle(plt), with_label=(i == 0),
                   positive=True, marker=".")
        ax.set_yscale("log")
        ax.set_title(f"‖Δ{t}‖", fontsize=9)
        ax.grid(True, alpha=0.3, which="both")
    for j in range(len(tensors), nrow * ncol):
        axes[j // ncol][j % ncol].axis("off")
    for ax in axes[-1]:
        ax.set_xlabel(args.x)
    fig.suptitle(args.title or title_of(groups, "Update norms (last iteration before each check)"),
                 fontsize=10)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(len(labels), 3))
    fig.tight_layout(rect=(0, 0.08 if handles else 0, 1, 1))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=args.dpi)
    print(f"plot: wrote {args.out}")


# ----------------------------------------------------------------------------- CSV

def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def resolve_log(path, csv_path):
    if os.path.exists(path):
        return path
    alt = os.path.join(os.path.dirname(os.path.abspath(csv_path)), "logs", os.path.basename(path))
    return alt if os.path.exists(alt) else path


def csv_row(log_path, meta):
    row = {f: "" for f in CSV_FIELDS}
    for f in ("task", "length", "algorithm", "schedule", "p_g", "ranks", "sync", "staleness",
              "threads", "seed", "wall_s", "status"):
        v = meta.get(f)
        if v is not None:
            row[f] = v
    r = None
    if os.path.exists(log_path):
        r = Run(log_path)
        k = r.key()
        for f in ("task", "length", "algorithm", "schedule", "p_g", "ranks", "threads"):
            if k.get(f) is not None:
                row[f] = k[f]
        if k.get("sync") and not row["sync"]:
            row["sync"] = k["sync"]
        if k.get("staleness") is not None:
            row["staleness"] = k["staleness"]
        if r.config.get("seed") is not None:
            row["seed"] = r.config["seed"]
    s = r.summary if r else None
    if s:
        row["solved"] = "true" if s.get("solved") else "false"
        row["solved_at"] = "" if s.get("solved_at") is None else s["solved_at"]
        row["best_error"] = "" if s.get("best_error") is None else s["best_error"]
        row["iterations"] = s.get("iterations", "")
        row["stop_reason"] = s.get("stop_reason", "")
        if row["wall_s"] == "" and s.get("seconds") is not None:
            row["wall_s"] = round(float(s["seconds"]), 3)
        if not row["status"]:
            row["status"] = "ok"
    if r and r.records:
        last = r.records[-1]  # the check at which the run stopped (solved: at solved_at)
        row["g_updates"] = "" if last.get("g_updates") is None else last["g_updates"]
        row["f_updates"] = "" if last.get("f_updates") is None else last["f_updates"]
    elif not row["status"]:
        row["status"] = "incomplete"
    row["log"] = log_path
    return row


def cmd_csv_build(args):
    logs = sorted(glob.glob(os.path.join(args.logs, "*.jsonl")))
    metas = {os.path.splitext(m)[0][: -len(".meta")]: m
             for m in glob.glob(os.path.join(args.logs, "*.meta.json"))}
    bases = sorted(set(os.path.splitext(l)[0] for l in logs) | set(metas))
    rows = []
    for base in bases:
        meta = {}
        if base in metas:
            try:
                with open(metas[base], encoding="utf-8") as f:
                    meta = json.load(f)
            except (OSError, json.JSONDecodeError):
                meta = {}
        log = base + ".jsonl"
        if not os.path.exists(log) and not meta:
            continue
        if not os.path.exists(log) or (meta == {} and Run(log).summary is None):
            # a run in progress (its meta is written when it ends) or one that never started
            if not meta:
                continue
        rows.append(csv_row(log, meta))
    rows.sort(key=lambda r: (str(r["task"]), int(r["length"] or 0), str(r["algorithm"]),
                             SCHEDULE_ORDER.get(r["schedule"], 9), -float(r["p_g"] or 1),
                             int(r["ranks"] or 1), str(r["sync"]), str(r["staleness"]),
                             int(r["threads"] or 1), int(r["seed"] or 0)))
    tmp = args.csv + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.csv)), exist_ok=True)
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)
    os.replace(tmp, args.csv)


def conf_of_row(row):
    def num(v, cast, default):
        try:
            return cast(v)
        except (TypeError, ValueError):
            return default
    return {
        "task": row.get("task"), "length": num(row.get("length"), int, None),
        "algorithm": row.get("algorithm"), "schedule": row.get("schedule") or "alternate",
        "p_g": num(row.get("p_g"), float, 1.0), "ranks": num(row.get("ranks"), int, 1),
        "sync": row.get("sync") or None, "staleness": num(row.get("staleness"), int, None),
        "threads": num(row.get("threads"), int, 1),
    }


def cmd_csv_table(args):
    rows = read_csv(args.csv)
    if args.task:
        rows = [r for r in rows if r["task"] in args.task]
    rows = [r for r in rows if r.get("status", "ok") == "ok"] if not args.all else rows
    if not rows:
        print("(no runs)")
        return
    groups = {}
    for r in rows:
        k = conf_of_row(r)
        groups.setdefault(json.dumps(k, sort_keys=True), (k, []))[1].append(r)
    ordered = sorted(groups.values(), key=lambda kv: config_sort_key(kv[0]))
    keys = [k for k, _ in ordered]
    lab_keys = [dict(k, task=None, length=None) for k in keys]  # task and length have columns
    label_of = label_maker(lab_keys)
    print("| task | T | configuration | solved | iterations to solve (per seed) | mean "
          "| mean F / G updates to solve | mean wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for (k, rs), lk in zip(ordered, lab_keys):
        rs.sort(key=lambda r: int(r["seed"] or 0))
        solved = [r for r in rs if r["solved"] == "true"]
        per_seed = []
        for r in rs:
            if r["solved"] == "true":
                per_seed.append(f"{r['solved_at']}")
            elif r["solved"] == "false":
                be = r["best_error"]
                be = f"{float(be):.4f}" if be not in ("", None) else "?"
                per_seed.append(f"— ({r['stop_reason']}, best err {be})")
            else:
                per_seed.append(f"— ({r.get('status')})")
        seeds = ", ".join(f"s{r['seed']}: {v}" for r, v in zip(rs, per_seed))
        mean = (f"{sum(int(r['solved_at']) for r in solved) / len(solved):.0f}"
                + ("" if len(solved) == len(rs) else f" (of {len(solved)})")) if solved else "—"
        fg = [(int(r["f_updates"]), int(r["g_updates"])) for r in solved
              if r.get("f_updates") not in ("", None) and r.get("g_updates") not in ("", None)]
        updates = (f"{sum(f for f, _ in fg) / len(fg):.0f} / {sum(g for _, g in fg) / len(fg):.0f}"
                   if fg else "—")
        walls = [float(r["wall_s"]) for r in rs if r["wall_s"] not in ("", None)]
        wall = f"{sum(walls) / len(walls):.0f}" if walls else "—"
        print(f"| {k['task']} | {k['length']} | {label_of(lk)} | {len(solved)}/{len(rs)} | {seeds} "
              f"| {mean} | {updates} | {wall} |")


def cmd_fig8(args):
    rows = read_csv(args.csv)
    rows = [r for r in rows if r.get("log")]
    by_task = {}
    for r in rows:
        by_task.setdefault(r["task"], {}).setdefault(r["length"], []).append(
            resolve_log(r["log"], args.csv))
    if not by_task:
        sys.exit("plot: no runs in " + args.csv)
    for task, by_len in sorted(by_task.items()):
        for length, logs in sorted(by_len.items(), key=lambda kv: int(kv[0] or 0)):
            name = f"fig8-{task}.png" if len(by_len) == 1 else f"fig8-{task}-T{length}.png"
            ns = argparse.Namespace(logs=[l for l in logs if os.path.exists(l)],
                                    out=os.path.join(args.out_dir, name), logy=args.logy,
                                    per_seed=args.per_seed, x=args.x, title=None,
                                    width=args.width, height=args.height, dpi=args.dpi)
            if not ns.logs:
                print(f"plot: {task} T={length}: no logs found", file=sys.stderr)
                continue
            ns.title = (f"Asynchrony ablation — {task}, T = {length} (cost; mean over seeds, "
                        f"band = min–max)" if not args.per_seed else None)
            cmd_cost(ns)


# ----------------------------------------------------------------------------- main

def main(argv=None):
    ap = argparse.ArgumentParser(prog="launch/plot.py", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def figure_opts(p, out_default):
        p.add_argument("-o", "--out", default=out_default, help="PNG file (default %(default)s)")
        p.add_argument("--per-seed", action="store_true",
                       help="thin per-seed lines instead of the min-max band")
        p.add_argument("--x", default="iteration",
                       help="x axis: a record field, e.g. iteration, f_updates, elapsed_s")
        p.add_argument("--title", default=None)
        p.add_argument("--width", type=float, default=7.5)
        p.add_argument("--height", type=float, default=4.6)
        p.add_argument("--dpi", type=int, default=100)

    p = sub.add_parser("cost", help="cost curves of many logs in one figure")
    p.add_argument("logs", nargs="+")
    figure_opts(p, "cost.png")
    p.add_argument("--logy", action="store_true", help="logarithmic y axis")
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("rho", help="spectral radii rho(W_hh), rho(V_hh) vs iteration")
    p.add_argument("logs", nargs="+")
    figure_opts(p, "rho.png")
    p.set_defaults(func=cmd_rho)

    p = sub.add_parser("norms", help="update norms of each tensor vs iteration")
    p.add_argument("logs", nargs="+")
    figure_opts(p, "norms.png")
    p.add_argument("--tensors", default="W_xh,W_hh,W_hy,V_hh",
                   help="comma-separated update_norm keys (default %(default)s)")
    p.set_defaults(func=cmd_norms)

    p = sub.add_parser("csv-table", help="markdown table per configuration from runs.csv")
    p.add_argument("csv")
    p.add_argument("--task", action="append", help="only this task (repeatable)")
    p.add_argument("--all", action="store_true", help="also failed / incomplete runs")
    p.set_defaults(func=cmd_csv_table)

    p = sub.add_parser("fig8", help="one cost figure per task from runs.csv (paper Fig. 8)")
    p.add_argument("csv")
    p.add_argument("--out-dir", default="out/ablation")
    p.add_argument("--logy", action="store_true")
    p.add_argument("--per-seed", action="store_true")
    p.add_argument("--x", default="iteration")
    p.add_argument("--width", type=float, default=7.5)
    p.add_argument("--height", type=float, default=4.6)
    p.add_argument("--dpi", type=int, default=100)
    p.set_defaults(func=cmd_fig8)

    p = sub.add_parser("csv-build", help="(used by ablation.sh) rebuild runs.csv from the logs")
    p.add_argument("--logs", required=True)
    p.add_argument("--csv", required=True)
    p.set_defaults(func=cmd_csv_build)

    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
