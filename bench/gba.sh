#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GBA (x.y.5) figures, in one run (about 2 minutes), written to bench/results/gba-latest.md:
#   1. GBA re-attachment with a cached Ks_NAF (TLS-PSK handshake + GET) as a ratio to PSK re-attachment, 3
#      interleaved rounds on the same Registrar (one worker, CPU 0; clients on CPU 1);
#   2. first attachment of a B-TID (the handshake waits for Zn) + CREATE <AE>, each of 100 fresh bootstrappings once;
#   3. bootstraps per second at the BSF (Ub: two HTTP exchanges, Milenage, the records committed);
#   4. what a Zn round trip costs the other devices on the worker: PSK handshakes of one client while GBA devices
#      attach for the first time through a BSF 10 ms away (each way), with Zn on the worker's loop (the default) and
#      with --zn-blocking (Zn inside the TLS callback, for comparison).
# Usage: bash bench/gba.sh [BUILD_DIR]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
export M2M_BIN=$BUILD/m2mattach M2M_SOURCE=$ROOT
BENCH=$BUILD/bench/m2m-bench
OUT=$ROOT/bench/results/gba-latest.md
source "$ROOT/tests/lib.sh"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; cleanup' EXIT
pin() { if command -v taskset >/dev/null; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
rounds=${ROUNDS:-3}
secs=${SECONDS_PER_ROW:-3}

start_bsf >/dev/null
for i in $(seq -w 1 100); do echo "0010100001000$i@ims.mnc001.mcc001.3gppnetwork.org Cfirst$i"; done >"$WORK/first.impis"
for i in 1 2 3 4; do echo "00101000020000$i@ims.mnc001.mcc001.3gppnetwork.org Crate$i"; done >"$WORK/rate.impis"
while read -r impi _; do
  "$M2M_BIN" bsf subscriber add --db "$BSF_DB" --impi "$impi" --k-file "$WORK/usim.k" --opc-file "$WORK/usim.opc" >/dev/null
done < <(cat "$WORK/first.impis" "$WORK/rate.impis")
# shellcheck disable=SC2046
start_registrar --threads 1 --quiet --idle-timeout 86400 --admin 0 --max-request-rate 0 --max-resources 0 $(gba_serve_args)
REG=$REG_PID
command -v taskset >/dev/null && taskset -pc 0 "$REG" >/dev/null
ADMIN=$(sed -n 's/^listening admin port \([0-9]*\)$/\1/p' "$WORK/serve.out")

# ---- 1. re-attachment: PSK and GBA (cached Ks_NAF), TLS 1.2 PSK-AES128-CBC-SHA256 ----
key=$(openssl rand -hex 32)
enrol Cpsk "$key"
echo "Cpsk $key" >"$WORK/psk.ids"
"$M2M_BIN" enrol gba --db "$DB" --registree-id Cgba --impi "$GBA_IMPI" >/dev/null
gba_ue bench-ids --out "$WORK/gba.ids" --fqdn "$NAF_FQDN" --ua 01000100ae
for f in psk gba; do pin 1 "$BENCH" attach --port "$PORT" --ids-file "$WORK/$f.ids" --clients 1 --seconds 5 >/dev/null; done
declare -A rate cpu
for r in $(seq 1 "$rounds"); do
  for f in psk gba; do
    line=$(pin 1 "$BENCH" reattach --port "$PORT" --ids-file "$WORK/$f.ids" --clients 4 --seconds "$secs" \
             --server-pid "$REG" --label "reattach-$f" | grep '^RESULT')
    echo "$line"
    rate[$f.$r]=$(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$line")
    cpu[$f.$r]=$(sed -n 's/.*server_cpu_us_per_op=\([0-9.]*\).*/\1/p' <<<"$line")
  done
done
ratio() { python3 -c "import statistics,sys; a=[float(x) for x in sys.argv[1].split()]; b=[float(x) for x in sys.argv[2].split()]; print('%.2f' % statistics.median([x/y for x,y in zip(a,b)]))" "$1" "$2"; }
list() { local k=$1 v=""; for r in $(seq 1 "$rounds"); do v="$v ${rate[$k.$r]}"; done; echo "$v"; }
clist() { local k=$1 v=""; for r in $(seq 1 "$rounds"); do v="$v ${cpu[$k.$r]}"; done; echo "$v"; }
rate_ratio=$(ratio "$(list gba)" "$(list psk)")
cpu_ratio=$(ratio "$(clist psk)" "$(clist gba)")

# ---- 2. first attachment of 100 B-TIDs (Zn on the loop) + CREATE ----
while read -r impi id; do "$M2M_BIN" enrol gba --db "$DB" --registree-id "$id" --impi "$impi" >/dev/null; done <"$WORK/first.impis"
gba_ue bench-ids --impis "$WORK/first.impis" --out "$WORK/first.ids" --fqdn "$NAF_FQDN" --ua 01000100ae
first=$(pin 1 "$BENCH" attach --port "$PORT" --ids-file "$WORK/first.ids" --clients 4 --seconds 30 --server-pid "$REG" \
          --label first-gba | grep '^RESULT')
echo "$first"
zn=$(curl -s "http://127.0.0.1:$ADMIN/metrics" | grep -E '^m2m_gba_zn_(requests|failures)_total|^m2m_gba_zn_blocked')

# ---- 3. bootstraps per second ----
bsf_cpu() { awk '{print $14 + $15}' "/proc/$BSF_PID/stat"; }
c0=$(bsf_cpu)
boot=$(gba_ue bench-rate --impis "$WORK/rate.impis" --threads 4 --seconds 5 | grep '^RESULT')
c1=$(bsf_cpu)
n=$(sed -n 's/.*bootstraps=\([0-9]*\).*/\1/p' <<<"$boot")
boot_cpu=$(python3 -c "import os,sys; print('%.0f' % ((int(sys.argv[2]) - int(sys.argv[1])) * 1e6 / os.sysconf('SC_CLK_TCK') / max(1, int(sys.argv[3]))))" "$c0" "$c1" "$n")
echo "$boot bsf_cpu_us_per_bootstrap=$boot_cpu"
stop_registrar

# ---- 4. the other devices while Zn is 10 ms away ----
python3 "$ROOT/bench/zn_delay.py" 0 "$ZN_PORT" 10 >"$WORK/delay.out" &
PIDS+=($!)
for _ in $(seq 1 100); do DPORT=$(sed -n 's/^listening \([0-9]*\)$/\1/p' "$WORK/delay.out"); [ -n "$DPORT" ] && break; sleep 0.05; done
stall() { # stall MODE LINES: one PSK device's handshakes (server side, from the log) while the GBA devices of
           # first.impis LINES attach one after the other, each for the first time (a Zn request each)
  local mode=$1 args=()
  [ "$mode" = blocking ] && args=(--zn-blocking)
  : >"$LOG"
  start_registrar --threads 1 --idle-timeout 86400 --zn-timeout 5000 --max-request-rate 0 --admin 0 \
    --bsf "https://127.0.0.1:$DPORT" --bsf-root "$WORK/gba-root.crt" --naf-cert "$WORK/naf.crt" \
    --naf-key "$WORK/naf.key" --naf-fqdn "$NAF_FQDN" "${args[@]}"
  command -v taskset >/dev/null && taskset -pc 0 "$REG_PID" >/dev/null
  [ "$mode" = none ] || gba_ue bench-ids --impis <(sed -n "${2}p" "$WORK/first.impis") --out "$WORK/stall.ids" \
                          --fqdn "$NAF_FQDN" --ua 01000100ae
  pin 1 "$BENCH" handshakes --port "$PORT" --ids-file "$WORK/psk.ids" --clients 1 --seconds 6 >"$WORK/victim.out" &
  local v=$! id key identity
  if [ "$mode" != none ]; then
    while read -r id key identity; do
      pin 1 openssl s_client -connect "127.0.0.1:$PORT" -psk_identity "$identity" -psk "$key" -tls1_2 \
        -cipher PSK-AES128-CBC-SHA256 </dev/null >/dev/null 2>&1 || true
    done <"$WORK/stall.ids"
  fi
  wait "$v"
  local victim blocked gba
  victim=$(grep '^RESULT' "$WORK/victim.out")
  blocked=$(curl -s "http://127.0.0.1:$(sed -n 's/^listening admin port \([0-9]*\)$/\1/p' "$WORK/serve.out")/metrics" |
              sed -n 's/^m2m_gba_zn_blocked_seconds_total //p')
  gba=$(python3 -c 'import re,sys; v=sorted(float(m) for m in re.findall(r"mechanism=gba .*? ms=([0-9.]+)", open(sys.argv[1]).read())); print("%d, median %.1f ms" % (len(v), v[len(v)//2] if v else 0))' "$LOG")
  echo "STALL zn=$mode psk_handshakes_in_6s=$(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$victim") \
client_ms_p50=$(sed -n 's/.*lat_p50_ms=\([0-9.]*\).*/\1/p' <<<"$victim") \
p99=$(sed -n 's/.*lat_p99_ms=\([0-9.]*\).*/\1/p' <<<"$victim") max=$(sed -n 's/.*lat_max_ms=\([0-9.]*\).*/\1/p' <<<"$victim") \
over_20ms=$(sed -n 's/.*lat_over_20ms=\([0-9]*\).*/\1/p' <<<"$victim") | worker_blocked_in_zn_s=${blocked:-0} \
gba_first_attachments=$gba (server side)"
  stop_registrar
}
s_none=$(stall none | grep '^STALL'); echo "$s_none"
s_async=$(stall async 1,40 | grep '^STALL'); echo "$s_async"
s_block=$(stall blocking 41,80 | grep '^STALL'); echo "$s_block"

{
  echo "# GBA (x.y.5) benchmark — $(date -u +%Y-%m-%dT%H:%MZ), $(openssl version | cut -d' ' -f1-2), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "Registrar one worker on CPU 0, clients on CPU 1, TLS 1.2 PSK-AES128-CBC-SHA256, $rounds interleaved rounds of ${secs} s."
  echo
  echo "| figure | value |"
  echo "|---|---:|"
  echo "| GBA re-attachment (cached Ks_NAF) / PSK re-attachment, by rate | $rate_ratio |"
  echo "| the same by server CPU per attachment | $cpu_ratio |"
  echo "| first attachment of a B-TID (Zn round trip) + CREATE, attachments/s | $(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$first") |"
  echo "| bootstraps per second at the BSF (4 UEs) | $(sed -n 's/.* rate=\([0-9.]*\).*/\1/p' <<<"$boot") |"
  echo "| BSF CPU per bootstrap (µs) | $boot_cpu |"
  echo
  echo "One PSK device's handshakes (as the device sees them: connect to close, 6 s, one Registrar worker) alone, and while 40 GBA"
  echo "devices attach one after the other for the first time through a BSF 10 ms away each way (a Zn request each):"
  echo "Zn on the worker's loop (the default) and, for comparison, inside the TLS callback (--zn-blocking)."
  echo
  echo '```'
  echo "$s_none"
  echo "$s_async"
  echo "$s_block"
  echo '```'
  echo
  echo "Raw lines:"
  echo
  echo '```'
  for r in $(seq 1 "$rounds"); do echo "round $r: psk ${rate[psk.$r]}/s ${cpu[psk.$r]} us/op, gba ${rate[gba.$r]}/s ${cpu[gba.$r]} us/op"; done
  echo "$first"
  echo "$zn"
  echo "$boot bsf_cpu_us_per_bootstrap=$boot_cpu"
  echo '```'
} >"$OUT"
cat "$OUT"
