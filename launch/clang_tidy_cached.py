#!/usr/bin/env python3
"""clang-tidy over the project's translation units of a compile_commands.json, in parallel, with
a result cache (launch/lint.sh runs it).

A translation unit's findings depend only on its preprocessed text, its compile command, the
.clang-tidy files and the clang-tidy version, so they are kept under CACHE_DIR keyed by a hash of
those: a later run analyses only the units whose text changed (preprocessing costs about a
second, analysing a unit that includes Eigen a minute of CPU). Prints every finding (a header's
once) and exits 1 when there is any, 0 otherwise.

usage: clang_tidy_cached.py --build DIR --repo DIR --cache DIR [--jobs N] [--clang-tidy EXE]
"""
import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

OWN_FOLDERS = ("include", "src", "tests", "fuzz")
FINDING = re.compile(r"^(/[^:]+):(\d+):(\d+): (warning|error): .*\[([a-z0-9.,-]+)\]$")


def project_units(build, repo):
    """(path, directory, argv) of every compile_commands entry under the project's folders."""
    units, seen = [], set()
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        for entry in json.load(f):
            path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
            if os.path.relpath(path, repo).split(os.sep)[0] not in OWN_FOLDERS or path in seen:
                continue
            seen.add(path)
            argv = entry.get("arguments") or shlex.split(entry["command"])
            units.append((path, entry["directory"], argv))
    return sorted(units)


def preprocessed(directory, argv):
    """The unit's preprocessed text (the compile command with -E instead of -c -o FILE)."""
    args, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "-o":
            skip = True
        elif a != "-c" and not a.startswith("-o"):
            args.append(a)
    out = subprocess.run(args + ["-E"], cwd=directory, capture_output=True, check=False)
    return out.stdout if out.returncode == 0 else None


def analyse(unit, build, repo, cache, tidy, salt, used):
    """(path, findings text, from cache?) of one unit; adds its cache key to `used`."""
    path, directory, argv = unit
    text = preprocessed(directory, argv)
    key = None
    if text is not None:
        key = hashlib.sha256(salt + " ".join(argv).encode() + b"\0" + text).hexdigest()
        used.add(key)
        cached = os.path.join(cache, key + ".txt")
        if os.path.exists(cached):
            with open(cached, encoding="utf-8") as f:
                return path, f.read(), True
    result = subprocess.run([tidy, "-p", build, "--quiet", f"--header-filter=^{re.escape(repo)}/({'|'.join(OWN_FOLDERS)})/",
                             path], capture_output=True, text=True, check=False)
    output = result.stdout
    if result.returncode != 0 and not FINDING.search(output):  # clang-tidy itself failed
        output += f"{path}:1:1: error: clang-tidy failed (exit {result.returncode}): " \
                  f"{result.stderr.strip()[-400:]} [clang-tidy-failure]\n"
    elif key:
        tmp = os.path.join(cache, key + f".tmp{os.getpid()}")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(output)
        os.replace(tmp, os.path.join(cache, key + ".txt"))
    return path, output, False


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build", required=True)
    p.add_argument("--repo", required=True)
    p.add_argument("--cache", required=True)
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    p.add_argument("--clang-tidy", default="clang-tidy-14")
    a = p.parse_args()
    repo = os.path.realpath(a.repo)
    os.makedirs(a.cache, exist_ok=True)
    units = project_units(a.build, repo)
    if not units:
        sys.exit(f"lint: no project files in {a.build}/compile_commands.json")
    version = subprocess.run([a.clang_tidy, "--version"], capture_output=True, text=True, check=True).stdout
    salt = version.encode()
    configs = [os.path.join(repo, ".clang-tidy")]  # every .clang-tidy that applies (a folder's refines the root's)
    for folder in OWN_FOLDERS:
        configs += [os.path.join(root, ".clang-tidy") for root, _, names in os.walk(os.path.join(repo, folder))
                    if ".clang-tidy" in names]
    for config in sorted(configs):
        with open(config, "rb") as f:
            salt += config.encode() + b"\0" + f.read()
    start = time.time()
    findings, reused, used = {}, 0, set()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
        for path, output, from_cache in pool.map(lambda u: analyse(u, a.build, repo, a.cache, a.clang_tidy, salt, used),
                                                 units):
            reused += from_cache
            lines = output.splitlines()
            for i, line in enumerate(lines):
                m = FINDING.match(line)
                if not m:
                    continue
                block = [line]  # the finding and its context lines, up to the next finding
                for more in lines[i + 1:]:
                    if FINDING.match(more) or re.match(r"^\d+ warnings? generated", more):
                        break
                    block.append(more)
                findings.setdefault((m.group(1), int(m.group(2)), int(m.group(3)), m.group(5)), "\n".join(block))
    seconds = time.time() - start
    for name in os.listdir(a.cache):  # results of units as they no longer are
        if name.endswith(".txt") and name[:-4] not in used:
            os.remove(os.path.join(a.cache, name))
    for key in sorted(findings):
        print(findings[key])
    summary = f"{len(units)} translation units ({reused} unchanged, from the cache), {seconds:.0f} s"
    if not findings:
        print(f"lint: clang-tidy: no findings in {summary}")
        return 0
    print(f"lint: clang-tidy: {len(findings)} findings in {summary}; by check and folder:")
    counts = {}
    for path, _, _, check in findings:
        folder = os.path.dirname(os.path.relpath(path, repo))
        counts[(check, folder)] = counts.get((check, folder), 0) + 1
    for (check, folder), n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  {n:4d}  {check}  {folder}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
