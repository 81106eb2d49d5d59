#!/usr/bin/env python3
"""Figures and tables from tptt metrics logs (JSON lines written by `tptt train --log`).

    launch/plot.py cost LOG... [-o cost.png] [--logy] [--per-seed] [--x iteration|f_updates|elapsed_s]
    launch/plot.py curves LOG... [-o curves.png] [--logy]     train cost and validation error
    launch/plot.py rho LOG... [-o rho.png]                    rho(W_hh) solid, rho(V_hh) dashed
    launch/plot.py norms LOG... [-o norms.png] [--tensors W_hh,V_hh,...]
    launch/plot.py fig3 LOG... [-o fig3.png]                  per configuration: update norms
                                                              and rho (top), cost (bottom)
    launch/plot.py angle LOG... [-o angle.png]                Fig. 5: angle TPTT vs BPTT dW_hh
    launch/plot.py layers LOG... [-o layers.png] [--at 100,2000,...] [--count 5]
                                 [--vs step|iteration] [--every K] [--linear]
                                                              Fig. 6: per-step G / F losses
    launch/plot.py tmax curriculum.csv [-o tmax.png] [--paper]  t_max bars per task/algorithm
    launch/plot.py all INPUT... [--out-dir DIR]               every figure the inputs support
    launch/plot.py csv-table out/ablation/runs.csv [--task temporal]
    launch/plot.py fig8 out/ablation/runs.csv [--out-dir out/ablation] [--logy]
    launch/plot.py csv-build --logs out/ablation/logs --csv out/ablation/runs.csv

What each figure reads from a log's check records: cost ("cost"), curves ("cost", "val_error"),
rho ("rho_whh", "rho_vhh"), norms and fig3 ("update_norm": {"W_xh": ..}, "rho_whh", "cost"),
angle ("diagnostics": {"angle_whh_deg", and "angle_wxh_deg" for tptt_hx, dashed}), layers
("diagnostics": {"loss_g_steps": [..], "loss_f_steps": [..]}, entry t-1 = step t; with
--vs iteration one line per step against the iteration, plus the global cost as in the
paper's Fig. 6). The "diagnostics" object is written by `tptt train --diagnostics`; an angle is
null when undefined (a zero gradient) and is left out of the curve. layers draws one row per
log; by default at --count check iterations spread over the run (first and last included).

tmax reads a CSV with columns task, algorithm, t_max (one row per curriculum run; several rows
of one task and algorithm give the mean with a min-max bar), when present capped (true: the
search stopped at --length-cap, so t_max is a lower bound, drawn as "≥ N (cap)" with an arrow) and
paper_t_max;
--paper fills in the paper's Table 1 / A1 values where that column is absent or empty.

all sorts its inputs: *.csv with a t_max column -> tmax.png; logs -> curves.png, rho.png,
norms.png, fig3.png, and angle.png / layers.png when the logs carry diagnostics.

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_trace  # noqa: E402  (launch/plot_trace.py, next to this file)

CSV_FIELDS = ["task", "length", "algorithm", "schedule", "p_g", "ranks", "sync", "staleness",
              "mode", "threads", "seed", "solved", "solved_at", "best_error", "iterations", "wall_s",
              "log", "stop_reason", "status", "g_updates", "f_updates", "train_s", "simulated"]


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
            "mode": mode_label(r),
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


def mode_label(run):
    """What ran, as tptt labels it (exact, pipelined(M), stale(S), decoupled, decoupled+stale(S));
    rebuilt from the separate fields of logs written before tptt printed the label itself."""
    mode = run.get("mode")
    if not mode or mode in ("exact", "pipelined", "stale"):
        sync = run.get("sync", mode) or "exact"
        if sync == "pipelined":
            mode = f"pipelined({run.get('micro_batches', '?')})"
        elif sync == "stale":
            mode = f"stale({run.get('staleness', '?')})"
        else:
            mode = "exact"
        if run.get("decoupled"):
            mode = "decoupled" if mode == "exact" else "decoupled+" + mode
    return mode


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
        mode = k.get("mode") or "exact"
        if ranks > 1 or varies.get("ranks") or varies.get("mode") or mode != "exact":
            parts.append(f"K={ranks} {mode}")
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
        elif g == x1:  # exact, even next to a missing (nan) value
            out.append(ys[j + 1])
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
               colours=None, mark_solved=False, with_label=True, positive=False, marker=None,
               seeds_in_label=True):
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
        if with_label and seeds_in_label and len(runs) > 1:
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
    import matplotlib.pyplot as plt
    plt.close(fig)


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
    save(fig, args.out, args.dpi, plt)


def save(fig, out, dpi, plt):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=dpi)
    print(f"plot: wrote {out}")
    plt.close(fig)


def usable_groups(logs):
    groups = group_runs(logs)
    if not groups:
        sys.exit("plot: no usable logs")
    return groups


def has_field(groups, field):
    """Whether any record of any run has a finite value at field (dotted path)."""
    for _, runs in groups:
        for r in runs:
            _, ys = r.series(field)
            if any(math.isfinite(v) for v in ys):
                return True
    return False


def x_label(x):
    return {"iteration": "iteration", "f_updates": "F updates", "elapsed_s": "seconds"}.get(x, x)


def cmd_curves(args):
    """Train cost (top) and validation error (bottom) of several logs, overlaid."""
    plt = pyplot()
    groups = usable_groups(args.logs)
    label_of = label_maker([k for k, _ in groups])
    colours = colour_cycle(plt)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(args.width, args.height * 1.5), sharex=True)
    draw_field(top, groups, "cost", x=args.x, per_seed=args.per_seed, label_of=label_of,
               colours=colours, mark_solved=True, positive=args.logy)
    draw_field(bottom, groups, "val_error", x=args.x, per_seed=args.per_seed, label_of=label_of,
               colours=colours, mark_solved=True, positive=args.logy, with_label=False)
    for ax, what in ((top, "training cost (mean since previous check)"),
                     (bottom, "validation error")):
        if args.logy:
            ax.set_yscale("log")
        ax.set_ylabel(what)
        ax.grid(True, alpha=0.3, which="both")
    bottom.set_xlabel(x_label(args.x))
    if top.get_legend_handles_labels()[0]:
        top.legend(fontsize=8, loc="best", framealpha=0.85)
    top.set_title(args.title or title_of(groups, "Cost and validation error"), fontsize=10)
    fig.tight_layout()
    save(fig, args.out, args.dpi, plt)


def cmd_fig3(args):
    """Paper Fig. 3: per configuration (one column each) the update norms of each tensor and
    the spectral radii on a second axis (top), and the cost (bottom)."""
    plt = pyplot()
    groups = usable_groups(args.logs)
    if len(groups) > args.max_columns:
        print(f"plot: fig3: {len(groups)} configurations, drawing the first {args.max_columns}",
              file=sys.stderr)
        groups = groups[: args.max_columns]
    label_of = label_maker([k for k, _ in groups])
    tensors = [t for t in args.tensors.split(",") if t]
    colours = colour_cycle(plt)
    n = len(groups)
    fig, axes = plt.subplots(2, n, figsize=(max(args.width, 4.2 * n), args.height * 1.5),
                             squeeze=False, sharex="col")
    for c, (k, runs) in enumerate(groups):
        top, bottom = axes[0][c], axes[1][c]
        one = [(k, runs)]
        for i, t in enumerate(tensors):
            if not has_field(one, "update_norm." + t) or all(
                    v <= 0 for r in runs for v in r.series("update_norm." + t)[1] if math.isfinite(v)):
                continue  # a tensor this algorithm never updates (V_hh under BPTT)
            draw_field(top, one, "update_norm." + t, x=args.x, per_seed=args.per_seed,
                       label_of=lambda _k, t=t: f"‖Δ{t}‖", colours=[colours[i % len(colours)]],
                       positive=True, seeds_in_label=False)
        top.set_yscale("log")
        top.set_ylabel("update norm")
        rho_ax = top.twinx()
        draw_field(rho_ax, one, "rho_whh", x=args.x, per_seed=args.per_seed,
                   label_of=lambda _k: "ρ(W_hh)", colours=["black"], style="--",
                   seeds_in_label=False)
        if k.get("algorithm") != "bptt" and has_field(one, "rho_vhh"):
            draw_field(rho_ax, one, "rho_vhh", x=args.x, per_seed=args.per_seed,
                       label_of=lambda _k: "ρ(V_hh)", colours=["grey"], style=":",
                       seeds_in_label=False)
        rho_ax.set_ylabel("spectral radius")
        h1, l1 = top.get_legend_handles_labels()
        h2, l2 = rho_ax.get_legend_handles_labels()
        if h1 or h2:
            top.legend(h1 + h2, l1 + l2, fontsize=7, loc="best", framealpha=0.85)
        top.grid(True, alpha=0.3, which="both")
        top.set_title(label_of(k) + (f" ({len(runs)} seeds)" if len(runs) > 1 else ""), fontsize=9)
        draw_field(bottom, one, "cost", x=args.x, per_seed=args.per_seed, label_of=label_of,
                   colours=[colours[0]], mark_solved=True, with_label=False)
        bottom.set_ylabel("cost E")
        bottom.set_xlabel(x_label(args.x))
        bottom.grid(True, alpha=0.3, which="both")
    fig.suptitle(args.title or title_of(groups, "Update norms, spectral radius and cost"), fontsize=10)
    fig.tight_layout()
    save(fig, args.out, args.dpi, plt)


def cmd_angle(args):
    """Paper Fig. 5: angle between the TPTT and the BPTT W_hh gradient of the check's minibatch."""
    plt = pyplot()
    groups = usable_groups(args.logs)
    groups = [g for g in groups if has_field([g], "diagnostics.angle_whh_deg")]
    if not groups:
        sys.exit("plot: angle: no log has diagnostics.angle_whh_deg (train with --diagnostics)")
    label_of = label_maker([k for k, _ in groups])
    colours = colour_cycle(plt)
    fig, ax = plt.subplots(figsize=(args.width, args.height))
    draw_field(ax, groups, "diagnostics.angle_whh_deg", x=args.x, per_seed=args.per_seed,
               label_of=label_of, colours=colours, marker=".")
    with_wxh = has_field(groups, "diagnostics.angle_wxh_deg")
    if with_wxh:
        draw_field(ax, groups, "diagnostics.angle_wxh_deg", x=args.x, per_seed=args.per_seed,
                   style="--", label_of=label_of, colours=colours, with_label=False)
    ax.axhline(90, color="grey", lw=0.8, ls=":")
    ax.set_ylim(0, max(95, ax.get_ylim()[1]))
    ax.set_xlabel(x_label(args.x))
    ax.set_ylabel("angle (degrees)")
    what = "Angle between TPTT and BPTT ΔW_hh" + (" (dashed: ΔW_xh)" if with_wxh else "")
    ax.set_title(args.title or title_of(groups, what), fontsize=10)
    finish(fig, ax, args.out, args.dpi)


def diagnostic_records(run):
    """The run's check records that carry per-step losses: [(iteration, g_steps, f_steps, cost)]."""
    out = []
    for rec in run.records:
        d = rec.get("diagnostics")
        if isinstance(d, dict) and (d.get("loss_g_steps") or d.get("loss_f_steps")):
            out.append((rec.get("iteration"), d.get("loss_g_steps") or [], d.get("loss_f_steps") or [],
                        rec.get("cost")))
    return out


def pick_checks(recs, at, count):
    if at:
        wanted = [int(a) for a in at.split(",") if a.strip()]
        by_it = {r[0]: r for r in recs}
        picked = []
        for w in wanted:  # the nearest check to each requested iteration
            it = min(by_it, key=lambda i: abs(i - w))
            if by_it[it] not in picked:
                picked.append(by_it[it])
        return picked
    if len(recs) <= count:
        return recs
    idx = sorted({round(i * (len(recs) - 1) / (count - 1)) for i in range(count)}) if count > 1 else [len(recs) - 1]
    return [recs[i] for i in idx]


def positive_or_nan(vals):
    return [float(v) if v is not None and float(v) > 0 else float("nan") for v in vals]


def cmd_layers(args):
    """Paper Fig. 6: per-step (layer-wise) local losses of the G and F phases."""
    plt = pyplot()
    runs = []
    for p in args.logs:
        try:
            r = Run(p)
        except OSError as e:
            print(f"plot: cannot read {p}: {e}", file=sys.stderr)
            continue
        recs = diagnostic_records(r)
        if recs:
            runs.append((r, recs))
        else:
            print(f"plot: {p}: no diagnostics.loss_*_steps, left out", file=sys.stderr)
    if not runs:
        sys.exit("plot: layers: no log has per-step losses (train with --diagnostics)")
    if len(runs) > args.max_rows:
        print(f"plot: layers: {len(runs)} logs, drawing the first {args.max_rows}", file=sys.stderr)
        runs = runs[: args.max_rows]
    by_iteration = args.vs == "iteration"
    ncol = 3 if by_iteration else 2
    fig, axes = plt.subplots(len(runs), ncol, figsize=(args.width * ncol / 2, args.height * len(runs)),
                             squeeze=False)
    cmap = plt.get_cmap("viridis")
    for row, (r, recs) in enumerate(runs):
        c = r.config
        name = f"{c.get('algorithm', '?')} {c.get('task', '?')} T={c.get('length', '?')} " \
               f"({os.path.basename(r.path)})"
        ax_g, ax_f = axes[row][0], axes[row][1]
        if not by_iteration:
            picked = pick_checks(recs, args.at, args.count)
            for i, (it, g, f, _) in enumerate(picked):
                colour = cmap(i / max(1, len(picked) - 1))
                if g:
                    ax_g.plot(range(1, len(g) + 1), g if args.linear else positive_or_nan(g), "-",
                              color=colour, lw=1.3, label=f"iteration {it}")
                if f:
                    ax_f.plot(range(1, len(f) + 1), f if args.linear else positive_or_nan(f), "-",
                              color=colour, lw=1.3, label=f"iteration {it}")
            ax_g.set_xlabel("step t (G reconstructs h_{t-1}; t = 1 is h_0)")
            ax_f.set_xlabel("step t (h_t against its target)")
        else:
            steps = max(max(len(g), len(f)) for _, g, f, _ in recs)
            every = args.every or max(1, math.ceil(steps / 10))
            layers = list(range(1, steps + 1, every))
            if layers[-1] != steps:
                layers.append(steps)
            its = [rec[0] for rec in recs]
            for i, t in enumerate(layers):
                colour = cmap(i / max(1, len(layers) - 1))
                for ax, pos in ((ax_g, 1), (ax_f, 2)):
                    vals = [rec[pos][t - 1] if len(rec[pos]) >= t else None for rec in recs]
                    vals = [float("nan") if v is None else float(v) for v in vals] if args.linear \
                        else positive_or_nan(vals)
                    ax.plot(its, vals, "-", color=colour, lw=1.1, label=f"t = {t}")
            ax_e = axes[row][2]
            xs, ys = r.series("cost")
            ax_e.plot(xs, ys, "-", color="black", lw=1.3)
            ax_e.set_title("global cost E", fontsize=9)
            ax_e.set_xlabel("iteration")
            ax_e.grid(True, alpha=0.3, which="both")
            for ax in (ax_g, ax_f):
                ax.set_xlabel("iteration")
        for ax, what in ((ax_g, "G-phase loss per step (eq. 9)"), (ax_f, "F-phase loss per step (eq. 10)")):
            if not args.linear:
                ax.set_yscale("log")
            ax.set_title(f"{what}\n{name}" if ax is ax_g else what, fontsize=9)
            ax.set_ylabel("MSE over B·H")
            ax.grid(True, alpha=0.3, which="both")
        if ax_f.get_legend_handles_labels()[0]:
            ax_f.legend(fontsize=7, loc="best", framealpha=0.85, ncol=2 if by_iteration else 1)
    if args.title:
        fig.suptitle(args.title, fontsize=10)
    fig.tight_layout()
    save(fig, args.out, args.dpi, plt)


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
        row["mode"] = k.get("mode") or row["mode"]
        if r.config.get("seed") is not None:
            row["seed"] = r.config["seed"]
    s = r.summary if r else None
    if s:
        row["solved"] = "true" if s.get("solved") else "false"
        row["solved_at"] = "" if s.get("solved_at") is None else s["solved_at"]
        row["best_error"] = "" if s.get("best_error") is None else s["best_error"]
        row["iterations"] = s.get("iterations", "")
        row["stop_reason"] = s.get("stop_reason", "")
        if s.get("seconds") is not None:
            row["train_s"] = round(float(s["seconds"]), 3)  # the run's clock: simulated on a simulated cluster
            if row["wall_s"] == "":
                row["wall_s"] = row["train_s"]
    if r:
        row["simulated"] = r.run.get("simulated", "")
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
        "mode": row.get("mode") or mode_label({"sync": row.get("sync") or None,
                                               "staleness": row.get("staleness")}),
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
        wall = f"{sum(walls) / len(walls):.2f}" if walls else "—"
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


# Table 1 / A1 of the paper: t_max of each task and algorithm.
PAPER_TMAX = {
    ("temporal", "bptt"): 120, ("temporal", "tptt"): 150, ("temporal", "tptt_hx"): 210,
    ("temporal3", "bptt"): 70, ("temporal3", "tptt"): 150, ("temporal3", "tptt_hx"): 160,
    ("adding", "bptt"): 90, ("adding", "tptt"): 60, ("adding", "tptt_hx"): 60,
    ("perm", "bptt"): 70, ("perm", "tptt"): 300, ("perm", "tptt_hx"): 800,
}
TASK_ORDER = {"temporal": 0, "temporal3": 1, "adding": 2, "perm": 3, "mnist": 4}
ALGORITHM_ORDER = {"bptt": 0, "tptt": 1, "tptt_hx": 2}


def is_tmax_csv(path):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader(f), [])
    except OSError:
        return False
    return {"task", "algorithm", "t_max"} <= {h.strip() for h in header}


def cmd_tmax(args):
    """t_max of the curriculum (Table 1) as grouped bars: one group per task, one bar per
    algorithm; paper values as hatched bars beside ours."""
    rows = read_csv(args.csv)
    if not rows or "t_max" not in rows[0]:
        sys.exit(f"plot: tmax: {args.csv} has no t_max column")

    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    ours, paper, capped = {}, {}, set()
    for r in rows:
        k = (r.get("task", "").strip(), r.get("algorithm", "").strip())
        v = num(r.get("t_max"))
        if v is not None:
            ours.setdefault(k, []).append(v)
            if (r.get("capped") or "").strip().lower() == "true":
                capped.add(k)  # the search stopped at --length-cap: t_max is a lower bound
        pv = num(r.get("paper_t_max"))
        if pv is not None:
            paper[k] = pv
    if args.paper:
        for k in ours:
            if k not in paper and k in PAPER_TMAX:
                paper[k] = PAPER_TMAX[k]
    if not ours:
        sys.exit(f"plot: tmax: no t_max values in {args.csv}")
    tasks = sorted({k[0] for k in ours}, key=lambda t: (TASK_ORDER.get(t, 9), t))
    algos = sorted({k[1] for k in ours}, key=lambda a: (ALGORITHM_ORDER.get(a, 9), a))
    plt = pyplot()
    colours = colour_cycle(plt)
    with_paper = bool(paper)
    per_algo = 2 if with_paper else 1
    width = 0.8 / (len(algos) * per_algo)
    fig, ax = plt.subplots(figsize=(min(14.0, max(args.width, 0.5 * len(tasks) * len(algos) * per_algo)),
                                    args.height))
    for a_i, a in enumerate(algos):
        colour = colours[a_i % len(colours)]
        xs, means, tops, pxs, pvals, lower = [], [], [], [], [], []
        spread = []  # (x, mean, min, max) of bars over several runs
        for t_i, t in enumerate(tasks):
            x0 = t_i - 0.4 + width * (a_i * per_algo + 0.5)
            vals = ours.get((t, a))
            if vals:
                m = sum(vals) / len(vals)
                xs.append(x0)
                means.append(m)
                tops.append(max(vals))
                lower.append((t, a) in capped)
                if len(vals) > 1:
                    spread.append((x0, m, min(vals), max(vals)))
            if (t, a) in paper:
                pxs.append(x0 + width)
                pvals.append(paper[(t, a)])
        bars = ax.bar(xs, means, width, color=colour, label=a)
        for x, m, lo, hi in spread:  # mean of several runs: min-max bar
            ax.errorbar([x], [m], yerr=[[m - lo], [hi - m]], color="black", capsize=3, lw=1)
        for b, m, top, low in zip(bars, means, tops, lower):
            x = b.get_x() + b.get_width() / 2
            if low:  # a lower bound, not a failure: open top, an arrow up and "≥ N (cap)"
                b.set_linestyle("--")
                b.set_edgecolor("black")
                ax.annotate("", (x, top * 1.12), xytext=(x, top), arrowprops=dict(arrowstyle="->", lw=1.2))
            ax.annotate(f"≥ {m:g} (cap)" if low else f"{m:g}", (x, top * (1.12 if low else 1)), ha="center",
                        va="bottom", fontsize=7, xytext=(0, 2), textcoords="offset points")
        if pvals:
            pb = ax.bar(pxs, pvals, width, color=colour, alpha=0.35, hatch="//", edgecolor=colour,
                        label=f"{a} (paper)")
            for b, m in zip(pb, pvals):
                ax.annotate(f"{m:g}", (b.get_x() + b.get_width() / 2, m), ha="center", va="bottom",
                            fontsize=7, xytext=(0, 2), textcoords="offset points", color="dimgrey")
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels(tasks)
    ax.set_ylabel("t_max (largest T solved)")
    if args.logy:
        ax.set_yscale("log")
    ax.set_title(args.title or "Curriculum: t_max per task and algorithm"
                 + (" (hatched: paper)" if with_paper else "")
                 + (" (≥: stopped at the length cap, a lower bound)" if capped else ""), fontsize=10)
    ax.grid(True, axis="y", alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best", framealpha=0.85, ncol=2 if with_paper else 1)
    fig.tight_layout()
    save(fig, args.out, args.dpi, plt)


# ----------------------------------------------------------------------------- main

def cmd_scaling(args):
    """Iterations per second against ranks, a line per thread count (launch/scaling.sh's
    scaling.csv), with the performance model's predictions (model.csv) dashed."""
    rows = read_csv(args.csv)
    if not rows or "iterations_per_s" not in rows[0]:
        sys.exit(f"plot: scaling: {args.csv} has no iterations_per_s column")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for t in sorted({int(r["threads"]) for r in rows}):
        pts = sorted((int(r["ranks"]), float(r["iterations_per_s"])) for r in rows if int(r["threads"]) == t)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=f"measured, {t} thread(s) per rank")
    if args.model:
        model = [r for r in read_csv(args.model) if r.get("predicted_it_per_s")]
        ax.plot([int(r["ranks"]) for r in model], [float(r["predicted_it_per_s"]) for r in model], "--", marker=".",
                label="model, 1 thread per rank")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("ranks K")
    ax.set_ylabel("iterations / s")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.o, dpi=120)
    print(f"wrote {args.o}")


def cmd_all(args):
    """Every figure the inputs support, into --out-dir (see the module docstring)."""
    csvs = [i for i in args.inputs if i.endswith(".csv")]
    logs = [i for i in args.inputs if not i.endswith(".csv")]
    made = 0
    for c in csvs:
        if is_tmax_csv(c):
            name = "tmax.png" if len(csvs) == 1 else f"tmax-{os.path.splitext(os.path.basename(c))[0]}.png"
            main(["tmax", c, "-o", os.path.join(args.out_dir, name)] + (["--paper"] if args.paper else []))
            made += 1
        else:
            print(f"plot: all: {c} has no task,algorithm,t_max columns, left out", file=sys.stderr)
    if logs:
        groups = group_runs(logs)
        usable = [r.path for _, runs in groups for r in runs]
        if usable:
            out = lambda n: ["-o", os.path.join(args.out_dir, n)]
            for cmd in ("curves", "rho", "norms", "fig3"):
                main([cmd] + usable + out(cmd + ".png"))
                made += 1
            if has_field(groups, "diagnostics.angle_whh_deg"):
                main(["angle"] + usable + out("angle.png"))
                made += 1
            with_steps = [r.path for _, runs in groups for r in runs if diagnostic_records(r)]
            if with_steps:
                main(["layers"] + with_steps + out("layers.png"))
                made += 1
    if not made:
        sys.exit("plot: all: nothing to draw from the inputs")


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

    p = sub.add_parser("curves", help="train cost (top) and validation error (bottom), overlaid")
    p.add_argument("logs", nargs="+")
    figure_opts(p, "curves.png")
    p.add_argument("--logy", action="store_true", help="logarithmic y axes")
    p.set_defaults(func=cmd_curves)

    p = sub.add_parser("fig3", help="paper Fig. 3: update norms + rho (top), cost (bottom) per "
                                    "configuration")
    p.add_argument("logs", nargs="+")
    figure_opts(p, "fig3.png")
    p.add_argument("--tensors", default="W_xh,W_hh,W_hy,V_hh",
                   help="comma-separated update_norm keys (default %(default)s)")
    p.add_argument("--max-columns", type=int, default=4, help="configurations drawn (default 4)")
    p.set_defaults(func=cmd_fig3)

    p = sub.add_parser("angle", help="paper Fig. 5: angle between TPTT and BPTT dW_hh "
                                     "(diagnostics.angle_whh_deg)")
    p.add_argument("logs", nargs="+")
    figure_opts(p, "angle.png")
    p.set_defaults(func=cmd_angle)

    p = sub.add_parser("layers", help="paper Fig. 6: per-step G / F local losses "
                                      "(diagnostics.loss_g_steps, loss_f_steps)")
    p.add_argument("logs", nargs="+")
    p.add_argument("-o", "--out", default="layers.png", help="PNG file (default %(default)s)")
    p.add_argument("--vs", choices=("step", "iteration"), default="step",
                   help="step: loss against t at a few checks (default); iteration: one line per "
                        "step against the iteration, plus the global cost (the paper's layout)")
    p.add_argument("--at", default=None,
                   help="comma-separated iterations to draw (the nearest checks); --vs step")
    p.add_argument("--count", type=int, default=5,
                   help="checks spread over the run when --at is not given (default %(default)s)")
    p.add_argument("--every", type=int, default=0,
                   help="--vs iteration: every K-th step (default: at most about 10 lines)")
    p.add_argument("--linear", action="store_true", help="linear y axes (default logarithmic)")
    p.add_argument("--max-rows", type=int, default=4, help="logs drawn, one row each (default 4)")
    p.add_argument("--title", default=None)
    p.add_argument("--width", type=float, default=7.5)
    p.add_argument("--height", type=float, default=3.6)
    p.add_argument("--dpi", type=int, default=100)
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("tmax", help="t_max bars per task and algorithm from a curriculum CSV "
                                    "(columns task,algorithm,t_max[,paper_t_max])")
    p.add_argument("csv")
    p.add_argument("-o", "--out", default="tmax.png", help="PNG file (default %(default)s)")
    p.add_argument("--paper", action="store_true",
                   help="add the paper's Table 1/A1 values where the CSV has no paper_t_max")
    p.add_argument("--logy", action="store_true", help="logarithmic y axis")
    p.add_argument("--title", default=None)
    p.add_argument("--width", type=float, default=7.5)
    p.add_argument("--height", type=float, default=4.6)
    p.add_argument("--dpi", type=int, default=100)
    p.set_defaults(func=cmd_tmax)

    p = sub.add_parser("all", help="every figure the inputs support (logs and/or a t_max CSV)")
    p.add_argument("inputs", nargs="+", help="metrics logs (*.jsonl) and curriculum CSVs (*.csv)")
    p.add_argument("--out-dir", default="out/figures", help="(default %(default)s)")
    p.add_argument("--paper", action="store_true", help="tmax: add the paper's values")
    p.set_defaults(func=cmd_all)

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

    plot_trace.add_parser(sub, pyplot)

    p = sub.add_parser("scaling", help="iterations/s against ranks (launch/scaling.sh) with the model's predictions")
    p.add_argument("csv", help="scaling.csv")
    p.add_argument("--model", help="model.csv of launch/perf_model.py")
    p.add_argument("-o", default="scaling.png")
    p.set_defaults(func=cmd_scaling)

    p = sub.add_parser("csv-build", help="(used by ablation.sh) rebuild runs.csv from the logs")
    p.add_argument("--logs", required=True)
    p.add_argument("--csv", required=True)
    p.set_defaults(func=cmd_csv_build)

    args = ap.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
