#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# DTLS (CoAPS, issue 12) figures, in one run (about two minutes), written to bench/results/dtls-latest.md:
#   1. DTLS-PSK re-attachment -- cookie exchange (HelloVerifyRequest), full PSK-AES128-CCM8 handshake with its
#      session ticket, one CoAP GET of the CSEBase answered, close -- on the Registrar's CoAPS listener against the
#      same exchange on raw OpenSSL (m2m-bench dtls ceiling: DTLSv1_listen, cookies, a ticket, a fixed 2.05),
#      interleaved rounds, both servers on CPU 0 and the client on CPU 1; ratios by rate and by server CPU per
#      attachment (the median over the rounds);
#   2. DTLS-PSK full attachment -- the same handshake with a fresh Registree's key, then the registration of its
#      <AE> answered 2.01 once durable -- against the same ceiling, FULL fresh Registrees per round from FULL_CLIENTS
#      clients at once (so that the writes can share commits, as devices' do), compared by server CPU;
#   3. DTLS resumption (x.y.4) -- each attachment offers the session ticket of a first full handshake -- against the
#      ceiling resuming its own tickets: what a device pays to come back after its idle session was closed;
#   4. the Registrar's resident memory per idle attached DTLS session (SESSIONS sessions, each after one answered
#      GET), and the re-attachment rate while SESSIONS and then HELD idle sessions stay open (a server must not
#      slow down as devices attach).
# Usage: bash bench/dtls.sh [BUILD_DIR]
#   (knobs: ROUNDS (3), COUNT (attachments per round, 2000), FULL (300), FULL_CLIENTS (8), SESSIONS (1000),
#    HELD (19000))
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
export M2M_BIN=$BUILD/m2mattach M2M_SOURCE=$ROOT
BENCH=$BUILD/bench/m2m-bench
OUT=${M2M_BENCH_DTLS_OUT:-$ROOT/bench/results/dtls-latest.md}
source "$ROOT/tests/lib.sh"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT
pin() { if command -v taskset >/dev/null; then exec_pin=(taskset -c "$1"); else exec_pin=(); fi; "${exec_pin[@]}" "${@:2}"; }
rounds=${ROUNDS:-3}
count=${COUNT:-2000}
sessions=${SESSIONS:-1000}
full=${FULL:-300}
full_clients=${FULL_CLIENTS:-8}
held=${HELD:-19000}
export M2M_NO_TEST_CLOCK=1 # the production clock (tests/lib.sh would give the Registrar the test clock's file)
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

(umask 077; openssl rand -hex 16 >"$WORK/dtls.key")
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null
DB_INITIALISED=1
enrol_file Cdtls "$WORK/dtls.key"
ident=$(keyid_file Cdtls "$WORK/dtls.key")
# the full attachments' fresh Registrees: "ID KEYID HEXKEY" lines, FULL per round (enrolled four at a time)
mkdir -p "$WORK/full"
for i in $(seq 1 $((full * (rounds + 1)))); do
  (umask 077; openssl rand -hex 16 >"$WORK/full/Cf$i.key")
  echo "Cf$i"
done >"$WORK/full.ids"
xargs -P 4 -I{} sh -c '"$0" enrol psk --db "$1" --registree-id {} --key-file "$2/{}.key" >/dev/null' \
  "$M2M_BIN" "$DB" "$WORK/full" <"$WORK/full.ids"
while read -r id; do echo "$id $(keyid_file "$id" "$WORK/full/$id.key") $(cat "$WORK/full/$id.key")"; done \
  <"$WORK/full.ids" >"$WORK/full.creds"
start_registrar --threads 1 --quiet --coaps 127.0.0.1:0 --idle-timeout 86400 --max-request-rate 0 \
  --coaps-max-sessions $((sessions + held + 100)) --max-per-address 0 --preauth-max $((sessions + held + 100))
[ -n "$COAPS_PORT" ] || { echo "dtls.sh: the Registrar printed no coaps port" >&2; exit 1; }
command -v taskset >/dev/null && taskset -apc 0 "$REG_PID" >/dev/null

# started directly (not through a shell function) so that $! is the server's own PID: its CPU is measured
if command -v taskset >/dev/null; then
  taskset -c 0 "$BENCH" dtls ceiling --port 0 --identity "$ident" --key-file "$WORK/dtls.key" >"$WORK/ceiling.out" &
else
  "$BENCH" dtls ceiling --port 0 --identity "$ident" --key-file "$WORK/dtls.key" >"$WORK/ceiling.out" &
fi
CEIL=$!
PIDS+=($CEIL)
for _ in $(seq 1 100); do CPORT=$(sed -n 's/^ceiling port \([0-9]*\)$/\1/p' "$WORK/ceiling.out"); [ -n "$CPORT" ] && break; sleep 0.05; done
[ -n "$CPORT" ] || { echo "dtls.sh: the ceiling did not start" >&2; exit 1; }

attach() { # port pid label [--resume] -> "rate cpu_us"
  local line
  line=$(pin 1 "$BENCH" dtls attach --port "$1" --identity "$ident" --key-file "$WORK/dtls.key" --count "$count" \
           --pid "$2" "${@:4}")
  echo "$3 $line" >&2
  sed -n 's/.*: \([0-9.]*\)\/s, server CPU \([0-9.]*\) us each.*/\1 \2/p' <<<"$line"
}
# the server's CPU in ns: its threads' scheduler run times (the 10 ms ticks of /proc/PID/stat were +-8 % of a
# round's 300 full attachments), or utime + stime where schedstat is missing
cpu_ns() {
  local f
  if [ -r "/proc/$1/schedstat" ]; then cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%.0f\n", s}'; return; fi
  read -r -a f <"/proc/$1/stat"; echo $(((f[13] + f[14]) * 1000000000 / $(getconf CLK_TCK)))
}
register() { # round label -> "rate cpu_us": the round's FULL fresh Registrees, FULL_CLIENTS at a time
  local c t0 t1 c0 c1 ok=0 pids=()
  sed -n "$(($1 * full + 1)),$((($1 + 1) * full))p" "$WORK/full.creds" >"$WORK/full.$1"
  split -n "l/$full_clients" -d "$WORK/full.$1" "$WORK/full.$1."
  c0=$(cpu_ns "$REG_PID") t0=$(date +%s.%N)
  for c in "$WORK/full.$1".*; do
    pin 1 "$BENCH" dtls register --port "$COAPS_PORT" --creds "$c" --count "$full" >"$c.out" & pids+=($!)
  done
  wait "${pids[@]}" || true
  t1=$(date +%s.%N) c1=$(cpu_ns "$REG_PID")
  for c in "$WORK/full.$1".*.out; do ok=$((ok + $(sed -n 's/^registrations \([0-9]*\) of.*/\1/p' "$c"))); done
  echo "$2 $ok of $full registered by $full_clients clients" >&2
  python3 -c "import sys; ok, t0, t1, c0, c1 = map(float, sys.argv[1:]); \
print('%.1f %.1f' % (ok / (t1 - t0), (c1 - c0) / 1e3 / max(ok, 1)))" "$ok" "$t0" "$t1" "$c0" "$c1"
}
attach "$COAPS_PORT" "$REG_PID" warm-up >/dev/null
attach "$CPORT" "$CEIL" warm-up >/dev/null
register 0 warm-up >/dev/null
reg_rates=() reg_cpu=() ceil_rates=() ceil_cpu=() full_rates=() full_cpu=()
res_rates=() res_cpu=() cres_rates=() cres_cpu=()
for r in $(seq 1 "$rounds"); do
  read -r a b < <(attach "$COAPS_PORT" "$REG_PID" "round $r registrar")
  reg_rates+=("$a"); reg_cpu+=("$b")
  read -r a b < <(attach "$COAPS_PORT" "$REG_PID" "round $r registrar resumption" --resume)
  res_rates+=("$a"); res_cpu+=("$b")
  read -r a b < <(attach "$CPORT" "$CEIL" "round $r ceiling resumption" --resume)
  cres_rates+=("$a"); cres_cpu+=("$b")
  read -r a b < <(register "$r" "round $r registrar full attachment")
  full_rates+=("$a"); full_cpu+=("$b")
  read -r a b < <(attach "$CPORT" "$CEIL" "round $r ceiling")
  ceil_rates+=("$a"); ceil_cpu+=("$b")
done
ratios() { # registrar rates, ceiling rates, registrar cpu, ceiling cpu -> the ratios and medians
  python3 - "$@" <<'PY'
import statistics, sys
rr, cr, rc, cc = ([float(x) for x in a.split()] for a in sys.argv[1:5])
print("%.2f %.2f %.0f %.0f %.0f %.0f" % (statistics.median([a / b for a, b in zip(rr, cr)]),
      statistics.median([b / a for a, b in zip(rc, cc)]), statistics.median(rr), statistics.median(cr),
      statistics.median(rc), statistics.median(cc)))
PY
}
read -r rate_ratio cpu_ratio reg_rate ceil_rate reg_us ceil_us \
  <<<"$(ratios "${reg_rates[*]}" "${ceil_rates[*]}" "${reg_cpu[*]}" "${ceil_cpu[*]}")"
read -r full_rate_ratio full_cpu_ratio full_rate _ full_us _ \
  <<<"$(ratios "${full_rates[*]}" "${ceil_rates[*]}" "${full_cpu[*]}" "${ceil_cpu[*]}")"
read -r res_rate_ratio res_cpu_ratio res_rate cres_rate res_us cres_us \
  <<<"$(ratios "${res_rates[*]}" "${cres_rates[*]}" "${res_cpu[*]}" "${cres_cpu[*]}")"
kill "$CEIL" 2>/dev/null || true

# idle sessions held open (mem --hold) while re-attachments run: memory per session, and whether the rate holds
hold() { # n [settle seconds] -> the mem lines; the sessions stay until $WORK/release.$1 exists
  pin 1 "$BENCH" dtls mem --port "$COAPS_PORT" --identity "$ident" --key-file "$WORK/dtls.key" \
    --sessions "$1" --pid "$REG_PID" --settle "${2:-0}" --hold "$WORK/release.$1" >"$WORK/mem.$1" &
  PIDS+=($!)
  until grep -q '^per idle' "$WORK/mem.$1" 2>/dev/null; do
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "dtls.sh: holding $1 sessions failed" >&2; exit 1; }
    sleep 0.2
  done
  cat "$WORK/mem.$1" >&2
}
read -r a b < <(attach "$COAPS_PORT" "$REG_PID" "held 0")
held_rate0=$a held_us0=$b
hold "$sessions" 4 # idle 4 s: the sessions' OpenSSL buffers' pages go back after 2 (secctx/buffer_pages.h)
per=$(sed -n 's/^per idle attached DTLS session: \([0-9.]*\) KiB$/\1/p' "$WORK/mem.$sessions")
per_now=$(sed -n 's/^per attached DTLS session right after its request: \([0-9.]*\) KiB$/\1/p' "$WORK/mem.$sessions")
read -r held_rate1 held_us1 < <(attach "$COAPS_PORT" "$REG_PID" "held $sessions")
hold "$held"
read -r held_rate2 held_us2 < <(attach "$COAPS_PORT" "$REG_PID" "held $((sessions + held))")
touch "$WORK/release.$sessions" "$WORK/release.$held"
wait "${PIDS[@]:1}" 2>/dev/null || true

{
  echo "# DTLS (CoAPS) benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(openssl version | cut -d' ' -f1-2), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "Registrar \`--threads 1 --coaps\` (the CoAPS worker) and the raw-OpenSSL DTLS server both on CPU 0, the client on"
  echo "CPU 1. One re-attachment = cookie exchange + full DTLS 1.2 PSK-AES128-CCM8 handshake (with its session ticket)"
  echo "+ one CoAP GET of the CSEBase answered + close_notify, one at a time; a full attachment = the same handshake"
  echo "with a fresh Registree's key + the registration of its <AE> (CoAP POST, 2.01 once durable), $full_clients"
  echo "clients at once (the ceiling serves one session at a time: compare by CPU). $rounds interleaved rounds of"
  echo "$count re-attachments, $count resumptions and $full full attachments; medians. The ceiling (raw OpenSSL) does"
  echo "the same handshake, answers the request with a fixed 2.05 and, like the Registrar, keeps the session until the"
  echo "client's close_notify, answered with one: it is the ceiling of the attachment rows."
  echo
  echo "| figure | Registrar | raw OpenSSL | ratio |"
  echo "|---|---:|---:|---:|"
  echo "| DTLS-PSK re-attachment, attachments/s | $reg_rate | $ceil_rate | $rate_ratio |"
  echo "| server CPU per re-attachment (µs) | $reg_us | $ceil_us | $cpu_ratio |"
  echo "| DTLS-PSK full attachment (+ CREATE \`<AE>\`), attachments/s | $full_rate | $ceil_rate | $full_rate_ratio |"
  echo "| server CPU per full attachment (µs) | $full_us | $ceil_us | $full_cpu_ratio |"
  echo "| DTLS resumption (x.y.4: the session ticket, abbreviated handshake + GET), attachments/s | $res_rate | $cres_rate | $res_rate_ratio |"
  echo "| server CPU per resumption (µs) | $res_us | $cres_us | $res_cpu_ratio |"
  echo "| Registrar RSS per attached DTLS session right after its request ($sessions sessions) | ${per_now:-?} KiB | | |"
  echo "| Registrar RSS per idle attached DTLS session (the same, idle 4 s) | ${per:-?} KiB | | |"
  echo
  echo "Re-attachment while idle attached sessions stay open (the Registrar alone; one run of $count each):"
  echo
  echo "| idle sessions held | re-attachments/s | server CPU per re-attachment (µs) |"
  echo "|---:|---:|---:|"
  echo "| 0 | $held_rate0 | $held_us0 |"
  echo "| $sessions | $held_rate1 | $held_us1 |"
  echo "| $((sessions + held)) | $held_rate2 | $held_us2 |"
  echo
  echo "Goals (issue 12): ≥ 0.8 of the ceiling; ≤ 4 KiB per idle session. Ratios are only meaningful within this run."
} >"$OUT"
cat "$OUT"
