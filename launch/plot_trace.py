"""A run's timeline (tptt train --trace FILE) as a Gantt chart: one row per rank and thread,
one bar per span, waits hatched. Used by plot.py's `trace` command."""
import json


def cmd_trace(args, pyplot):
    with open(args.trace) as f:
        events = [e for e in json.load(f) if e.get("ph") == "X"]
    if not events:
        raise SystemExit(f"plot trace: no spans in {args.trace}")
    t0 = min(e["ts"] for e in events)
    lo, hi = (float(v) for v in args.window.split(":")) if args.window else (0.0, float("inf"))
    spans = [e for e in events if lo <= (e["ts"] - t0) / 1e3 <= hi]
    rows = sorted({(e["pid"], e["tid"]) for e in spans})
    names = sorted({e["name"] for e in spans})
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(args.width, 0.5 + 0.45 * len(rows)))
    colours = plt.get_cmap("tab20")
    colour = {n: colours(i % 20) for i, n in enumerate(names)}
    for e in spans:
        y = rows.index((e["pid"], e["tid"]))
        wait = e.get("cat") == "wait"
        ax.barh(y, e["dur"] / 1e3, left=(e["ts"] - t0) / 1e3, height=0.8, color="white" if wait else colour[e["name"]],
                edgecolor=colour[e["name"]], hatch="///" if wait else None, linewidth=0.6)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([f"rank {p} thread {t}" for p, t in rows])
    ax.invert_yaxis()
    ax.set_xlabel("ms")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[n]) for n in names]
    ax.legend(handles, names, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, frameon=False)
    ax.set_title(args.title or f"timeline: {args.trace} (hatched: waiting)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=args.dpi, bbox_inches="tight")
    print(f"wrote {args.out}")


def add_parser(sub, pyplot):
    p = sub.add_parser("trace", help="timeline of a --trace file: a row per rank and thread, waits hatched")
    p.add_argument("trace")
    p.add_argument("-o", "--out", default="trace.png")
    p.add_argument("--window", help="START:END in ms from the first span (default: everything)")
    p.add_argument("--title")
    p.add_argument("--width", type=float, default=10)
    p.add_argument("--dpi", type=int, default=100)
    p.set_defaults(func=lambda args: cmd_trace(args, pyplot))
