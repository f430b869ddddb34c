#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS of wall-clock time each, one after
# the other, at the lowest CPU priority (the machine is shared). Needs the nightly toolchain
# and cargo-fuzz (fuzz/README.md).
#
#   fuzz/run-all.sh SECONDS [TARGET...]
#
# Each run reads the committed corpus (fuzz/corpus/TARGET) and keeps what it finds in
# fuzz/work/TARGET (ignored by git); a crash is written to fuzz/artifacts/TARGET/. At the end a
# table gives per target the seconds run, the executions and the crashes, and each line is
# appended to fuzz/work/runs.tsv (date, target, seconds, executions, crashes).
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:?usage: fuzz/run-all.sh SECONDS [TARGET...]}
shift
# Release with debug assertions (overflow checks); no sanitizer: the code under test is safe
# Rust, where a sanitizer finds nothing and halves the speed.
flags=(-O -a -s none)
nice -n 19 cargo +nightly fuzz build "${flags[@]}" || exit 1
if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
mkdir -p work
# The sysfs target writes a small tree per input: a memory file system when there is one.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
summary=()
for t in "${targets[@]}"; do
  mkdir -p "work/$t" "artifacts/$t"
  opts=(-max_total_time="$secs" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1
        -artifact_prefix="artifacts/$t/")
  [ -f "dict/$t.dict" ] && opts+=(-dict="dict/$t.dict")
  log=work/$t.log
  start=$SECONDS
  nice -n 19 cargo +nightly fuzz run "${flags[@]}" "$t" "work/$t" "corpus/$t" -- "${opts[@]}" \
    >"$log" 2>&1
  rc=$?
  ran=$((SECONDS - start))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(grep -c '^SUMMARY: libFuzzer' "$log")
  [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes="exit $rc"
  line=$(printf '%s\t%s\t%s\t%s\t%s' "$(date -u +%F)" "$t" "$ran" "${execs:-?}" "$crashes")
  echo "$line" >>work/runs.tsv
  summary+=("$line")
  echo "$line"
done
printf '\n%-12s %-14s %8s %14s %s\n' date target seconds executions crashes
for line in "${summary[@]}"; do
  IFS=$'\t' read -r d t s e c <<<"$line"
  printf '%-12s %-14s %8s %14s %s\n' "$d" "$t" "$s" "$e" "$c"
done
