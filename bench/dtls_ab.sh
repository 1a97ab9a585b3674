#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Two Registrar builds side by side over CoAPS, interleaved rounds at the same moment (ratios between separate runs
# move by +-0.05 on a shared machine; a change worth a few percent needs this): server CPU (the sum of the process's
# threads' scheduler run time) and rate per attachment of each.
# Usage: bash bench/dtls_ab.sh OLD_BINARY NEW_BINARY [full|attach|resume]
#   full    fresh Registrees' full attachments + CREATE <AE> (FULL per round, FULL_CLIENTS at once; default)
#   attach  re-attachments of one Registree, one at a time (COUNT per round); resume: the same with its ticket
#   knobs: ROUNDS (5), FULL (300), FULL_CLIENTS (8), COUNT (3000). Both servers on CPU 0, the clients on CPU 1.
# The client is this tree's build/bench/m2m-bench. Build the old tree elsewhere, e.g.
#   git worktree add /tmp/old REV && cmake -S /tmp/old -B /tmp/old/build && cmake --build /tmp/old/build
set -euo pipefail
case ${1:-} in --help|-h) sed -n '3,11s/^# \{0,1\}//p' "$0"; exit 0;; esac
[ $# -ge 2 ] || { sed -n '3,11s/^# \{0,1\}//p' "$0" >&2; exit 2; }
OLD=$(readlink -f "$1") NEW=$(readlink -f "$2") MODE=${3:-full}
case $MODE in full|attach|resume) ;; *) echo "dtls_ab.sh: mode $MODE: full, attach or resume" >&2; exit 2;; esac
for b in "$OLD" "$NEW"; do [ -x "$b" ] || { echo "dtls_ab.sh: $b: not an executable" >&2; exit 2; }; done
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export M2M_SOURCE=$ROOT M2M_BIN=$NEW
BENCH=$ROOT/build/bench/m2m-bench
[ -x "$BENCH" ] || { echo "dtls_ab.sh: $BENCH missing: make build first" >&2; exit 2; }
source "$ROOT/tests/lib.sh"
PA= PB=
trap 'kill $PA $PB 2>/dev/null || true; cleanup' EXIT
export M2M_NO_TEST_CLOCK=1
rounds=${ROUNDS:-5} full=${FULL:-300} clients=${FULL_CLIENTS:-8} count=${COUNT:-3000}
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; }

"$M2M_BIN" registrar init --db "$WORK/a.db" --cse-id /in-cse --cse-name cse-base >/dev/null
(umask 077; openssl rand -hex 16 >"$WORK/dtls.key")
"$M2M_BIN" enrol psk --db "$WORK/a.db" --registree-id Cdtls --key-file "$WORK/dtls.key" >/dev/null
ident=$(keyid_file Cdtls "$WORK/dtls.key")
if [ "$MODE" = full ]; then
  mkdir -p "$WORK/full"
  for i in $(seq 1 $((full * (rounds + 1)))); do
    (umask 077; openssl rand -hex 16 >"$WORK/full/Cf$i.key"); echo "Cf$i"
  done >"$WORK/ids"
  xargs -P 4 -I{} sh -c '"$0" enrol psk --db "$1" --registree-id {} --key-file "$2/{}.key" >/dev/null' \
    "$M2M_BIN" "$WORK/a.db" "$WORK/full" <"$WORK/ids"
  while read -r id; do echo "$id $(keyid_file "$id" "$WORK/full/$id.key") $(cat "$WORK/full/$id.key")"; done \
    <"$WORK/ids" >"$WORK/creds"
fi
cp "$WORK/a.db" "$WORK/b.db" # the same enrolments: each Registree registers once on each side
# started directly, not from a shell function, so that $! is the server's own PID (its CPU is what is measured)
ARGS=(registrar serve --https 127.0.0.1:0 --threads 1 --quiet --coaps 127.0.0.1:0 --idle-timeout 86400
      --max-request-rate 0 --max-per-address 0)
TASKSET=(); command -v taskset >/dev/null && TASKSET=(taskset -c 0)
coaps_port() {
  local p
  for _ in $(seq 1 100); do
    p=$(sed -n 's/^listening coaps port \([0-9]*\)$/\1/p' "$1"); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.05
  done
  echo "dtls_ab.sh: a Registrar did not start (see $1)" >&2; exit 1
}
"${TASKSET[@]}" "$OLD" "${ARGS[@]}" --db "$WORK/a.db" >"$WORK/a.out" 2>/dev/null & PA=$!
"${TASKSET[@]}" "$NEW" "${ARGS[@]}" --db "$WORK/b.db" >"$WORK/b.out" 2>/dev/null & PB=$!
CA=$(coaps_port "$WORK/a.out") CB=$(coaps_port "$WORK/b.out")

round() { # round port pid -> "rate/s cpu_us"
  local c0 c1 t0 t1 pids=() ok=0 c
  if [ "$MODE" != full ]; then
    pin 1 "$BENCH" dtls attach --port "$2" --identity "$ident" --key-file "$WORK/dtls.key" --count "$count" \
      --pid "$3" $([ "$MODE" = resume ] && echo --resume) |
      sed -n 's/.*: \([0-9.]*\/s\), server CPU \([0-9.]*\) us each.*/\1 \2 us/p'
    return
  fi
  sed -n "$(($1 * full + 1)),$((($1 + 1) * full))p" "$WORK/creds" >"$WORK/r.$1.$2"
  split -n "l/$clients" -d "$WORK/r.$1.$2" "$WORK/r.$1.$2."
  c0=$(cpu_ns "$3") t0=$(date +%s.%N)
  for c in "$WORK/r.$1.$2".??; do
    pin 1 "$BENCH" dtls register --port "$2" --creds "$c" --count "$full" >"$c.out" & pids+=($!)
  done
  wait "${pids[@]}"
  t1=$(date +%s.%N) c1=$(cpu_ns "$3")
  for c in "$WORK/r.$1.$2".??.out; do ok=$((ok + $(sed -n 's/^registrations \([0-9]*\) of.*/\1/p' "$c"))); done
  python3 -c "import sys; ok, t0, t1, c0, c1 = map(float, sys.argv[1:]); \
print('%.0f/s %.1f us' % (ok / (t1 - t0), (c1 - c0) / 1e3 / max(ok, 1)))" "$ok" "$t0" "$t1" "$c0" "$c1"
}
round 0 "$CA" "$PA" >/dev/null; round 0 "$CB" "$PB" >/dev/null # warm-up
echo "mode $MODE: old $OLD, new $NEW"
for r in $(seq 1 "$rounds"); do echo "round $r  old $(round "$r" "$CA" "$PA")  |  new $(round "$r" "$CB" "$PB")"; done
