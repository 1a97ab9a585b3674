#!/usr/bin/env bash
# The TLS-PSK attachment benchmark (issue 2): one command, results in bench/results/psk-latest.md.
#
#   bash bench/run.sh [BUILD_DIR]        (or: make bench)
#
# Starts a Registrar (1 worker thread) and the raw-OpenSSL ceiling server (1 thread) on loopback, pinned to one
# core, drives them from m2m-bench pinned to the other core, in interleaved rounds, then measures the Registrar's
# resident memory with 1,000 and 10,000 idle attached connections. bench/README.md explains every number.
#
# Knobs (environment): M2M_BENCH_ROUNDS (3), M2M_BENCH_SECONDS (5), M2M_BENCH_CLIENTS (16),
# M2M_BENCH_ATTACH_IDS (2000 per round and TLS version), M2M_BENCH_TLS13 (1), M2M_BENCH_IDLE ("1000 10000"),
# M2M_BENCH_SERVER_CPU (0), M2M_BENCH_CLIENT_CPU (1), M2M_BENCH_DIR (temp dir for the store; default under /tmp),
# M2M_BENCH_OUT (bench/results/psk-latest.md), M2M_BIN (the m2mattach binary; default BUILD_DIR/m2mattach),
# M2M_BENCH_REV (source revision to print; default from git), M2M_BENCH_KEEP=1 (keep the temp dir).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
M2M=${M2M_BIN:-$BUILD/m2mattach}
BENCH=$BUILD/bench/m2m-bench
ROUNDS=${M2M_BENCH_ROUNDS:-3}
SECS=${M2M_BENCH_SECONDS:-5}
CLIENTS=${M2M_BENCH_CLIENTS:-16}
ATTACH_IDS=${M2M_BENCH_ATTACH_IDS:-2000}
TLS13=${M2M_BENCH_TLS13:-1}
IDLE_COUNTS=${M2M_BENCH_IDLE:-1000 10000}
SERVER_CPU=${M2M_BENCH_SERVER_CPU:-0}
CLIENT_CPU=${M2M_BENCH_CLIENT_CPU:-1}
OUT=${M2M_BENCH_OUT:-$ROOT/bench/results/psk-latest.md}
REATTACH_IDS=16 # Registrees registered once in the set-up, then re-attached round-robin (also the ceiling's keys)

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# ---- build ----
if ! cmake --build "$BUILD" -j "$(nproc)" --target m2m-bench m2mattach-cli >/dev/null 2>"${TMPDIR:-/tmp}/m2m-bench-build.$$"; then
    if [[ ! -d $BUILD ]] || [[ ! -f $BUILD/CMakeCache.txt ]]; then
        cmake -S "$ROOT" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j "$(nproc)" --target m2m-bench m2mattach-cli >/dev/null ||
            die "build failed"
    elif [[ -x $M2M && -x $BENCH ]]; then
        say "warning: the build failed; using the existing binaries $M2M and $BENCH"
        sed 's/^/    /' "${TMPDIR:-/tmp}/m2m-bench-build.$$" | grep -E 'error|Error' | head -5 >&2 || true
    else
        cat "${TMPDIR:-/tmp}/m2m-bench-build.$$" >&2
        die "build failed and $M2M or $BENCH is missing (set M2M_BIN to use another m2mattach binary)"
    fi
fi
rm -f "${TMPDIR:-/tmp}/m2m-bench-build.$$"
[[ -x $M2M ]] || die "no m2mattach binary at $M2M"
[[ -x $BENCH ]] || die "no m2m-bench binary at $BENCH"

# ---- processes: everything started here is stopped on exit ----
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

# 10,000 idle connections need more than the usual 1024 descriptors on both ends.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

PIN_S=() PIN_C=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then
    PIN_S=(taskset -c "$SERVER_CPU")
    PIN_C=(taskset -c "$CLIENT_CPU")
    PINNING="servers on CPU $SERVER_CPU, client on CPU $CLIENT_CPU (taskset)"
else
    PINNING="none (taskset missing or fewer than 2 CPUs)"
fi

WORK=$(mktemp -d "${M2M_BENCH_DIR:-${TMPDIR:-/tmp}}/m2m-bench.XXXXXX")
DB=$WORK/registrar.db
T_START=$(date +%s)

# ---- store and enrolments (through the CLI only) ----
"$M2M" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null
NVERS=1
((TLS13)) && NVERS=2
N_ATTACH=$((ROUNDS * ATTACH_IDS * NVERS))
N_ALL=$((REATTACH_IDS + N_ATTACH))
say "enrolling $N_ALL Registrees with 'm2mattach enrol psk' ($REATTACH_IDS to re-attach, $N_ATTACH to attach once)"
# Distinct random 16-octet keys (a key ID may be enrolled only once).
head -c $((16 * N_ALL)) /dev/urandom | od -An -v -tx1 -w16 | tr -d ' ' |
    awk -v r=$REATTACH_IDS '{ if (NR <= r) printf "Cbre%d %s\n", NR, $1; else printf "Cbat%d %s\n", NR - r, $1 }' >"$WORK/keys"
# Four enrolments at a time (each mostly waits for its fsync); SQLite's busy timeout serialises the commits.
xargs -P 4 -L 1 sh -c 'exec "$0" enrol psk --db "$1" --registree-id "$2" --key "$3"' "$M2M" "$DB" <"$WORK/keys" \
    >"$WORK/enrol.out" 2>"$WORK/enrol.err" || die "enrolment failed: $(head -3 "$WORK/enrol.err")"
# "enrolled ID (psk, Kca_ID HEX)" -> "ID KEY KEYID", in enrolment order.
sed -n 's/^enrolled \([^ ]*\) (psk, K.._ID \([0-9a-f]*\))$/\1 \2/p' "$WORK/enrol.out" | sort >"$WORK/kid"
sort "$WORK/keys" | join - "$WORK/kid" | sort -V >"$WORK/creds"
[[ $(wc -l <"$WORK/creds") -eq $N_ALL ]] || die "expected $N_ALL enrolments, got $(wc -l <"$WORK/creds")"
grep '^Cbre' "$WORK/creds" >"$WORK/ids-reattach"
grep '^Cbat' "$WORK/creds" >"$WORK/ids-attach-all"
ATTACH_FILE_NO=0
next_attach_file() { # sets AFILE to a fresh slice of never-registered IDs (not in a subshell: it counts)
    AFILE=$WORK/ids-attach-$ATTACH_FILE_NO
    sed -n "$((ATTACH_FILE_NO * ATTACH_IDS + 1)),$(((ATTACH_FILE_NO + 1) * ATTACH_IDS))p" "$WORK/ids-attach-all" >"$AFILE"
    ATTACH_FILE_NO=$((ATTACH_FILE_NO + 1))
    [[ -s $AFILE ]] || die "ran out of enrolled attach IDs"
}

# ---- servers ----
start_server() { # name, port regex field, command... ; sets SPID and SPORT
    local name=$1 out=$WORK/$1.out
    shift
    "${PIN_S[@]}" "$@" >"$out" 2>"$WORK/$name.err" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 1 100); do
        SPORT=$(sed -n 's/^listening .*port \([0-9]*\).*/\1/p' "$out")
        [[ -n $SPORT ]] && return 0
        kill -0 "$SPID" 2>/dev/null || die "$name did not start: $(cat "$WORK/$name.err")"
        sleep 0.05
    done
    die "$name did not report its port"
}
start_server registrar "$M2M" registrar serve --db "$DB" --https 127.0.0.1:0 --threads 1 --quiet --idle-timeout 86400
RPID=$SPID RPORT=$SPORT
start_server ceiling "$BENCH" ceiling-server --port 0 --threads 1 --ids-file "$WORK/ids-reattach"
CPID=$SPID CPORT=$SPORT
say "Registrar pid $RPID port $RPORT; ceiling server pid $CPID port $CPORT; $PINNING"

RESULTS=$WORK/results.txt
: >"$RESULTS"
run() { # label, m2m-bench arguments...
    local label=$1 line
    shift
    kill -0 "$RPID" 2>/dev/null || die "the Registrar exited: $(tail -3 "$WORK/registrar.err")"
    line=$("${PIN_C[@]}" "$BENCH" "$@" --clients "$CLIENTS" --label "$label" 2>>"$WORK/client.err" | grep '^RESULT') ||
        say "warning: $label reported errors: $(tail -1 "$WORK/client.err")"
    [[ -n ${line:-} ]] || die "$label produced no result: $(tail -3 "$WORK/client.err")"
    echo "$line" >>"$RESULTS"
    say "$(echo "$line" | sed 's/^RESULT //; s/ cipher=[^ ]*//; s/ clients=[^ ]*//')"
}

# Register the re-attaching Registrees once (not measured).
"${PIN_C[@]}" "$BENCH" attach --port "$RPORT" --ids-file "$WORK/ids-reattach" --clients 4 --seconds 30 >/dev/null \
    2>>"$WORK/client.err" || die "registering the re-attach IDs failed: $(tail -1 "$WORK/client.err")"

# ---- interleaved rounds ----
RE=(--ids-file "$WORK/ids-reattach" --seconds "$SECS")
# Warm-up, not recorded: page cache, allocator, CPU frequency.
for p in "$CPORT" "$RPORT"; do
    "${PIN_C[@]}" "$BENCH" handshakes --port "$p" --ids-file "$WORK/ids-reattach" --seconds 1 --clients "$CLIENTS" \
        >/dev/null 2>>"$WORK/client.err" || true
done
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 1 "$ROUNDS"); do
    say "round $r of $ROUNDS"
    run ceiling-12 handshakes --tls 1.2 --port "$CPORT" --server-pid "$CPID" "${RE[@]}"
    run handshake-12 handshakes --tls 1.2 --port "$RPORT" --server-pid "$RPID" "${RE[@]}"
    run reattach-12 reattach --tls 1.2 --port "$RPORT" --server-pid "$RPID" "${RE[@]}"
    next_attach_file
    run attach-12 attach --tls 1.2 --port "$RPORT" --server-pid "$RPID" --ids-file "$AFILE" --seconds "$SECS"
    run reattach-12-qa reattach --quickack --tls 1.2 --port "$RPORT" --server-pid "$RPID" "${RE[@]}"
    if ((TLS13)); then
        run ceiling-13 handshakes --tls 1.3 --port "$CPORT" --server-pid "$CPID" "${RE[@]}"
        run reattach-13 reattach --tls 1.3 --port "$RPORT" --server-pid "$RPID" "${RE[@]}"
        next_attach_file
        run attach-13 attach --tls 1.3 --port "$RPORT" --server-pid "$RPID" --ids-file "$AFILE" --seconds "$SECS"
    fi
done

# ---- memory with idle attached connections ----
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" | wc -l; }
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"; }
sleep 1
BASE_FDS=$(nfds "$RPID")
BASE_RSS=$(rss_kib "$RPID")
MEM_ROWS=()
for n in $IDLE_COUNTS; do
    say "opening $n idle attached connections"
    "${PIN_C[@]}" "$BENCH" idle --port "$RPORT" --ids-file "$WORK/ids-reattach" --count "$n" --clients "$CLIENTS" \
        --quickack --server-pid "$RPID" --seconds 600 >"$WORK/idle-$n.out" 2>"$WORK/idle-$n.err" &
    IPID=$!
    PIDS+=("$IPID")
    for _ in $(seq 1 1200); do # at most 120 s
        grep -q '^READY' "$WORK/idle-$n.out" && break
        kill -0 "$IPID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^READY' "$WORK/idle-$n.out" || die "idle client for $n did not get ready: $(tail -3 "$WORK/idle-$n.err")"
    OPENED=$(sed -n 's/^READY opened=\([0-9]*\).*/\1/p' "$WORK/idle-$n.out")
    sleep 1
    RSS=$(rss_kib "$RPID")
    FDS=$(nfds "$RPID")
    T0=$(cpu_ticks "$RPID")
    sleep 2
    IDLE_CPU=$(awk -v a="$T0" -v b="$(cpu_ticks "$RPID")" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / hz / 2 * 100}')
    MEM_ROWS+=("$n $OPENED $RSS $FDS $IDLE_CPU")
    say "$OPENED connections: VmRSS $RSS KiB, $FDS fds, idle CPU $IDLE_CPU %"
    kill "$IPID" 2>/dev/null || true
    wait "$IPID" 2>/dev/null || true
    for _ in $(seq 1 200); do # wait (at most 20 s) until the Registrar has let them go
        (($(nfds "$RPID") <= BASE_FDS + 5)) && break
        sleep 0.1
    done
done
AFTER_RSS=$(rss_kib "$RPID")
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
if [[ -n ${M2M_BENCH_REV:-} ]]; then
    REV=$M2M_BENCH_REV
elif REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); then
    git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || REV="$REV with local changes in src/ or include/"
else
    REV="unknown revision"
fi
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
field() { # label, key -> values of that key, one per round
    awk -v l="label=$1" -v k="$2=" '{for (i = 1; i <= NF; i++) {if ($i == l) hit = 1}
        if (hit) for (i = 1; i <= NF; i++) if (index($i, k) == 1) print substr($i, length(k) + 1); hit = 0}' "$RESULTS"
}
med() { field "$1" "$2" | median; }
errs() { field "$1" errors | awk '{s += $1} END {print s + 0}'; }

row() { # label, description, ceiling label
    local rate us util ceil_rate ceil_us ratio cratio
    rate=$(med "$1" rate)
    us=$(med "$1" server_cpu_us_per_op)
    util=$(med "$1" server_cpu_util)
    ceil_rate=$(med "$3" rate)
    ceil_us=$(med "$3" server_cpu_us_per_op)
    ratio=$(awk -v a="$rate" -v b="$ceil_rate" 'BEGIN {printf (b > 0) ? "%.2f" : "–", a / b}')
    cratio=$(awk -v a="$ceil_us" -v b="$us" 'BEGIN {printf (a > 0 && b > 0) ? "%.2f" : "–", a / b}')
    [[ $1 == "$3" ]] && ratio="1 (ceiling)" && cratio="1 (ceiling)"
    printf '| %s | %s | %.0f | %s | %.0f | %s | %.0f %% | %s |\n' "$2" "$(field "$1" tls | head -1)" "$rate" "$ratio" \
        "$us" "$cratio" "$(awk -v u="$util" 'BEGIN {print u * 100}')" "$(errs "$1")"
}

RE12=$(awk -v a="$(med reattach-12 rate)" -v b="$(med ceiling-12 rate)" 'BEGIN {printf "%.2f", a / b}')
RE12CPU=$(awk -v a="$(med ceiling-12 server_cpu_us_per_op)" -v b="$(med reattach-12 server_cpu_us_per_op)" \
    'BEGIN {printf "%.2f", (b > 0) ? a / b : 0}')
GOAL=$(awk -v r="$RE12" 'BEGIN {print (r >= 0.8) ? "met" : "not met"}')
GOALCPU=$(awk -v r="$RE12CPU" 'BEGIN {print (r >= 0.8) ? "met" : "not met"}')
mkdir -p "$(dirname "$OUT")"
{
    echo "# TLS-PSK attachment benchmark"
    echo
    echo "Generated by \`bash bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $(($(date +%s) - T_START)) s."
    echo "Source: $REV,"
    echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), $(openssl version 2>/dev/null | cut -d' ' -f1-2)."
    echo "Registrar: \`$M2M registrar serve --threads 1 --quiet\`, SQLite store in $(dirname "$WORK")."
    echo "Ceiling: \`m2m-bench ceiling-server --threads 1\` (raw OpenSSL, epoll; handshake + close_notify)."
    echo "Client: \`m2m-bench\`, $CLIENTS threads, one connection at a time each. Pinning: $PINNING."
    echo "$ROUNDS interleaved rounds of ${SECS} s per measurement; each figure is the median of the rounds."
    echo "Attach rounds use $ATTACH_IDS fresh Registree IDs each and end early if they run out."
    echo "Load average (1/5/15 min) at the first round: $LOAD_START; at the end: $LOAD_END. Other work on the"
    echo "machine shows up as lower rates and a server core that is not busy; the CPU-per-op columns suffer less."
    echo
    echo "**Goal: re-attachment ≥ 0.8 × the raw-OpenSSL ceiling (TLS 1.2 PSK-AES128-CBC-SHA256).**"
    echo "By rate: **$GOAL** (ratio $RE12). By server CPU per operation: **$GOALCPU** (ratio $RE12CPU)."
    echo "(bench/README.md: when the ceiling's server core is not fully busy, the client limits the rates; the CPU"
    echo "ratio is the per-core capacity comparison and the steadier of the two.)"
    echo
    echo "| measurement | TLS | per second | ratio to ceiling | server CPU µs/op | ceiling µs ÷ µs | server core busy | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    row ceiling-12 "raw OpenSSL TLS-PSK handshakes (ceiling)" ceiling-12
    row handshake-12 "Registrar: handshake only" ceiling-12
    row reattach-12 "Registrar: re-attachment (handshake + RETRIEVE)" ceiling-12
    row attach-12 "Registrar: full attachment (handshake + CREATE &lt;AE&gt;)" ceiling-12
    if ((TLS13)); then
        row ceiling-13 "raw OpenSSL TLS-PSK handshakes (ceiling)" ceiling-13
        row reattach-13 "Registrar: re-attachment (handshake + RETRIEVE)" ceiling-13
        row attach-13 "Registrar: full attachment (handshake + CREATE &lt;AE&gt;)" ceiling-13
    fi
    echo
    echo "Diagnostic (not what a device does): the client sets TCP_QUICKACK before reading each response, which"
    echo "hides a ~40 ms Nagle / delayed-ACK stall if the server writes a response in several segments without"
    echo "TCP_NODELAY. Close to the row above means there is no such stall."
    echo
    echo "| measurement | TLS | per second | ratio to ceiling | server CPU µs/op | ceiling µs ÷ µs | server core busy | errors |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    row reattach-12-qa "Registrar: re-attachment, client QUICKACK" ceiling-12
    echo
    echo "Resident memory of the Registrar (VmRSS), idle attached connections (each did handshake + RETRIEVE):"
    echo
    echo "| state | connections | VmRSS MiB | KiB per connection | Registrar fds | idle CPU |"
    echo "|---|---:|---:|---:|---:|---:|"
    printf '| baseline (after the rounds) | 0 | %.1f | – | %d | – |\n' "$(awk -v k="$BASE_RSS" 'BEGIN {print k / 1024}')" "$BASE_FDS"
    for m in "${MEM_ROWS[@]}"; do
        read -r n opened rss fds cpu <<<"$m"
        printf '| %s idle | %d | %.1f | %.1f | %d | %s %% |\n' "$n" "$opened" \
            "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" \
            "$(awk -v k="$rss" -v b="$BASE_RSS" -v n="$opened" 'BEGIN {print (k - b) / n}')" "$fds" "$cpu"
    done
    printf '| after closing them | 0 | %.1f | – | – | – |\n' "$(awk -v k="$AFTER_RSS" 'BEGIN {print k / 1024}')"
    echo
    echo "<details><summary>Every round (m2m-bench RESULT lines)</summary>"
    echo
    echo '```'
    sed 's/^RESULT //' "$RESULTS"
    echo '```'
    echo "</details>"
} >"$OUT"
say "wrote $OUT"
cat "$OUT"
