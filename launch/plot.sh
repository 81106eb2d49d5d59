#!/usr/bin/env bash
# Runs launch/plot.py (figures and tables from tptt metrics logs) with a Python that has
# matplotlib, installing the Debian package python3-matplotlib with apt-get when none has it.
#
#   launch/plot.sh cost out/ablation/logs/temporal-*.jsonl -o cost.png --logy
#   launch/plot.sh rho LOG... -o rho.png
#   launch/plot.sh norms LOG... -o norms.png
#   launch/plot.sh csv-table out/ablation/runs.csv
#   launch/plot.sh fig8 out/ablation/runs.csv --out-dir out/ablation
#   launch/plot.sh curves LOG... -o curves.png       # train cost + validation error
#   launch/plot.sh fig3 LOG... -o fig3.png           # update norms + rho, cost (paper Fig. 3)
#   launch/plot.sh angle LOG... -o angle.png         # TPTT vs BPTT dW_hh angle (Fig. 5; --diagnostics logs)
#   launch/plot.sh layers LOG... -o layers.png       # per-step G/F losses (Fig. 6; --diagnostics logs)
#   launch/plot.sh tmax curriculum.csv --paper       # t_max bars (columns task,algorithm,t_max[,paper_t_max])
#   launch/plot.sh all LOG... [CSV] --out-dir DIR    # every figure the inputs support
#
# `launch/plot.sh SUBCOMMAND --help` lists the options. Environment: PYTHON (the interpreter to
# try first; default python3).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

has_mpl() { "$1" -c 'import matplotlib' >/dev/null 2>&1; }

py=""
# The first python3 on PATH may be a private one (pyenv, venv); Debian's package installs into
# /usr/bin/python3.
for cand in "${PYTHON:-python3}" python3 /usr/bin/python3; do
  if command -v "$cand" >/dev/null 2>&1 && has_mpl "$cand"; then py=$cand; break; fi
done

if [[ -z $py ]]; then
  echo "launch/plot.sh: matplotlib not found; installing python3-matplotlib" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then sudo=(sudo); else
      echo "launch/plot.sh: not root and no sudo; install python3-matplotlib and re-run" >&2
      exit 1
    fi
  fi
  if ! ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
       apt-get install -y --no-install-recommends python3-matplotlib; then
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive apt-get update
    ${sudo[@]+"${sudo[@]}"} env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends python3-matplotlib
  fi
  if has_mpl /usr/bin/python3; then py=/usr/bin/python3; else
    echo "launch/plot.sh: python3-matplotlib installed but /usr/bin/python3 cannot import it" >&2
    exit 1
  fi
fi

export MPLBACKEND=Agg
exec "$py" "$here/plot.py" "$@"
