#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Static analysis with no findings allowed: `check.sh cppcheck`, `check.sh scan-build`, or both (no argument;
# `make check`). Exits 1 on any finding (printed as file:line), 77 when the tool is missing (CTest: skipped; run
# scripts/install-deps.sh), 0 when clean.
#   cppcheck    the project's C code (src/), checks "warning", "performance" and "portability" and the errors it
#               always reports; "style" is left out (variable scope and the like: opinions, not defects).
#               Suppressions are inline (// cppcheck-suppress ID) beside the line, with the reason.
#   scan-build  clang's static analyzer over a clang build of the libraries and the command in BUILD_SCAN
#               (default build-scan); findings as an HTML report in BUILD_SCAN/report. Suppressions: code that
#               the analyzer cannot follow is made explicit (an assert or a check), never silenced by a pragma;
#               a contract it cannot see across files is stated once in scripts/scan-build-hints.h.
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
build_scan=${BUILD_SCAN:-build-scan}
cache=${CPPCHECK_CACHE:-build/cppcheck-cache}

need() {
  command -v "$1" >/dev/null && return 0
  echo "check: $1 is not installed (scripts/install-deps.sh installs it)" >&2
  exit 77
}

run_cppcheck() {
  need cppcheck
  mkdir -p "$cache"
  # -D_GNU_SOURCE as the build defines it: cppcheck then checks that one configuration, not every #ifdef mix.
  cppcheck --quiet --std=c11 -D_GNU_SOURCE -I include -I src --enable=warning,performance,portability \
    --inline-suppr --error-exitcode=1 -j "$(nproc)" --cppcheck-build-dir="$cache" \
    --template='{file}:{line}: {severity}: {message} [{id}]' src
  local rc=$?
  [ $rc -eq 0 ] && echo "check: cppcheck: no findings"
  return $rc
}

run_scan_build() {
  need scan-build
  need clang
  # A clang build of its own (the analyzer replaces the compiler), configured through scan-build so CMake
  # records its wrapper; only the installed libraries and the command: the tests' and benchmarks' code is not
  # shipped.
  # scan-build-hints.h tells the analyzer m2m_fail's contract (see there).
  scan-build --use-cc=clang cmake -S . -B "$build_scan" -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_C_FLAGS="-include $PWD/scripts/scan-build-hints.h" >/dev/null || return 2
  # Every file again, so a clean re-run still reports what it found.
  cmake --build "$build_scan" --target clean >/dev/null
  rm -rf "$build_scan/report"
  scan-build --use-cc=clang --status-bugs -o "$build_scan/report" \
    cmake --build "$build_scan" -j "$(nproc)" --target m2mattach-cli m2mattach-registree m2mattach-registrar \
    > "$build_scan/scan-build.log" 2>&1
  local rc=$?
  grep -E 'warning:|scan-build: [0-9]+ bug|No bugs found' "$build_scan/scan-build.log"
  [ $rc -ne 0 ] && echo "check: scan-build: see $build_scan/scan-build.log and the report in $build_scan/report"
  return $rc
}

rc=0
case "$what" in
  cppcheck) run_cppcheck || rc=1 ;;
  scan-build) run_scan_build || rc=1 ;;
  all) run_cppcheck || rc=1; run_scan_build || rc=1 ;;
  *) echo "usage: $0 [cppcheck|scan-build]" >&2; exit 2 ;;
esac
exit $rc
