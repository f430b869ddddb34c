#!/usr/bin/env bash
# Keeps in the committed corpus what a fuzzing run found that is worth keeping, and no more:
# the smallest set of inputs covering the committed corpus and the run's new inputs
# (fuzz/work/TARGET) together, by the edges they reach (`-use_counters=0`: not by hit counts,
# which keeps many times more files), is computed with libFuzzer's merge (as `cargo fuzz cmin`),
# and the inputs of that set that the committed corpus lacks are added to it under their hash.
# The committed inputs themselves stay as they are: seeds and `crash-<bug>` files keep their
# names even where newer inputs cover them. New inputs over MAX_BYTES (default 4096) are left
# out, so the repository stays small (package targets find many 12 KB variants of a module).
# Run after fuzz/run-all.sh (which builds).
#
#   [MAX_BYTES=N] fuzz/keep-new.sh [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
max=${MAX_BYTES:-4096}
bin=target/x86_64-unknown-linux-gnu/release
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
for t in "${targets[@]}"; do
  [ -d "work/$t" ] || continue
  mkdir -p "$tmp/$t"
  nice -n 19 "$bin/$t" -merge=1 -use_counters=0 -rss_limit_mb=4096 -timeout=30 "$tmp/$t" "corpus/$t" "work/$t" \
    >"$tmp/$t.log" 2>&1 || { tail -20 "$tmp/$t.log"; exit 1; }
  declare -A have=()
  for f in "corpus/$t"/*; do have[$(sha1sum <"$f" | cut -c1-40)]=1; done
  added=0 bytes=0 big=0
  for f in "$tmp/$t"/*; do
    h=$(basename "$f")
    size=$(stat -c %s "$f")
    if [ -n "${have[$h]:-}" ]; then
      continue
    elif [ "$size" -gt "$max" ]; then
      big=$((big + 1))
    else
      cp "$f" "corpus/$t/$h"
      added=$((added + 1)) bytes=$((bytes + size))
    fi
  done
  unset have
  printf '%-12s kept %4d of %5d new inputs (%d bytes, %d over %d bytes left out); corpus now %d files, %s\n' \
    "$t" "$added" "$(find "work/$t" -type f | wc -l)" "$bytes" "$big" "$max" \
    "$(find "corpus/$t" -type f | wc -l)" "$(du -sh --apparent-size "corpus/$t" | cut -f1)"
done
