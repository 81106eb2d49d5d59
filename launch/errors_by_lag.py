#!/usr/bin/env python3
"""The errors of a temporal/temporal3 model at one length (docs/generalisation.md §3).

usage: launch/errors_by_lag.py ERRORS.csv LENGTH [--bin 5]

ERRORS.csv is the file of `tptt eval --length LENGTH --errors ERRORS.csv` (one row per
misclassified sequence: label, predicted, the markers as 1-based step:symbol). Prints, among
the misclassified sequences: how often each class goes to its most frequent wrong classes, how
often the bit of each marker is inverted (bit m of the class is the symbol of marker m), and
that rate by the marker's lag to the end of the sequence (LENGTH - step), in bins.
"""
import argparse
import collections
import csv
import sys


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("errors")
    p.add_argument("length", type=int)
    p.add_argument("--bin", type=int, default=5)
    a = p.parse_args()
    rows = list(csv.DictReader(open(a.errors)))
    if not rows:
        print("no misclassified sequences")
        return 0
    markers = len(rows[0]["markers"].split())
    print(f"{len(rows)} misclassified sequences, {markers} markers each")
    pairs = collections.Counter((int(r["label"]), int(r["predicted"])) for r in rows)
    for label in sorted({lab for lab, _ in pairs}):
        total = sum(n for (lab, _), n in pairs.items() if lab == label)
        top = sorted(((n, pr) for (lab, pr), n in pairs.items() if lab == label), reverse=True)[:2]
        goes = ", ".join(f"{pr:0{markers}b} {n}" for n, pr in top)
        print(f"class {label:0{markers}b}: {total} wrong, predicted as {goes}")
    for m in range(markers):
        flipped = [((int(r["label"]) >> m) & 1) != ((int(r["predicted"]) >> m) & 1) for r in rows]
        by_lag = collections.defaultdict(lambda: [0, 0])
        for r, f in zip(rows, flipped):
            step = int(r["markers"].split()[m].split(":")[0])
            b = by_lag[(a.length - step) // a.bin * a.bin]
            b[0] += f
            b[1] += 1
        lags = " ".join(f"{lo}-{lo + a.bin - 1}: {100 * f / n:.0f}%" for lo, (f, n) in sorted(by_lag.items()))
        print(f"marker {m + 1} (bit {m}): inverted in {sum(flipped)} of {len(rows)}; by lag to the end: {lags}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
