#!/usr/bin/env python3
"""Compare two tptt runs: final parameters (.npy from --save-params) and metrics logs (--log).

usage:
  compare_runs.py params A.npy B.npy [--rtol 1e-5] [--tensor-rtol 1e-3] [--layout I,H,O]
  compare_runs.py logs A.jsonl B.jsonl [--rtol 1e-5] [--update-rtol 1e-3]

params: normwise relative error max_i |a_i - b_i| / max_i |b_i| over the whole buffer must be
  <= --rtol. With --layout (the model's I,H,O) each tensor (W_xh, W_hh, b_h, W_hy, b_y, V_hh,
  c_h) is also checked against its own scale, max |a - b| / max |b| over the tensor, at the
  looser --tensor-rtol: float32 sums taken in a different order (K partial sums, then the
  all-reduce) differ by ~1e-7 of the *terms*, and a tensor whose terms cancel (b_h is ~1e-4
  after 20 TPTT iterations, made of terms 100x larger) shows that as ~5e-5 of its own scale.
logs: every check record must match in count and iteration; every numeric field (nested
  ones too) passes when |a - b| <= rtol * max(|a|, |b|) + 1e-12 — the costs (cost, val_cost,
  loss_g, loss_f), errors, spectral radii and update counts. update_norm.* is the norm of
  theta_after - theta_before of float32 parameters, a difference that cancels ~4 digits; it
  is checked at --update-rtol. Wall-clock fields (elapsed_s, iterations_per_s, seconds) and the
  process's peak memory (peak_rss_mib) are skipped. The summary line is compared the same way.
Exit status 0 when everything matches, 1 otherwise (the offenders are printed).
Needs only the Python standard library.
"""
import argparse
import json
import math
import struct
import sys

WALL_CLOCK = {"elapsed_s", "iterations_per_s", "seconds", "peak_rss_mib"}  # not compared


def load_npy(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY" or data[6] != 1:
        sys.exit(f"{path}: not a version-1 .npy file")
    hlen = data[8] | (data[9] << 8)
    header = data[10:10 + hlen].decode("latin1")
    if "'<f4'" not in header:
        sys.exit(f"{path}: not float32 ({header.strip()})")
    n = (len(data) - 10 - hlen) // 4
    return struct.unpack(f"<{n}f", data[10 + hlen:10 + hlen + 4 * n])


def tensor_ranges(layout, n):
    if not layout:
        return [("all", 0, n)]
    i, h, o = (int(v) for v in layout.split(","))
    sizes = [("W_xh", h * i), ("W_hh", h * h), ("b_h", h), ("W_hy", o * h), ("b_y", o), ("V_hh", h * h), ("c_h", h)]
    if sum(s for _, s in sizes) != n:
        sys.exit(f"--layout {layout} gives {sum(s for _, s in sizes)} parameters, the files hold {n}")
    ranges, start = [], 0
    for name, size in sizes:
        ranges.append((name, start, start + size))
        start += size
    return ranges


def compare_params(a_path, b_path, rtol, tensor_rtol, layout):
    a, b = load_npy(a_path), load_npy(b_path)
    if len(a) != len(b):
        print(f"FAIL: {a_path} has {len(a)} parameters, {b_path} {len(b)}")
        return False
    if not all(math.isfinite(v) for v in a + b):
        print("FAIL: non-finite parameters")
        return False
    scale = max((abs(v) for v in b), default=0.0)
    worst = max((abs(x - y) for x, y in zip(a, b)), default=0.0)
    rel = worst / scale if scale > 0 else (0.0 if worst == 0 else math.inf)
    ok = rel <= rtol
    print(f"{'ok  ' if ok else 'FAIL'} params: {len(a)} values, max |a-b| = {worst:.3g}, "
          f"normwise relative {rel:.3g} (limit {rtol})")
    if not layout:
        return ok
    for name, lo, hi in tensor_ranges(layout, len(a)):
        scale = max((abs(v) for v in b[lo:hi]), default=0.0)
        worst = max((abs(a[j] - b[j]) for j in range(lo, hi)), default=0.0)
        rel = worst / scale if scale > 0 else (0.0 if worst == 0 else math.inf)
        if rel > tensor_rtol:
            ok = False
        print(f"{'ok  ' if rel <= tensor_rtol else 'FAIL'}   {name}: max |a-b| = {worst:.3g}, "
              f"tensor scale {scale:.3g}, relative {rel:.3g} (limit {tensor_rtol})")
    return ok


def numeric_fields(record, prefix=""):
    for key, value in record.items():
        if isinstance(value, dict):
            yield from numeric_fields(value, prefix + key + ".")
        elif isinstance(value, bool):
            yield prefix + key, float(value)
        elif isinstance(value, (int, float)) and key not in WALL_CLOCK:
            yield prefix + key, float(value)


def load_log(path):
    with open(path) as f:
        lines = [json.loads(line) for line in f if line.strip()]
    checks = [r for r in lines if "iteration" in r]
    summary = next((r["summary"] for r in lines if "summary" in r), None)
    return checks, summary


def compare_logs(a_path, b_path, rtol, update_rtol):
    (ca, sa), (cb, sb) = load_log(a_path), load_log(b_path)
    if len(ca) != len(cb) or len(ca) == 0:
        print(f"FAIL: {a_path} has {len(ca)} check records, {b_path} {len(cb)}")
        return False
    pairs = list(zip(ca, cb))
    if sa is not None or sb is not None:
        if sa is None or sb is None:
            print("FAIL: only one log has a summary")
            return False
        pairs.append((sa, sb))
    ok, worst, worst_cost, compared = True, (0.0, ""), (0.0, ""), 0
    for ra, rb in pairs:
        fa, fb = dict(numeric_fields(ra)), dict(numeric_fields(rb))
        if fa.keys() != fb.keys():
            print(f"FAIL: record fields differ: {sorted(fa.keys() ^ fb.keys())}")
            return False
        where = f"iteration {ra.get('iteration', 'summary')}"
        for key in fa:
            x, y = fa[key], fb[key]
            compared += 1
            if x == y:
                continue
            rel = abs(x - y) / max(abs(x), abs(y))
            if rel > worst[0]:
                worst = (rel, f"{key} at {where}: {x!r} vs {y!r}")
            limit = update_rtol if key.startswith("update_norm.") else rtol
            if not (abs(x - y) <= limit * max(abs(x), abs(y)) + 1e-12):
                ok = False
                print(f"FAIL log {key} at {where}: {x!r} vs {y!r} (relative {rel:.3g} > {limit})")
            elif rel > worst_cost[0] and not key.startswith("update_norm."):
                worst_cost = (rel, f"{key} at {where}")
    print(f"{'ok  ' if ok else 'FAIL'} logs: {len(ca)} checks, {compared} values; worst relative: "
          f"{worst_cost[0]:.3g} outside update_norm" + (f" ({worst_cost[1]})" if worst_cost[1] else "")
          + f", {worst[0]:.3g} overall" + (f" ({worst[1]})" if worst[1] else ""))
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["params", "logs"])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--rtol", type=float, default=1e-5)
    p.add_argument("--tensor-rtol", type=float, default=1e-3)
    p.add_argument("--update-rtol", type=float, default=1e-3)
    p.add_argument("--layout", help="I,H,O of the model, to compare tensor by tensor too")
    args = p.parse_args()
    if args.what == "params":
        ok = compare_params(args.a, args.b, args.rtol, args.tensor_rtol, args.layout)
    else:
        ok = compare_logs(args.a, args.b, args.rtol, args.update_rtol)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
