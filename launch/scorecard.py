#!/usr/bin/env python3
"""Regenerates the scorecard of docs/results.md from the runs' JSON summaries.

usage: launch/scorecard.py [--collect DIR] [--runs DIR ...] [--known FILE] [--doc FILE]
                           [--runs-doc FILE] [--print] [--verify] [--check]

--collect DIR copies the summaries launch/depth_claims.sh wrote (its OUT/summaries) into
docs/runs/, the archive in the repository that the tables are built from (default --runs).
--verify writes nothing and exits 1 when a document is out of date with the archive (ctest
`scorecard` runs it, so that no number in the scorecard is copied by hand).

--runs-doc FILE (default docs/generalisation.md) also regenerates the block between
`<!-- runs:begin -->` and `<!-- runs:end -->` of FILE: one row per train summary (table, task,
algorithm, T, seed, solved at, best error, wall time, accuracy at T = 200 where evaluated,
command).

The scorecard is the block between `<!-- scorecard:begin -->` and `<!-- scorecard:end -->` of
docs/results.md: one markdown table, Table | Task | Algorithm | Paper | Ours | Met | Section,
with a row for every cell of the paper's Tables 1 (and A1), 2 (and A3), 4 (and 5) and 6/7.

Where the numbers come from, per cell:
  1. Run summaries under the --runs directories (searched recursively; default docs/runs): every line of a *.json or *.jsonl file that is the one-line
     JSON summary `tptt train` prints (it has "result") or `tptt eval` prints (it has
     "trained_length"). The command that produced a summary is read from a sibling file with
     the same name and the extension .cmd (launch/depth_claims.sh writes both); options that
     the summary does not carry (--lr, --clip, --alpha-*) come from it.
  2. Otherwise the cell's entry in docs/scorecard_known.json (value, met, section, command):
     results obtained earlier by the commands the entries name.
  3. Otherwise "not run".

Which runs count for a cell, and when it is met (a train summary counts for Table 1 when it lies
under a directory named table1 or bisect, and, for a cell that has such runs, under table2 or table4
when it solved: a fresh model solved at the paper's budget is a depth point too; for Table 2 under
table1 or table2):
  Table 1 (t_max)     train runs of the task and algorithm at the paper's rates, no --clip;
                      ours = the largest T any seed solved; met when that T >= the paper's
                      t_max. Runs with --clip are listed after it.
  Table 2 (iterations) train runs at the table's T with the common model's rates; ours = the
                      median iteration of the solving seeds (every seed listed); met when all
                      seeds solved and the median <= the paper's.
  Table 4 (accuracy %) `tptt eval` at T = 200 of a model trained at T = 100; ours = the mean
                      accuracy over seeds; met when it is >= the paper's minus 2 points.
  Tables 6/7 (test accuracy %) train runs of task mnist (accuracy = 1 - best error) or known.

--check runs a self-test on a fake summary directory and a fake document and exits 0 when the
regenerated table holds the expected cells (no tptt binary needed).
"""
import argparse
import json
import os
import re
import shlex
import statistics
import sys
import tempfile

BEGIN = "<!-- scorecard:begin -->"
END = "<!-- scorecard:end -->"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ARCHIVE = os.path.join(ROOT, "docs", "runs")  # the runs' summaries the tables are built from

# The common models of the paper (docs/method.md): rates each table's runs must use.
COMMON = {
    "tptt": {"alpha_i": 0.1, "alpha_f": 0.01, "alpha_g": 0.001},
    "tptt_adding": {"alpha_i": 0.5, "alpha_f": 0.02, "alpha_g": 0.07},
    "tptt_hx": {"alpha_i": 0.1, "alpha_f": 0.2, "alpha_g": 0.01},
    "tptt_hx_adding": {"alpha_i": 0.02, "alpha_f": 0.01, "alpha_g": 0.05},
    "bptt": {"lr": 1e-4},
    "lstm": {},  # the rate of the paper's Table 5 per task: any --lr counts
}
# The one row of the paper's Table A2 (TPTT_hx) that is legible: temporal order's rates.
TPTT_HX_A2 = {"alpha_i": 0.1, "alpha_f": 0.01, "alpha_g": 0.01}
# BPTT's rate in the paper's Table 1 (its Table 4 uses the same).
BPTT_PAPER_LR = {"temporal": 1e-5, "temporal3": 1e-5, "adding": 1e-3, "perm": 1e-2}
DEFAULTS = {"alpha_i": 0.1, "alpha_f": 0.01, "alpha_g": 0.001, "lr": 0.001, "clip": 0.0}

# Every cell of the paper's tables: (table, task, algorithm, paper value, kind, T or H).
TASKS = ["temporal", "temporal3", "adding", "perm"]
CELLS = []
for task, (b, t, hx) in zip(TASKS, [(120, 150, 210), (70, 150, 160), (90, 60, 60), (70, 300, 800)]):
    CELLS += [("1", task, "bptt", b, "tmax", None), ("1", task, "tptt", t, "tmax", None),
              ("1", task, "tptt_hx", hx, "tmax", None)]
for task, T, (b, t, hx) in [("temporal", 120, (46500, 1600, 5800)), ("temporal3", 70, (56000, 1300, 13800)),
                            ("adding", 90, (18000, None, None)), ("perm", 70, (12200, 12700, 40300))]:
    CELLS += [("2", task, "bptt", b, "iters", T), ("2", task, "tptt", t, "iters", T),
              ("2", task, "tptt_hx", hx, "iters", T)]
for task, (b, t, lstm) in zip(TASKS, [(26.67, 45.76, 75.28), (13.65, 28.36, 29.03), (65.63, 66.23, 91.90),
                                      (51.52, 100.00, 50.54)]):
    CELLS += [("4", task, "bptt", b, "acc", None), ("4", task, "tptt", t, "acc", None),
              ("4", task, "lstm", lstm, "acc", None)]
CELLS += [("6", "mnist", "srnn_relu", 20.74, "mnist", 100), ("6", "mnist", "bptt", 34.20, "mnist", 100),
          ("6", "mnist", "lstm", 65.68, "mnist", 100), ("6", "mnist", "irnn", 97.20, "mnist", 100),
          ("6", "mnist", "tptt", 54.20, "mnist", 100)]
for H, acc in [(64, 49.49), (128, 53.28), (256, 54.60), (512, 56.77), (1024, 74.02)]:
    CELLS.append(("7", "mnist", "tptt", acc, "mnist", H))

TABLE_NAME = {"1": "1 / A1", "2": "2 / A3", "4": "4 / 5", "6": "6", "7": "7"}
DEFAULT_SECTION = {
    "1": ("generalisation.md", "Depth claims at the paper's budget"),
    "2": ("generalisation.md", "Depth claims at the paper's budget"),
    "4": ("generalisation.md", "Table 4 at the paper's budget"),
    "6": ("results.md", "Sequential MNIST (Tables 6 and 7)"),
    "7": ("results.md", "Sequential MNIST (Tables 6 and 7)"),
}


def anchor(title):
    """GitHub's anchor of a heading."""
    a = title.strip().lower()
    a = re.sub(r"[^\w\- ]", "", a, flags=re.UNICODE)
    return a.replace(" ", "-")


def options_of(command):
    """The options of a tptt command line that a summary does not carry."""
    opts = dict(DEFAULTS)
    opts["hidden"] = 100
    if not command:
        return opts
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    names = {"--alpha-i": "alpha_i", "--alpha-f": "alpha_f", "--alpha-g": "alpha_g", "--lr": "lr",
             "--clip": "clip", "-H": "hidden", "--hidden": "hidden"}
    for i, w in enumerate(words):
        name, value = (w.split("=", 1) + [None])[:2] if w.startswith("--") and "=" in w else (w, None)
        if name in names:
            if value is None and i + 1 < len(words):
                value = words[i + 1]
            try:
                opts[names[name]] = float(value)
            except (TypeError, ValueError):
                pass
    return opts


def load_runs(dirs):
    """(train summaries, eval summaries), each a list of dicts with "_command" and "_file" added."""
    trains, evals = [], []
    for top in dirs:
        for base, _, files in os.walk(top):
            for name in sorted(files):
                if not (name.endswith(".json") or name.endswith(".jsonl")):
                    continue
                path = os.path.join(base, name)
                cmd_path = re.sub(r"\.jsonl?$", ".cmd", path)
                command = open(cmd_path).read().strip() if os.path.exists(cmd_path) else ""
                try:
                    lines = open(path).read().splitlines()
                except OSError:
                    continue
                for line in lines:
                    line = line.strip()
                    if not line.startswith("{"):
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if not isinstance(obj, dict):
                        continue
                    obj["_command"] = obj.get("command", command) if isinstance(obj.get("command"), str) else command
                    obj["_file"] = path
                    if "trained_length" in obj and "accuracy" in obj:
                        # The training command of the evaluated model: NAME.cmd beside NAME.eval200.json.
                        train_cmd = re.sub(r"(\.best)?\.eval\d*\.jsonl?$", ".cmd", path)
                        obj["_model"] = "best" if re.search(r"\.best\.eval\d*\.jsonl?$", path) else "last"
                        obj["_train_file"] = re.sub(r"(\.best)?\.eval\d*\.jsonl?$", ".json", path)
                        obj["_train_command"] = (open(train_cmd).read().strip()
                                                 if train_cmd != path and os.path.exists(train_cmd) else "")
                        evals.append(obj)
                    elif isinstance(obj.get("result"), dict) and "task" in obj:
                        trains.append(obj)
    return trains, evals


def in_part(run, part):
    """Whether the summary file lies under a directory named `part` (table1, table2, table4)."""
    return part in os.path.normpath(run["_file"]).split(os.sep)[:-1]


def is_depth_claim(run):
    """Whether a train summary is a Table 1 run: a cell at a chosen T, or a probe of a bisection."""
    return in_part(run, "table1") or in_part(run, "bisect")


def rate_group(options, algorithm, task):
    """Which of the cell's rate settings a run used: "common" (the rates the docs use for the
    algorithm), "paper" (BPTT at the paper's Table 1 rate of the task, where that differs), or
    None (other rates: the run does not count)."""
    if algorithm == "tptt":
        want = {"common": COMMON["tptt_adding" if task == "adding" else "tptt"]}
    elif algorithm == "tptt_hx":
        want = {"common": COMMON["tptt_hx_adding" if task == "adding" else "tptt_hx"], "a2": TPTT_HX_A2}
    elif algorithm == "bptt":
        want = {"common": COMMON["bptt"], "paper": {"lr": BPTT_PAPER_LR[task]}}
    else:
        want = {"common": COMMON.get(algorithm, {})}
    for group, rates in want.items():
        if all(abs(options[k] - v) <= 1e-12 * max(1.0, abs(v)) for k, v in rates.items()):
            return group
    return None


def rates_match(run, algorithm, task):
    return rate_group(options_of(run["_command"]), algorithm, task) is not None


def groups_of(items, algorithm, task, command_key):
    """[(label, items)] in display order: the common rates, the paper's BPTT rate, then --clip."""
    out = {}
    for it in items:
        o = options_of(it.get(command_key, ""))
        g = rate_group(o, algorithm, task)
        if g is None:
            continue
        key = (o["clip"] > 0, g)
        out.setdefault(key, []).append(it)
    labels = []
    for key in sorted(out, key=lambda k: (k[0], k[1] != "common")):
        clipped, g = key
        o = options_of(out[key][0].get(command_key, ""))
        label = ""
        if algorithm == "bptt":
            label = f"`--lr {fmt_rate(o['lr'])}`" + (" (the paper's)" if g == "paper" else "")
        if algorithm == "tptt_hx":
            label = f"α_f = {o['alpha_f']:g}, α_g = {o['alpha_g']:g}" + (
                " (Table A2)" if g == "a2" else " (the appendix's adding rates)" if task == "adding" else " (Table A3)")
        if clipped:
            label = (label + " " if label else "") + f"`--clip {o['clip']:g}`"
        labels.append((label, clipped, out[key]))
    return labels


def fmt_rate(v):
    """A learning rate as the launch scripts write it: a power of ten below 1 as 1e-N, else %g."""
    power = f"{v:.0e}".replace("e-0", "e-")
    return power if 0 < v < 1 and power.startswith("1e") and float(power) == v else f"{v:g}"


def fmt_int(n):
    return f"{int(n):,}"


def seed_list(runs):
    return sorted(runs, key=lambda r: r.get("seed", 0))


def unsolved_text(res):
    """How a run that did not solve ended: its best error, and why and where it stopped."""
    why = {"nonfinite_cost": "diverged", "spectral_radius": "diverged", "no_improvement": "patience",
           "max_iterations": "budget", "interrupted": "interrupted"}.get(res.get("stop_reason"), res.get("stop_reason"))
    if why == "interrupted":
        why = "stopped by hand"
    return f"best {res.get('best_error', 1) * 100:.2f}%, {why} at {fmt_int(res.get('iterations', 0))}"


def ours_tmax(runs, paper, algorithm, task):
    """Table 1 from train runs at chosen T: ours = the largest T solved without --clip, over the
    rate settings; each setting's runs listed (seed, iteration solved or best error)."""
    parts, best = [], None
    for label, clipped, group in groups_of(runs, algorithm, task, "_command"):
        by_T = {}
        for r in group:
            by_T.setdefault(r["length"], []).append(r)
        texts = []
        for T in sorted(by_T):
            seeds, seen = [], set()
            for r in seed_list(by_T[T]):
                if r["seed"] in seen:  # the same run again for another table (a bisection probe at a Table 2 T)
                    continue
                seen.add(r["seed"])
                res = r["result"]
                if res.get("solved"):
                    seeds.append(f"s{r['seed']} {fmt_int(res['solved_at'])}")
                    if not clipped:
                        best = T if best is None else max(best, T)
                else:
                    seeds.append(f"s{r['seed']} ✗ ({unsolved_text(res)})")
            texts.append(f"T = {T}: " + ", ".join(seeds))
        parts.append((f"{label}: " if label else "") + "; ".join(texts))
    head = f"**{best}**" if best is not None else "—"
    return f"{head} ({'; '.join(parts)})", best is not None and best >= paper


def ours_iters(runs, paper):
    seeds = seed_list(runs)
    solved = [r["result"]["solved_at"] for r in seeds if r["result"].get("solved")]
    listing = ", ".join(fmt_int(r["result"]["solved_at"]) if r["result"].get("solved") else "✗" for r in seeds)
    if not solved:
        return f"not solved ({listing}; seeds {', '.join(str(r['seed']) for r in seeds)})", False
    med = statistics.median(solved)
    met = paper is not None and len(solved) == len(seeds) and med <= paper
    return f"**{fmt_int(med)}** ({listing})", met


def ours_acc(evals, paper, algorithm, task):
    """Mean accuracy over seeds of the first rate setting (BPTT: the paper's rate where run, as
    the paper's Table 4 uses it), without --clip; the other settings listed after."""
    parts, mean = [], None
    groups = groups_of(evals, algorithm, task, "_train_command")
    if algorithm == "bptt":  # the paper's Table 4 trains BPTT at its Table 1 rate
        groups.sort(key=lambda g: (g[1], "paper" not in g[0]))
    for label, clipped, group in groups:
        seeds = seed_list(group)
        accs = [100.0 * e["accuracy"] for e in seeds]
        listing = ", ".join(f"{a:.2f}" for a in accs)
        seeds_txt = ",".join(str(e.get("seed", "?")) for e in seeds)
        m = sum(accs) / len(accs)
        if mean is None and not clipped:
            mean = m
            parts.append((f"{label}: " if label else "") + f"seeds {seeds_txt}: {listing}; n = {seeds[0].get('samples', '?'):,}")
        else:
            parts.append(f"{label}: {m:.2f} (seeds {seeds_txt}: {listing})")
    head = f"**{mean:.2f}**" if mean is not None else "—"
    return f"{head} ({'; '.join(parts)})", mean is not None and mean >= paper - 2.0


def build_rows(trains, evals, known):
    rows = []
    for table, task, algorithm, paper, kind, extra in CELLS:
        key = f"{table}/{task}/{algorithm}" + (f"/{extra}" if table == "7" else "")
        entry = known.get(key, {})
        doc, title = entry.get("doc", DEFAULT_SECTION[table][0]), entry.get("section", DEFAULT_SECTION[table][1])
        ours, met, source = None, None, None
        if kind == "tmax":
            runs = [r for r in trains if r["task"] == task and r["algorithm"] == algorithm and rates_match(r, algorithm, task)
                    and any(in_part(r, p) for p in ("table1", "bisect", "table2", "table4"))]
            if any(is_depth_claim(r) for r in runs):  # a depth claim was run: a T solved for Table 2 or 4 counts too
                runs = [r for r in runs if is_depth_claim(r) or r["result"].get("solved")]
                ours, met = ours_tmax(runs, paper, algorithm, task)
        elif kind == "iters":
            runs = [r for r in trains if r["task"] == task and r["algorithm"] == algorithm and r["length"] == extra
                    and options_of(r["_command"])["clip"] == 0 and (in_part(r, "table1") or in_part(r, "table2"))]
            # One entry per rate setting (BPTT: --lr 1e-4 and the paper's rate); met by any.
            texts = []
            for label, _, group in groups_of(runs, algorithm, task, "_command"):
                text, ok = ours_iters(group, paper)
                texts.append((f"{label}: " if label else "") + text)
                met = bool(met) or ok
            if texts:
                ours = "; ".join(texts)
        elif kind == "acc":
            ev = [e for e in evals if e["task"] == task and e["algorithm"] == algorithm and e["trained_length"] == 100
                  and e["length"] == 200]
            # The best model of a run where it was kept (--save-best), else its last.
            with_best = {e.get("_train_file") for e in ev if e.get("_model") == "best"}
            ev = [e for e in ev if e.get("_model") == "best" or e.get("_train_file") not in with_best]
            if ev:
                ours, met = ours_acc(ev, paper, algorithm, task)
        elif kind == "mnist":
            runs = [r for r in trains if r["task"] == "mnist" and r["algorithm"] == algorithm
                    and int(options_of(r["_command"])["hidden"]) == extra]
            if runs:
                best = max(100.0 * (1 - r["result"]["best_error"]) for r in runs)
                ours, met = f"**{best:.2f}** (best test accuracy of {len(runs)} run(s))", best >= paper - 2.0
        if ours is None and entry:
            ours, met, source = entry.get("ours", "—"), entry.get("met"), "known"
        elif ours is not None:
            source = "runs"
            doc, title = DEFAULT_SECTION[table]
        if ours is None:
            ours, met = "not run", None
        paper_txt = "—" if paper is None else (fmt_int(paper) if kind in ("tmax", "iters") else f"{paper:.2f}")
        label = {"bptt": "BPTT", "tptt": "TPTT", "tptt_hx": "TPTT_hx", "lstm": "LSTM", "srnn_relu": "SRNN (ReLU)",
                 "irnn": "IRNN"}[algorithm]
        if table == "6" and algorithm == "bptt":
            label = "SRNN (tanh, BPTT)"
        if table == "7":
            label += f" H = {extra}"
        if table == "2":
            task_txt = f"{task} T = {extra}"
        else:
            task_txt = task
        mark = met if isinstance(met, str) else {True: "✓", False: "✗", None: "—"}[met]
        section = f"[{title}]({doc}#{anchor(title)})"
        rows.append((TABLE_NAME[table], task_txt, label, paper_txt, ours, mark, section, source))
    return rows


def broken_links(rows, docs_dir):
    """The section links of the table whose document or heading does not exist."""
    broken = []
    for r in rows:
        m = re.search(r"\]\(([^#)]+)#([^)]+)\)", r[6])
        if not m:
            continue
        path = os.path.join(docs_dir, m.group(1))
        heads = ([anchor(l.lstrip("#")) for l in open(path).read().splitlines() if l.startswith("#")]
                 if os.path.exists(path) else [])
        if m.group(2) not in heads:
            broken.append(f"{m.group(1)}#{m.group(2)}")
    return sorted(set(broken))


def render(rows):
    out = ["| Table | Task | Algorithm | Paper | Ours | Met | Section |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append("| " + " | ".join(r[:7]) + " |")
    n_runs = sum(1 for r in rows if r[7] == "runs")
    n_known = sum(1 for r in rows if r[7] == "known")
    met = sum(1 for r in rows if r[5] == "✓")
    out.append("")
    out.append(f"{met} of {len(rows)} cells met; {n_runs} from run summaries, {n_known} from "
               "docs/scorecard_known.json, the rest not run. Regenerate with `launch/scorecard.py` "
               "(rules in its header).")
    return "\n".join(out)


def splice(doc_text, table, begin=BEGIN, end=END):
    if begin not in doc_text or end not in doc_text:
        raise SystemExit(f"scorecard: the document has no {begin} ... {end} block")
    head, rest = doc_text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{table}\n{end}{tail}"


RUNS_BEGIN, RUNS_END = "<!-- runs:begin -->", "<!-- runs:end -->"


# Options every depth-claim run has, left out of the runs table (its text names them).
COMMON_RUN_OPTIONS = {"--max-iterations": "100000", "--validation-samples": "10000", "--threads": "1"}
OUTPUT_OPTIONS = {"--checkpoint", "--checkpoint-every", "--save-best", "--log"}


def short_command(command):
    """The command without its outputs (--checkpoint, --save-best, --log ...), --no-progress and
    the options every run shares (COMMON_RUN_OPTIONS)."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    out, i = [], 0
    while i < len(words):
        w = words[i]
        if w in OUTPUT_OPTIONS or (w in COMMON_RUN_OPTIONS and i + 1 < len(words) and words[i + 1] == COMMON_RUN_OPTIONS[w]):
            i += 2
            continue
        if w == "--no-progress":
            i += 1
            continue
        out.append(w)
        i += 1
    return " ".join(out)


def render_runs(trains, evals):
    """One row per train summary, with the accuracy at T = 200 of its model where evaluated."""
    acc = {}  # by the train summary's path (NAME.json beside NAME[.best].eval200.json): {last, best}
    for e in evals:
        if e.get("length") == 200:
            acc.setdefault(e["_train_file"], {})[e["_model"]] = e
    part_of = lambda r: next((p for p in ("table1", "bisect", "table2", "table4") if in_part(r, p)), "—")
    order = {"table4": 0, "table1": 1, "bisect": 2, "table2": 3}
    rows = sorted(trains, key=lambda r: (order.get(part_of(r), 9), r["_file"]))
    out = ["| part | task | algorithm | T | seed | solved at | best error | wall (s) | accuracy at T = 200, last / best model | command |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        res = r["result"]
        solved = fmt_int(res["solved_at"]) if res.get("solved") else f"✗ ({res.get('stop_reason', '?')}, {fmt_int(res.get('iterations', 0))} it.)"
        e = acc.get(r["_file"], {})
        a = " / ".join(f"{100 * e[m]['accuracy']:.2f}%" if m in e else "—" for m in ("last", "best")) if e else "—"
        cmd = short_command(r["_command"]).replace("|", "\\|")
        out.append(f"| {part_of(r)} | {r['task']} | {r['algorithm']} | {r['length']} | {r.get('seed')} | {solved} | "
                   f"{100 * res.get('best_error', 1):.2f}% | {res.get('seconds', 0):.0f} | {a} | `{cmd}` |")
    return "\n".join(out)


def load_known(path):
    if not path or not os.path.exists(path):
        return {}
    data = json.load(open(path))
    return {c["cell"]: c for c in data.get("cells", [])}


def self_check():
    with tempfile.TemporaryDirectory() as tmp:
        runs = os.path.join(tmp, "runs")
        os.makedirs(os.path.join(runs, "t4"))
        os.makedirs(os.path.join(runs, "table1"))
        os.makedirs(os.path.join(runs, "table4"))

        def train(name, task, algo, T, seed, solved_at, cmd, best=0.0, part="table1"):
            res = {"solved": solved_at is not None, "solved_at": solved_at, "best_error": best, "final_error": best,
                   "iterations": solved_at or 100000, "seconds": 1.0, "stop_reason": "solved" if solved_at else "max_iterations"}
            with open(os.path.join(runs, part, name + ".json"), "w") as f:
                f.write(json.dumps({"algorithm": algo, "task": task, "length": T, "seed": seed, "result": res}) + "\n")
            with open(os.path.join(runs, part, name + ".cmd"), "w") as f:
                f.write(cmd)

        bptt = "tptt train --algorithm bptt --lr 1e-4 --task temporal -T 120"
        train("b1", "temporal", "bptt", 120, 1, 40000, bptt)
        train("b2", "temporal", "bptt", 120, 2, 50000, bptt)
        train("b3", "temporal", "bptt", 120, 3, None, bptt, best=0.5)
        train("bp1", "temporal", "bptt", 130, 1, 70000, "tptt train --algorithm bptt --lr 1e-5 --task temporal -T 130")
        train("a1", "adding", "tptt", 60, 1, 30000, "tptt train --task adding --alpha-i 0.5 --alpha-f 0.02 --alpha-g 0.07")
        train("a2", "adding", "tptt", 60, 1, None, "tptt train --task adding --alpha-i 0.1")  # other rates: ignored
        train("p1", "perm", "tptt", 100, 1, 6600, "tptt train --task perm -T 100", part="table4")  # not Table 1
        os.makedirs(os.path.join(runs, "bisect"))
        bperm = "tptt train --algorithm bptt --lr 1e-4 --task perm -T "
        train("q1", "perm", "bptt", 30, 1, 9000, bperm + "30", part="bisect")  # bisection probes count for Table 1
        train("q2", "perm", "bptt", 50, 1, None, bperm + "50", best=0.48, part="bisect")
        os.makedirs(os.path.join(runs, "table2"))
        train("q3", "perm", "bptt", 40, 1, 8000, bperm + "40", part="table2")  # solved for Table 2: a depth point
        train("q4", "perm", "bptt", 60, 1, None, bperm + "60", best=0.47, part="table2")  # not solved: not listed
        for seed, acc in [(1, 0.30), (2, 0.20), (3, 0.25)]:
            with open(os.path.join(runs, "t4", f"e{seed}.eval200.json"), "w") as f:
                f.write(json.dumps({"model": "m", "trained_length": 100, "length": 200, "samples": 10000,
                                    "accuracy": acc, "error": 1 - acc, "task": "temporal3", "algorithm": "tptt",
                                    "seed": seed}) + "\n")
        with open(os.path.join(runs, "t4", "e1.best.eval200.json"), "w") as f:  # seed 1's best model: it counts
            f.write(json.dumps({"model": "m", "trained_length": 100, "length": 200, "samples": 10000,
                                "accuracy": 0.31, "error": 0.69, "task": "temporal3", "algorithm": "tptt",
                                "seed": 1}) + "\n")
        with open(os.path.join(runs, "t4", "c1.eval200.json"), "w") as f:  # a model trained with --clip 1
            f.write(json.dumps({"model": "m", "trained_length": 100, "length": 200, "samples": 10000,
                                "accuracy": 0.9, "error": 0.1, "task": "temporal3", "algorithm": "tptt", "seed": 1}) + "\n")
        with open(os.path.join(runs, "t4", "c1.cmd"), "w") as f:
            f.write("tptt train --task temporal3 -T 100 --clip 1")
        with open(os.path.join(runs, "log.jsonl"), "w") as f:  # a metrics log: not a summary
            f.write('{"iteration":100,"val_error":0.5}\n')
        known = os.path.join(tmp, "known.json")
        json.dump({"cells": [{"cell": "1/temporal/tptt", "ours": "150 (seed 1)", "met": True,
                              "doc": "results.md", "section": "Table 1 at the paper's budget",
                              "command": "tptt curriculum --task temporal"}]}, open(known, "w"))
        doc = os.path.join(tmp, "results.md")
        open(doc, "w").write(f"# R\n\n{BEGIN}\nold\n{END}\n\nafter\n")
        trains, evals = load_runs([runs])
        assert len(trains) == 11 and len(evals) == 5, (len(trains), len(evals))
        rows = build_rows(trains, evals, load_known(known))
        byk = {(r[0], r[1], r[2]): r for r in rows}
        assert len(rows) == len(CELLS) == 12 + 12 + 12 + 5 + 5, len(rows)
        r = byk[("1 / A1", "temporal", "BPTT")]  # the paper's rate reached 130: the best of both rates
        assert r[4].startswith("**130** (`--lr 1e-4`: T = 120: s1 40,000") and r[5] == "✓", r
        assert "`--lr 1e-5` (the paper's): T = 130: s1 70,000" in r[4], r
        r = byk[("2 / A3", "temporal T = 120", "BPTT")]
        assert r[4].startswith("`--lr 1e-4`: **45,000**") and r[5] == "✗", r  # seed 3 not solved: not met
        r = byk[("1 / A1", "adding", "TPTT")]
        assert r[4].startswith("**60**") and "s1 30,000" in r[4] and r[5] == "✓", r
        r = byk[("4 / 5", "temporal3", "TPTT")]
        assert r[4].startswith("**25.33** (seeds 1,2,3: 31.00, 20.00, 25.00") and r[5] == "✗" and r[7] == "runs", r
        assert "`--clip 1`: 90.00 (seeds 1: 90.00)" in r[4], r
        r = byk[("1 / A1", "temporal", "TPTT")]
        assert r[4] == "150 (seed 1)" and r[5] == "✓" and r[7] == "known", r
        assert "results.md#table-1-at-the-papers-budget" in r[6], r
        r = byk[("1 / A1", "perm", "BPTT")]
        assert r[4].startswith("**40** (`--lr 1e-4`: T = 30: s1 9,000; T = 40: s1 8,000; T = 50: s1 ✗ (best 48.00%") \
            and "T = 60" not in r[4] and r[5] == "✗", r
        r = byk[("1 / A1", "perm", "TPTT")]
        assert r[4] == "not run", r  # a Table 4 run alone is no depth claim
        train("p3", "perm", "tptt", 300, 1, None, "tptt train --task perm -T 300", best=0.49)
        r = {(r[0], r[1], r[2]): r for r in build_rows(*load_runs([runs]), {})}[("1 / A1", "perm", "TPTT")]
        assert r[4].startswith("**100** (T = 100: s1 6,600; T = 300: s1 ✗") and r[5] == "✗", r  # but a depth point
        os.remove(os.path.join(runs, "table1", "p3.json"))
        r = byk[("7", "mnist", "TPTT H = 1024")]
        assert r[4] == "not run" and r[5] == "—", r
        text = splice(open(doc).read(), render(rows))
        assert text.startswith("# R\n\n" + BEGIN + "\n| Table |") and text.endswith(END + "\n\nafter\n"), text
        assert "old" not in text
        assert splice(text, render(rows)) == text  # idempotent
        runs_md = render_runs(trains, evals)
        assert runs_md.count("\n") == 2 + 11 - 1, runs_md  # header, rule, eleven train summaries
        assert "| bisect | perm | bptt | 30 | 1 | 9,000 |" in runs_md, runs_md
        assert "| table4 | perm | tptt | 100 | 1 | 6,600 |" in runs_md, runs_md
        assert short_command("tptt train --task adding -T 60 --max-iterations 100000 --threads 2 --no-progress "
                             "--checkpoint $OUT/a.ckpt --checkpoint-every 500 --save-best b --log c") == \
            "tptt train --task adding -T 60 --threads 2"
    print("scorecard: self-check passed")
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", action="append", help="directory of run summaries (repeatable)")
    p.add_argument("--known", default=os.path.join(ROOT, "docs", "scorecard_known.json"))
    p.add_argument("--doc", default=os.path.join(ROOT, "docs", "results.md"))
    p.add_argument("--print", action="store_true", help="print the table instead of writing --doc")
    p.add_argument("--check", action="store_true", help="self-test on a fake summary directory")
    p.add_argument("--runs-doc", default=os.path.join(ROOT, "docs", "generalisation.md"),
                   help="the file whose runs block is regenerated too ('' for none)")
    p.add_argument("--collect", metavar="DIR",
                   help="first copy the summaries (*.json, *.cmd) of DIR (launch/depth_claims.sh's OUT/summaries) "
                        "into docs/runs, the archive the tables are built from")
    p.add_argument("--verify", action="store_true",
                   help="write nothing; exit 1 when --doc or --runs-doc differs from what the summaries give")
    a = p.parse_args()
    if a.check:
        return self_check()
    if a.collect:
        collect(a.collect, ARCHIVE)
    dirs = a.runs or [ARCHIVE]
    trains, evals = load_runs([d for d in dirs if os.path.isdir(d)])
    rows = build_rows(trains, evals, load_known(a.known))
    table = render(rows)
    broken = broken_links(rows, os.path.dirname(os.path.abspath(a.doc)))
    if broken:
        print(f"scorecard: links to no heading: {', '.join(broken)} (fix --known's sections or the docs)", file=sys.stderr)
        return 1
    if a.print:
        print(table)
        return 0
    stale = []
    for path, block, begin, end in [(a.doc, table, BEGIN, END)] + (
            [(a.runs_doc, render_runs(trains, evals), RUNS_BEGIN, RUNS_END)] if a.runs_doc else []):
        text = open(path).read()
        new = splice(text, block, begin, end)
        if new != text and a.verify:
            stale.append(path)
        elif new != text:
            with open(path + ".tmp", "w") as f:
                f.write(new)
            os.replace(path + ".tmp", path)
    if stale:
        print(f"scorecard: out of date with the summaries: {', '.join(stale)} (run launch/scorecard.py)", file=sys.stderr)
        return 1
    print(f"scorecard: {a.doc}: {len(CELLS)} cells ({len(trains)} train and {len(evals)} eval summaries)", file=sys.stderr)
    return 0


def collect(source, archive):
    """Copies the summaries under source into archive (same relative paths), with the absolute
    paths of the machine they ran on (the eval summaries' "model") made relative to OUT."""
    out_dir = os.path.dirname(os.path.abspath(source.rstrip("/")))
    n = 0
    for base, _, files in os.walk(source):
        for name in files:
            if not (name.endswith(".json") or name.endswith(".cmd")):
                continue
            rel = os.path.relpath(os.path.join(base, name), source)
            text = open(os.path.join(base, name)).read().replace(out_dir + "/", "$OUT/")
            os.makedirs(os.path.dirname(os.path.join(archive, rel)), exist_ok=True)
            with open(os.path.join(archive, rel), "w") as f:
                f.write(text)
            n += 1
    print(f"scorecard: collected {n} files from {source} into {archive}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
