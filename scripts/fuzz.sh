#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs the libFuzzer harnesses of a `make fuzz` build one after the other (one core at a time), each for a set time.
#   usage: scripts/fuzz.sh BUILD-DIR SECONDS [HARNESS...]    (default: every tests/fuzz/<harness>.c)
# Each harness works on a scratch corpus, BUILD-DIR/fuzz-corpus/<harness>, seeded from tests/fuzz/corpus/<harness>
# and kept between runs (the repository's corpus stays small and untouched). An input that crashes, fails a check,
# leaks, hangs or eats memory is left in BUILD-DIR/findings/<harness>/, the log in BUILD-DIR/fuzz-<harness>.log,
# and the script exits 1. Reproduce with `BUILD-DIR/tests/fuzz/fuzz-<harness> FILE`; once fixed, copy FILE to
# tests/fuzz/corpus/<harness>/ so that `make test` (fuzz.<harness>) keeps it fixed.
set -uo pipefail
build=$1
seconds=$2
shift 2
src=$(cd "$(dirname "$0")/.." && pwd)
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$src"/tests/fuzz/*.c; do
    n=$(basename "$f" .c)
    [ "$n" = replay_main ] || names+=("$n")
  done
fi
# The harnesses write their temporary files (stores, state files) under TMPDIR: in memory when /dev/shm exists.
tmp=$(mktemp -d /dev/shm/m2m-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$tmp"' EXIT

failed=()
for n in "${names[@]}"; do
  exe=$build/tests/fuzz/fuzz-$n
  corpus=$build/fuzz-corpus/$n
  findings=$build/findings/$n
  log=$build/fuzz-$n.log
  if [ ! -x "$exe" ] || [ ! -d "$src/tests/fuzz/corpus/$n" ]; then
    echo "fuzz: no harness '$n' (built: $(ls "$build/tests/fuzz" | sed -n 's/^fuzz-//p' | tr '\n' ' '))" >&2
    failed+=("$n")
    continue
  fi
  mkdir -p "$corpus" "$findings"
  cp "$src/tests/fuzz/corpus/$n"/* "$corpus"/
  echo "fuzz-$n: ${seconds} s, corpus $corpus ($(ls "$corpus" | wc -l) inputs)"
  TMPDIR=$tmp "$exe" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" "$corpus" >"$log" 2>&1
  rc=$?
  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units' "$log" | sed 's/^/  /'
  if [ $rc -ne 0 ]; then
    failed+=("$n")
    echo "  FAILED (exit $rc): $log" >&2
    grep -E 'ERROR: |SUMMARY: |check failed|Test unit written' "$log" | head -n 6 | sed 's/^/  /' >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failed: ${failed[*]}; inputs in $build/findings/" >&2
  exit 1
fi
echo "fuzz: ${#names[@]} harness(es), ${seconds} s each, no crash"
