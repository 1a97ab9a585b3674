#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Where the Registrar's time goes (issue 10): perf profiles of one Registrar worker under the bench's TLS 1.2 PSK
# loads, written to bench/results/profile.md.
#
#   bash bench/profile.sh [BUILD_DIR]
#
# Profiles, each while m2m-bench drives the Registrar from the other core (16 client threads):
#   reattach  PSK re-attachment: handshake + RETRIEVE of the Registree's <AE> (as reattach-12 in run.sh)
#   attach    PSK full attachment: handshake + CREATE <AE> (as attach-12), fresh Registrees until they run out
#   stream    durable CREATE <contentInstance> on 16 keep-alive connections (as stream-cin-16)
# Sampling is perf's cpu-clock (a software event: this machine's virtual CPUs have no hardware counters), with
# DWARF call graphs so that inclusive times ("children") reach through libraries built without frame pointers.
# perf comes from Debian's linux-perf package (apt-get install linux-perf).
#
# Knobs: M2M_PROFILE_SECONDS (8 per profile), M2M_PROFILE_ATTACH_IDS (6000 fresh Registrees for the attach
# profile), M2M_PROFILE_FREQ (999 samples a second), M2M_PROFILE_OUT (bench/results/profile.md), M2M_BIN,
# M2M_BENCH_KEEP=1 (keep the temporary directory with the perf.data files).
# Anything in the output file below the line "<!-- notes -->" is kept when the file is written again.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
M2M=${M2M_BIN:-$BUILD/m2mattach}
BENCH=$BUILD/bench/m2m-bench
SECS=${M2M_PROFILE_SECONDS:-8}
ATTACH_IDS=${M2M_PROFILE_ATTACH_IDS:-6000}
FREQ=${M2M_PROFILE_FREQ:-999}
OUT=${M2M_PROFILE_OUT:-$ROOT/bench/results/profile.md}
CLIENTS=16

say() { printf '[profile %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

command -v perf >/dev/null || die "perf is needed: apt-get install linux-perf"
perf record -e cpu-clock -o /dev/null -- true >/dev/null 2>&1 ||
    die "perf cannot sample here (perf_event_paranoid is $(cat /proc/sys/kernel/perf_event_paranoid); run as root)"
if perf stat -x, -e instructions true 2>&1 | grep -q 'not supported'; then
    HW="No hardware counters (perf stat -e instructions: not supported), so cpu-clock sampling"
else
    HW="Hardware counters available; sampling cpu-clock all the same, comparable with runs without them"
fi
cmake --build "$BUILD" -j "$(nproc)" --target m2m-bench m2mattach-cli >/dev/null || die "build failed"

PIDS=()
WORK=""
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [[ -n $WORK && -z ${M2M_BENCH_KEEP:-} ]] && rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PIN_S=() PIN_C=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
    PIN_S=(taskset -c 0)
    PIN_C=(taskset -c 1)
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/m2m-profile.XXXXXX")
DB=$WORK/registrar.db
"$M2M" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null

# ---- PSK Registrees: 16 to re-attach and stream, ATTACH_IDS to attach once (as in run.sh) ----
say "enrolling $((16 + ATTACH_IDS)) PSK Registrees"
mkdir -m 700 "$WORK/psk"
head -c $((16 * (16 + ATTACH_IDS))) /dev/urandom | od -An -v -tx1 -w16 | tr -d ' ' |
    awk '{ if (NR <= 16) printf "Cpre%d %s\n", NR, $1; else printf "Cpat%d %s\n", NR - 16, $1 }' >"$WORK/keys"
(umask 077; while read -r id key; do printf '%s\n' "$key" >"$WORK/psk/$id.key"; done <"$WORK/keys")
cut -d' ' -f1 "$WORK/keys" |
    xargs -P 4 -L 1 sh -c 'exec "$0" enrol psk --db "$1" --registree-id "$3" --key-file "$2/$3.key"' \
        "$M2M" "$DB" "$WORK/psk" >"$WORK/enrol.out" 2>"$WORK/enrol.err" || die "enrolment failed: $(head -3 "$WORK/enrol.err")"
sed -n 's/^enrolled \([^ ]*\) (psk, K.._ID \([0-9a-f]*\))$/\1 \2/p' "$WORK/enrol.out" | sort >"$WORK/kid"
sort "$WORK/keys" | join - "$WORK/kid" | sort -V >"$WORK/creds"
grep '^Cpre' "$WORK/creds" >"$WORK/ids-reattach"
grep '^Cpat' "$WORK/creds" >"$WORK/ids-attach"

# ---- the Registrar: one worker, as in run.sh ----
REG=(registrar serve --db "$DB" --https 127.0.0.1:0 --threads 1 --quiet --idle-timeout 86400
     --max-per-address 0 --max-request-rate 1000000 --max-resources 1000000)
"${PIN_S[@]}" "$M2M" "${REG[@]}" >"$WORK/registrar.out" 2>"$WORK/registrar.err" &
RPID=$!
PIDS+=("$RPID")
for _ in $(seq 1 100); do
    RPORT=$(sed -n 's/^listening https port \([0-9]*\).*/\1/p' "$WORK/registrar.out")
    [[ -n $RPORT ]] && break
    kill -0 "$RPID" 2>/dev/null || die "the Registrar did not start: $(cat "$WORK/registrar.err")"
    sleep 0.05
done
[[ -n $RPORT ]] || die "the Registrar did not report its port"
"${PIN_C[@]}" "$BENCH" attach --port "$RPORT" --ids-file "$WORK/ids-reattach" --clients 4 --seconds 30 >/dev/null ||
    die "registering the re-attaching Registrees failed"
"${PIN_C[@]}" "$BENCH" reattach --port "$RPORT" --ids-file "$WORK/ids-reattach" --clients "$CLIENTS" --seconds 1 \
    >/dev/null # warm-up

# profile NAME m2m-bench-arguments...: samples the Registrar (all its threads) while the client runs.
declare -A RES=()
profile() {
    local name=$1 perf_pid
    shift
    say "profiling $name: m2m-bench $*"
    perf record -q -e cpu-clock -F "$FREQ" --call-graph dwarf,16384 -p "$RPID" -o "$WORK/$name.data" \
        >/dev/null 2>"$WORK/perf-$name.err" &
    perf_pid=$!
    sleep 0.5 # perf attached
    RES[$name]=$("${PIN_C[@]}" "$BENCH" "$@" --port "$RPORT" --server-pid "$RPID" --clients "$CLIENTS" \
        --label "$name" 2>>"$WORK/client.err" | sed -n 's/^RESULT //p') || true
    kill -INT "$perf_pid"
    wait "$perf_pid" || true
    [[ -s $WORK/$name.data ]] || die "perf wrote nothing for $name: $(tail -2 "$WORK/perf-$name.err")"
    say "${RES[$name]}"
}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
profile reattach reattach --tls 1.2 --ids-file "$WORK/ids-reattach" --seconds "$SECS"
profile attach attach --tls 1.2 --ids-file "$WORK/ids-attach" --seconds "$SECS"
profile stream stream-create --tls 1.2 --ids-file "$WORK/ids-reattach" --seconds "$SECS"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
rep() { # perf.data, perf report options... -> its lines with a percentage, without headers
    local data=$1
    shift
    perf report -i "$data" --stdio -g none --percent-limit 0 "$@" 2>/dev/null | grep -E '^ +[0-9.]+%' || true
}
# "  12.34%  dso  [.] symbol" -> "| 12.3 % | dso | symbol |"
self_table() {
    echo "| self | object | symbol |"
    echo "|---:|---|---|"
    rep "$1" --no-children --sort dso,sym | head -"$2" |
        awk '{p = $1; d = $2; $1 = $2 = $3 = ""; sub(/^ +/, ""); gsub(/\|/, "\\|"); printf "| %s | %s | `%s` |\n", p, d, $0}'
}
dso_table() {
    echo "| self | object |"
    echo "|---:|---|"
    rep "$1" --no-children --sort dso | awk '$1 + 0 >= 0.5 {printf "| %s | %s |\n", $1, $2}'
}
# Inclusive time of the entry points that say which part of the request path costs what (unresolved frames of
# the stripped libraries are skipped; a symbol seen under itself counts once).
WATCH='SSL_do_handshake|SSL_read|SSL_write|m2m_http_handle|m2m_http_parse_request|m2m_http_render_response|m2m_cse_handle|m2m_cse_create_child|m2m_store_[a-z_]*|sq_[a-z_]*|writer_main|run_unit|sqlite3_step|sqlite3_prepare_v[23]|sqlite3_exec|evhttp_send_reply|evhttp_[a-z_]*parse[a-z_]*|cJSON_Parse[A-Za-z]*|cJSON_Print[A-Za-z]*|m2m_json_parse_strict|malloc|free|cfree[@A-Z_.0-9]*|__x64_sys_[a-z_0-9]*|tls_[a-z_]*|ssl3_[a-z_]*|m2m_psk[a-z_]*|m2m_tls[a-z_]*|m2m_limits[a-z_]*|event_base_loop|worker_main'
children_table() {
    echo "| inclusive | self | object | symbol |"
    echo "|---:|---:|---|---|"
    rep "$1" --children --sort dso,sym | awk -v re="^($WATCH)\$" '{s = $5; for (i = 6; i <= NF; i++) s = s " " $i}
        s ~ re && $1 + 0 >= 0.5 {printf "| %s | %s | %s | `%s` |\n", $1, $2, $3, s}' | head -"$2"
}
thread_table() { # the threads are unnamed: which is which, from the function each runs
    echo "| share | thread | runs |"
    echo "|---:|---|---|"
    rep "$1" --children --sort pid,sym | awk '$NF ~ /^(worker_main|writer_main|event_base_dispatch)$/ {print $3, $NF}' \
        >"$WORK/roles"
    rep "$1" --no-children --sort pid | awk -v roles="$WORK/roles" '
        BEGIN {
            name["worker_main"] = "the worker (event loop)"
            name["writer_main"] = "the store writer (group commit)"
            name["event_base_dispatch"] = "the admin listener"
            while ((getline l < roles) > 0) {
                split(l, f, " ")
                r[f[1]] = name[f[2]]
            }
        }
        $1 + 0 >= 0.5 {printf "| %s | %s | %s |\n", $1, $2, ($2 in r) ? r[$2] : "?"}'
}
# Each sample by the phase of the work it is in, from the functions on its stack (the first that matches): the
# stripped libraries' internal frames have no names, but their exported entry points and the Registrar's do.
phase_table() {
    echo "| share | phase |"
    echo "|---:|---|"
    perf script -i "$1" -F ip,sym,dso 2>/dev/null | awk 'BEGIN {RS = ""}
        {
            p = "other: the event loop, libevent, timers"
            if ($0 ~ /writer_main/) p = "the store writer thread: transactions, fsync"
            else if ($0 ~ /m2m_http_handle/) p = "request handling: HTTP, oneM2M, store reads, response (`m2m_http_handle`)"
            else if ($0 ~ /[ \t]SSL_write[ \t]/) p = "TLS writes: records encrypted and sent (`SSL_write`)"
            else if ($0 ~ /[ \t]SSL_read[ \t]/) p = "TLS reads: records received and decrypted (`SSL_read`)"
            else if ($0 ~ /m2m_store_done_queue_drain/) p = "answers to committed writes (`m2m_store_done_queue_drain`)"
            else if ($0 ~ /libssl\.so/) p = "TLS handshake, `SSL_new` / `SSL_free`: the rest of libssl (PSK lookup included)"
            else if ($0 ~ /__x64_sys_(accept4|close|epoll_wait|epoll_ctl|shutdown)/) p = "accept, close, epoll (kernel)"
            n[p]++
            total++
        }
        END {for (p in n) printf "%.1f %s\n", 100 * n[p] / total, p}' | sort -rn | awk '{p = $1; $1 = ""; printf "| %s%% |%s |\n", p, $0}'
}
# Inside the request handler: of the samples under m2m_http_handle, the share under each named function (each
# counted once per sample, so the shares overlap: a caller includes its callees).
handler_table() {
    echo "| share of the handler's samples | function |"
    echo "|---:|---|"
    perf script -i "$1" -F ip,sym 2>/dev/null | awk 'BEGIN {RS = ""}
        /m2m_http_handle/ {
            n = split($0, line, "\n")
            total++
            delete seen
            for (i = 1; i <= n; i++) {
                f = line[i]
                sub(/^[ \t]*[0-9a-f]+ /, "", f)
                sub(/ \(inlined\)$/, "", f)
                if (f == "m2m_http_handle")
                    break
                if (f !~ /^\[unknown\]/ && !(f in seen)) {
                    seen[f] = 1
                    c[f]++
                }
            }
        }
        END {for (f in c) if (total > 0 && c[f] >= total / 40) printf "%.0f %s\n", 100 * c[f] / total, f}' |
        sort -rn | head -"$2" | awk '{printf "| %s %% | `%s` |\n", $1, $2}'
}
samples() { perf report -i "$1" --stdio -g none 2>/dev/null | sed -n 's/^# Samples: \([^ ]*\).*/\1/p' | head -1; }
result() { tr ' ' '\n' <<<"${RES[$1]}" | sed -n "s/^$2=//p"; }

NOTES=""
[[ -f $OUT ]] && NOTES=$(sed -n '/^<!-- notes -->$/,$p' "$OUT")
mkdir -p "$(dirname "$OUT")"
{
    echo "# Where the Registrar's time goes: perf profiles (issue 10)"
    echo
    echo "Generated by \`bash bench/profile.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'); source $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown);"
    echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), $(openssl version | cut -d' ' -f1-2), $(perf --version)."
    echo "Registrar: \`m2mattach ${REG[*]//$WORK\//}\` pinned to CPU 0 (one worker thread, plus the store's"
    echo "writer and the admin thread); m2m-bench, $CLIENTS client threads, pinned to CPU 1. TLS 1.2 PSK"
    echo "(\`PSK-AES128-CBC-SHA256\`). $HW: \`perf record -e cpu-clock -F $FREQ --call-graph dwarf,16384 -p PID\`"
    echo "for the length of each load. Percentages are of the Registrar's samples (all its threads); *self* is time in the"
    echo "function itself, *inclusive* with what it calls. OpenSSL, libevent and SQLite are Debian's stripped builds:"
    echo "their internal functions show as addresses and are left out of the inclusive table."
    echo "Load average (1/5/15 min) at the start: $LOAD_START; at the end: $LOAD_END (a shared machine: absolute"
    echo "rates and µs move with it, the shares within a profile much less)."
    for name in reattach attach stream; do
        echo
        case $name in
        reattach) echo "## PSK re-attachment (handshake + RETRIEVE), TLS 1.2" ;;
        attach) echo "## PSK full attachment (handshake + CREATE &lt;AE&gt;, durable), TLS 1.2" ;;
        stream) echo "## Durable CREATE &lt;contentInstance&gt; on 16 keep-alive connections" ;;
        esac
        echo
        echo "During the profile: $(result "$name" ops) operations in $(result "$name" seconds) s ($(result "$name" rate)/s),"
        echo "$(result "$name" server_cpu_us_per_op) µs of Registrar CPU each (perf running; its own cost is in these figures),"
        echo "$(result "$name" errors) errors; $(samples "$WORK/$name.data") samples."
        echo
        echo "By phase (each sample by the first of these on its stack):"
        echo
        phase_table "$WORK/$name.data"
        echo
        echo "By object (self):"
        echo
        dso_table "$WORK/$name.data"
        echo
        echo "By thread:"
        echo
        thread_table "$WORK/$name.data"
        echo
        echo "Top functions (self):"
        echo
        self_table "$WORK/$name.data" 25
        echo
        echo "Entry points (inclusive):"
        echo
        children_table "$WORK/$name.data" 40
        echo
        echo "Inside the request handler (\`m2m_http_handle\`; shares overlap, a caller includes its callees):"
        echo
        handler_table "$WORK/$name.data" 30
    done
    echo
    if [[ -n $NOTES ]]; then
        echo "$NOTES"
    else
        echo "<!-- notes -->"
    fi
} >"$OUT"
say "wrote $OUT"
