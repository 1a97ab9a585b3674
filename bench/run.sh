#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The attachment benchmark (issues 2, 3 and 4): one command, results in bench/results/latest.md.
#
#   bash bench/run.sh [BUILD_DIR]        (or: make bench)
#
# Starts a Registrar (1 worker thread, with a Registrar certificate, so PSK, certificate and token Registrees
# share one listener) and raw-OpenSSL ceiling servers (1 thread each) on loopback, pinned to one core, drives them
# from m2m-bench pinned to the other core, in interleaved rounds: TLS-PSK (issue 2), client-certificate and
# identity-token attachment (issue 3), session resumption per mechanism (issue 4). Then measures the Registrar's
# resident memory with 1,000 and 10,000 idle attached connections. bench/README.md explains every number.
#
# Knobs (environment): M2M_BENCH_ROUNDS (3), M2M_BENCH_SECONDS (3: TLS-PSK rows), M2M_BENCH_PKI_SECONDS (3:
# certificate, token and resumption rows), M2M_BENCH_CLIENTS (16), M2M_BENCH_ATTACH_IDS (1500 per round and TLS
# version), M2M_BENCH_CERT_IDS (300 per round and TLS version), M2M_BENCH_TOKEN_IDS (300 per round and TLS
# version), M2M_BENCH_TLS13 (1), M2M_BENCH_PKI (1; 0 runs the TLS-PSK part only), M2M_BENCH_IDLE ("1000 10000"),
# M2M_BENCH_SERVER_CPU (0), M2M_BENCH_CLIENT_CPU (1), M2M_BENCH_DIR (temp dir for the store; default under /tmp),
# M2M_BENCH_OUT (bench/results/latest.md), M2M_BIN (the m2mattach binary; default BUILD_DIR/m2mattach),
# M2M_BENCH_REV (source revision to print; default from git), M2M_BENCH_KEEP=1 (keep the temp dir).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
M2M=${M2M_BIN:-$BUILD/m2mattach}
BENCH=$BUILD/bench/m2m-bench
ROUNDS=${M2M_BENCH_ROUNDS:-3}
SECS=${M2M_BENCH_SECONDS:-3}
PSECS=${M2M_BENCH_PKI_SECONDS:-3}
CLIENTS=${M2M_BENCH_CLIENTS:-16}
ATTACH_IDS=${M2M_BENCH_ATTACH_IDS:-1500}
CERT_IDS=${M2M_BENCH_CERT_IDS:-300}
TOKEN_IDS=${M2M_BENCH_TOKEN_IDS:-300}
TLS13=${M2M_BENCH_TLS13:-1}
PKI=${M2M_BENCH_PKI:-1}
IDLE_COUNTS=${M2M_BENCH_IDLE:-1000 10000}
FILL=${M2M_BENCH_FILL:-1}
FILL_PER_PROC=${M2M_BENCH_FILL_PER_PROC:-5000}
PROBE_N=500 # devices that try to attach to the saturated Registrar
SERVER_CPU=${M2M_BENCH_SERVER_CPU:-0}
CLIENT_CPU=${M2M_BENCH_CLIENT_CPU:-1}
OUT=${M2M_BENCH_OUT:-$ROOT/bench/results/latest.md}
REATTACH_IDS=16 # Registrees registered once in the set-up, then re-attached / resumed (one per client thread)
STREAM_CONNS=16 # the many-connection streaming rows: one connection per re-attaching Registree

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
command -v curl >/dev/null || die "curl is needed to read the Registrar's /metrics"

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
NVERS=1
((TLS13)) && NVERS=2

# ---- store, lab PKI and enrolments (through the CLI only) ----
if ((PKI)); then
    "$M2M" pki root --out "$WORK/pki" >/dev/null
    "$M2M" pki registrar --root "$WORK/pki" --cse-id /in-cse --domain in-cse.m2m.localhost --out "$WORK/pki" >/dev/null
    REG_CERT=$WORK/pki/registrar.crt REG_KEY=$WORK/pki/registrar.key
    "$M2M" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert "$REG_CERT" --key "$REG_KEY" >/dev/null
else
    "$M2M" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null
fi
N_ATTACH=$((ROUNDS * ATTACH_IDS * NVERS))
N_ALL=$((REATTACH_IDS + N_ATTACH))
T0=$(date +%s)
say "enrolling $N_ALL PSK Registrees with 'm2mattach enrol psk' ($REATTACH_IDS to re-attach, $N_ATTACH to attach once)"
# Distinct random 16-octet keys (a key ID may be enrolled only once).
head -c $((16 * N_ALL)) /dev/urandom | od -An -v -tx1 -w16 | tr -d ' ' |
    awk -v r=$REATTACH_IDS '{ if (NR <= r) printf "Cbre%d %s\n", NR, $1; else printf "Cbat%d %s\n", NR - r, $1 }' >"$WORK/keys"
# One key file per Registree (mode 0600): keys never go into an argv, where ps would show them.
mkdir -m 700 "$WORK/psk"
(umask 077; while read -r id key; do printf '%s\n' "$key" >"$WORK/psk/$id.key"; done <"$WORK/keys")
# Four enrolments at a time (each mostly waits for its fsync); SQLite's busy timeout serialises the commits.
cut -d' ' -f1 "$WORK/keys" |
    xargs -P 4 -L 1 sh -c 'exec "$0" enrol psk --db "$1" --registree-id "$3" --key-file "$2/$3.key"' \
        "$M2M" "$DB" "$WORK/psk" >"$WORK/enrol.out" 2>"$WORK/enrol.err" ||
    die "enrolment failed: $(head -3 "$WORK/enrol.err")"
# "enrolled ID (psk, Kca_ID HEX)" -> "ID KEY KEYID", in enrolment order.
sed -n 's/^enrolled \([^ ]*\) (psk, K.._ID \([0-9a-f]*\))$/\1 \2/p' "$WORK/enrol.out" | sort >"$WORK/kid"
sort "$WORK/keys" | join - "$WORK/kid" | sort -V >"$WORK/creds"
[[ $(wc -l <"$WORK/creds") -eq $N_ALL ]] || die "expected $N_ALL enrolments, got $(wc -l <"$WORK/creds")"
grep '^Cbre' "$WORK/creds" >"$WORK/ids-reattach"
grep '^Cbat' "$WORK/creds" >"$WORK/ids-attach-all"
T_ENROL_PSK=$(($(date +%s) - T0))
slice() { # file, slice number, slice size -> lines of that slice on stdout
    sed -n "$(($2 * $3 + 1)),$((($2 + 1) * $3))p" "$1"
}
ATTACH_FILE_NO=0
next_attach_file() { # sets AFILE to a fresh slice of never-registered IDs (not in a subshell: it counts)
    AFILE=$WORK/ids-attach-$ATTACH_FILE_NO
    slice "$WORK/ids-attach-all" "$ATTACH_FILE_NO" "$ATTACH_IDS" >"$AFILE"
    ATTACH_FILE_NO=$((ATTACH_FILE_NO + 1))
    [[ -s $AFILE ]] || die "ran out of enrolled attach IDs"
}

if ((PKI)); then
    # Certificate Registrees: a P-256 key and self-signed certificate each ('pki device'), enrolled by public-key
    # hash ('enrol cert'). A full attachment registers, so each needs its own: REATTACH_IDS re-attach and resume,
    # CERT_IDS per round and TLS version attach once.
    N_CERT=$((REATTACH_IDS + ROUNDS * CERT_IDS * NVERS))
    T0=$(date +%s)
    say "making and enrolling $N_CERT certificate Registrees ('m2mattach pki device' + 'enrol cert')"
    { seq 1 $REATTACH_IDS | sed 's/^/Cbcr/'; seq 1 $((N_CERT - REATTACH_IDS)) | sed 's/^/Cbca/'; } |
        xargs -P 4 -I{} sh -c 'h=$("$0" pki device --out "$1/{}" --id {} | sed -n "s/^pubkey-hash //p") &&
            "$0" enrol cert --db "$2" --registree-id {} --pubkey-hash "$h" >/dev/null &&
            echo "{} $1/{}/device.crt $1/{}/device.key"' "$M2M" "$WORK/dev" "$DB" \
        >"$WORK/certs.out" 2>"$WORK/certs.err" || die "certificate enrolment failed: $(head -3 "$WORK/certs.err")"
    sort -V "$WORK/certs.out" >"$WORK/certs"
    [[ $(wc -l <"$WORK/certs") -eq $N_CERT ]] || die "expected $N_CERT certificate Registrees, got $(wc -l <"$WORK/certs")"
    grep '^Cbcr' "$WORK/certs" >"$WORK/certs-reattach"
    grep '^Cbca' "$WORK/certs" >"$WORK/certs-attach-all"
    T_ENROL_CERT=$(($(date +%s) - T0))
    # Token Registrees: one single-use token each ('enrol token'): TOKEN_IDS per round and TLS version attach
    # once; with TLS 1.3, REATTACH_IDS per round register (their first attachment) and then resume.
    N_TOK_RES=0
    ((TLS13)) && N_TOK_RES=$((ROUNDS * REATTACH_IDS))
    N_TOK=$((ROUNDS * TOKEN_IDS * NVERS + N_TOK_RES))
    T0=$(date +%s)
    say "issuing $N_TOK identity tokens ('m2mattach enrol token')"
    { seq 1 $((ROUNDS * TOKEN_IDS * NVERS)) | sed 's/^/Cbta/'; ((N_TOK_RES == 0)) || seq 1 $N_TOK_RES | sed 's/^/Cbtr/'; } |
        xargs -P 4 -I{} sh -c 'echo "{} $("$0" enrol token --db "$1" --registree-id {} | sed -n "s/^token //p")"' \
            "$M2M" "$DB" >"$WORK/tokens.out" 2>"$WORK/tokens.err" ||
        die "token enrolment failed: $(head -3 "$WORK/tokens.err")"
    awk 'NF == 2' "$WORK/tokens.out" | sort -V >"$WORK/tokens"
    [[ $(wc -l <"$WORK/tokens") -eq $N_TOK ]] || die "expected $N_TOK tokens, got $(wc -l <"$WORK/tokens")"
    grep '^Cbta' "$WORK/tokens" >"$WORK/tokens-attach-all"
    grep '^Cbtr' "$WORK/tokens" >"$WORK/tokens-resume-all" || true
    T_ENROL_TOKEN=$(($(date +%s) - T0))
    # Server-only handshakes against the ceilings send no token: any IDs will do.
    seq 1 $REATTACH_IDS | awk '{printf "Cbso%d unused\n", $1}' >"$WORK/server-only"
fi
SLICE_NO=0
next_slice() { # src file, size -> sets SFILE to a fresh slice (not in a subshell: it counts)
    SFILE=$WORK/slice-$SLICE_NO
    local n=${SLICES[$1]:-0}
    slice "$WORK/$1" "$n" "$2" >"$SFILE"
    SLICES[$1]=$((n + 1))
    SLICE_NO=$((SLICE_NO + 1))
    [[ -s $SFILE ]] || die "ran out of enrolled Registrees in $1"
}
declare -A SLICES=()

# ---- servers ----
start_server() { # name, command... ; sets SPID and SPORT (and SAPORT for the Registrar's admin listener)
    local name=$1 out=$WORK/$1.out
    shift
    : >"$out" # exists before the loop below reads it (the background job may open it later)
    "${PIN_S[@]}" "$@" >"$out" 2>"$WORK/$name.err" &
    SPID=$!
    PIDS+=("$SPID")
    for _ in $(seq 1 100); do
        SPORT=$(sed -n 's/^listening \(https \)\{0,1\}port \([0-9]*\).*/\2/p' "$out" | head -1)
        SAPORT=$(sed -n 's/^listening admin port \([0-9]*\).*/\1/p' "$out")
        [[ -n $SPORT && ($name != registrar || -n $SAPORT) ]] && return 0
        kill -0 "$SPID" 2>/dev/null || die "$name did not start: $(cat "$WORK/$name.err")"
        sleep 0.05
    done
    die "$name did not report its port"
}
# Limits (bench/README.md, "The Registrar's limits"): no per-address cap (every client but the saturation step's comes
# from 127.0.0.1), per-Registree quotas high enough never to refuse (16 Registrees stream thousands of requests and
# <contentInstance>s) but not off, so their checks still run on every request as they do in service.
REG_LIMITS=(--max-per-address 0 --max-request-rate 1000000 --max-resources 1000000)
start_server registrar "$M2M" registrar serve --db "$DB" --https 127.0.0.1:0 --threads 1 --quiet --idle-timeout 86400 \
    --admin 0 "${REG_LIMITS[@]}"
RPID=$SPID RPORT=$SPORT APORT=$SAPORT
declare -A CPIDS=() CPORTS=()
ceiling() { # name, extra ceiling-server options...
    local name=$1
    shift
    start_server "ceiling-$name" "$BENCH" ceiling-server --port 0 --threads 1 "$@"
    CPIDS[$name]=$SPID CPORTS[$name]=$SPORT
}
# One ceiling per mechanism, with the Registrar's TLS settings for it, tickets included: the Registrar sends one
# after every TLS 1.3 handshake (x.y.4), and a TLS 1.2 one when the client asks (the bench asks only to resume).
ceiling psk --ids-file "$WORK/ids-reattach" --tickets
if ((PKI)); then
    C=(--cert "$REG_CERT" --key-file "$REG_KEY")
    ceiling mutual "${C[@]}" --verify-client --tickets # certificate Registrees: a client certificate, any accepted
    ceiling server "${C[@]}" --tickets                 # token Registrees: server-authenticated only
    ((TLS13)) && ceiling mutual-noticket "${C[@]}" --verify-client # diagnostic: what the TLS 1.3 ticket costs
fi
say "Registrar pid $RPID port $RPORT (admin $APORT); ceilings:$(for k in "${!CPORTS[@]}"; do printf ' %s %s' "$k" "${CPORTS[$k]}"; done); $PINNING"

RESULTS=$WORK/results.txt
: >"$RESULTS"
metrics() { curl -s --max-time 5 "http://127.0.0.1:$APORT/metrics"; } # the Registrar's /metrics text
mval() { # metrics text, series (name with its labels) -> its value (0 when absent)
    awk -v k="$2" '$1 == k {v = $2} END {print v + 0}' <<<"$1"
}
hs() { echo "m2m_handshakes_total{mechanism=\"$1\",kind=\"$2\"}"; } # mechanism, kind -> series name
# Group commit (store/writer.c): writes committed (batch_size_sum), transactions (batch_size_count; each one
# fsync), commits_total (the same count, its own counter), failed writes.
STORE_SERIES=(m2m_store_batch_size_sum m2m_store_batch_size_count m2m_store_commits_total m2m_store_writes_failed_total)
STORE_KEYS=(srv_writes srv_batches srv_commits srv_wfailed)
ceiling_resumed() { # ceiling name -> its count of resumed handshakes
    local out=$WORK/ceiling-$1.out n
    n=$(grep -c '^STATS' "$out" || true)
    kill -USR1 "${CPIDS[$1]}"
    for _ in $(seq 1 50); do
        (($(grep -c '^STATS' "$out" || true) > n)) && break
        sleep 0.02
    done
    sed -n 's/^STATS .*resumed=\([0-9]*\).*/\1/p' "$out" | tail -1
}
# run LABEL SERVER MECH MODE m2m-bench-arguments...: SERVER is "registrar" or a ceiling name. Appends the RESULT line,
# with what the server counted: srv_full/srv_resumed from the Registrar's /metrics, srv_resumed from a ceiling.
# With the Registrar, also how many store writes it committed in how many transactions (srv_writes, srv_commits...).
# Options after the mode override the defaults (e.g. --clients 1).
run() {
    local label=$1 server=$2 mech=$3 mode=$4 line pid port m0 m1 r0 extra i
    shift 4
    kill -0 "$RPID" 2>/dev/null || die "the Registrar exited: $(tail -3 "$WORK/registrar.err")"
    if [[ $server == registrar ]]; then
        pid=$RPID port=$RPORT
        m0=$(metrics)
    else
        pid=${CPIDS[$server]} port=${CPORTS[$server]}
        r0=$(ceiling_resumed "$server")
    fi
    line=$("${PIN_C[@]}" "$BENCH" "$mode" --mech "$mech" --port "$port" --server-pid "$pid" --clients "$CLIENTS" \
        --label "$label" "$@" 2>>"$WORK/client.err" | grep '^RESULT') ||
        say "warning: $label reported errors: $(tail -1 "$WORK/client.err")"
    [[ -n ${line:-} ]] || die "$label produced no result: $(tail -3 "$WORK/client.err")"
    if [[ $server == registrar ]]; then
        m1=$(metrics)
        extra="srv_full=$(($(mval "$m1" "$(hs "$mech" full)") - $(mval "$m0" "$(hs "$mech" full)")))"
        extra+=" srv_resumed=$(($(mval "$m1" "$(hs "$mech" resumed)") - $(mval "$m0" "$(hs "$mech" resumed)")))"
        for i in "${!STORE_SERIES[@]}"; do
            extra+=" ${STORE_KEYS[$i]}=$(($(mval "$m1" "${STORE_SERIES[$i]}") - $(mval "$m0" "${STORE_SERIES[$i]}")))"
        done
    else
        extra="srv_resumed=$(($(ceiling_resumed "$server") - r0))"
    fi
    echo "$line $extra" >>"$RESULTS"
    say "$(echo "$line $extra" | sed 's/^RESULT //; s/ cipher=[^ ]*//; s/ client_cpu[^ ]*//; s/ srv_batches=[^ ]*//')"
}

# Register the re-attaching Registrees once (not measured).
"${PIN_C[@]}" "$BENCH" attach --port "$RPORT" --ids-file "$WORK/ids-reattach" --clients 4 --seconds 30 >/dev/null \
    2>>"$WORK/client.err" || die "registering the PSK re-attach IDs failed: $(tail -1 "$WORK/client.err")"
if ((PKI)); then
    "${PIN_C[@]}" "$BENCH" attach --mech cert --port "$RPORT" --ids-file "$WORK/certs-reattach" --clients 4 \
        --seconds 30 >/dev/null 2>>"$WORK/client.err" ||
        die "registering the certificate re-attach IDs failed: $(tail -1 "$WORK/client.err")"
fi

# ---- interleaved rounds ----
RE=(--ids-file "$WORK/ids-reattach" --seconds "$SECS")
# Warm-up, not recorded: page cache, allocator, CPU frequency.
for p in "${CPORTS[psk]}" "$RPORT"; do
    "${PIN_C[@]}" "$BENCH" handshakes --port "$p" --ids-file "$WORK/ids-reattach" --seconds 1 --clients "$CLIENTS" \
        >/dev/null 2>>"$WORK/client.err" || true
done
T_ROUNDS=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
VERSIONS=(1.2)
((TLS13)) && VERSIONS+=(1.3)
for r in $(seq 1 "$ROUNDS"); do
    say "round $r of $ROUNDS"
    # Issue 2: TLS-PSK.
    run ceiling-12 psk psk handshakes --tls 1.2 "${RE[@]}"
    run handshake-12 registrar psk handshakes --tls 1.2 "${RE[@]}"
    run reattach-12 registrar psk reattach --tls 1.2 "${RE[@]}"
    next_attach_file
    run attach-12 registrar psk attach --tls 1.2 --ids-file "$AFILE" --seconds "$SECS"
    run reattach-12-qa registrar psk reattach --quickack --tls 1.2 "${RE[@]}"
    if ((TLS13)); then
        run ceiling-13 psk psk handshakes --tls 1.3 "${RE[@]}"
        run reattach-13 registrar psk reattach --tls 1.3 "${RE[@]}"
        next_attach_file
        run attach-13 registrar psk attach --tls 1.3 --ids-file "$AFILE" --seconds "$SECS"
    fi
    # Issue 10: a device that streams, on attached keep-alive connections (TLS 1.2 PSK): RETRIEVE, and durable
    # CREATE <contentInstance> in each thread's own <container>, from 1 and from 16 connections.
    for n in 1 "$STREAM_CONNS"; do
        run "stream-get-$n" registrar psk stream-retrieve --tls 1.2 "${RE[@]}" --clients "$n"
        run "stream-cin-$n" registrar psk stream-create --tls 1.2 "${RE[@]}" --clients "$n"
    done
    ((PKI)) || continue
    for v in "${VERSIONS[@]}"; do
        t=${v/./}
        # Issue 3: client certificate (mutual ECDSA P-256) and identity token (server-authenticated).
        run "ceiling-cert-$t" mutual cert handshakes --tls "$v" --ids-file "$WORK/certs-reattach" --seconds "$PSECS"
        run "cert-reattach-$t" registrar cert reattach --tls "$v" --ids-file "$WORK/certs-reattach" --seconds "$PSECS"
        next_slice certs-attach-all "$CERT_IDS"
        run "cert-attach-$t" registrar cert attach --tls "$v" --ids-file "$SFILE" --seconds "$PSECS"
        run "ceiling-server-$t" server token handshakes --tls "$v" --ids-file "$WORK/server-only" --seconds "$PSECS"
        next_slice tokens-attach-all "$TOKEN_IDS"
        run "token-attach-$t" registrar token attach --tls "$v" --ids-file "$SFILE" --seconds "$PSECS"
        [[ $v == 1.3 ]] && run ceiling-cert-13-noticket mutual-noticket cert handshakes --tls 1.3 \
            --ids-file "$WORK/certs-reattach" --seconds "$PSECS"
        # Issue 4: resumption, each client thread resuming its own session.
        run "ceiling-resume-psk-$t" psk psk resume-handshakes --tls "$v" --ids-file "$WORK/ids-reattach" \
            --seconds "$PSECS"
        run "psk-resume-$t" registrar psk resume --tls "$v" --ids-file "$WORK/ids-reattach" --seconds "$PSECS"
        run "ceiling-resume-cert-$t" mutual cert resume-handshakes --tls "$v" --ids-file "$WORK/certs-reattach" \
            --seconds "$PSECS"
        run "cert-resume-$t" registrar cert resume --tls "$v" --ids-file "$WORK/certs-reattach" --seconds "$PSECS"
        if [[ $v == 1.3 ]]; then
            # A token binds the context after the handshake; only TLS 1.3 can then send a ticket that carries it.
            run "ceiling-resume-server-13" server token resume-handshakes --tls 1.3 \
                --ids-file "$WORK/server-only" --seconds "$PSECS"
            next_slice tokens-resume-all "$REATTACH_IDS"
            run "token-resume-13" registrar token resume --tls 1.3 --ids-file "$SFILE" --seconds "$PSECS"
        fi
    done
done
T_ROUNDS=$(($(date +%s) - T_ROUNDS))

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

# ---- saturation: idle attached connections up to the Registrar's descriptor limit ----
# The Registrar holds at most --max-connections (default: its descriptor limit less a reserve); the bench tries as
# many connections as the limit, so the last ones must be refused. A client process has the same descriptor limit,
# so FILL_PER_PROC connections per process, each process from its own source address 127.0.0.(11 + i).
# Then: is it healthy there? Registrar CPU while saturated and idle; further devices (a reattach load) refused
# cleanly, counted, without accept() errors or a spinning loop; and after some devices leave, new ones attach.
SAT=()
if ((FILL)); then
    FD_LIMIT=$(awk '/^Max open files/ {print $4}' "/proc/$RPID/limits")
    NFILL=$(((FD_LIMIT + FILL_PER_PROC - 1) / FILL_PER_PROC))
    say "filling the Registrar up to its descriptor limit ($FD_LIMIT): $NFILL client processes from 127.0.0.11-$((10 + NFILL))"
    M0=$(metrics)
    FPIDS=()
    T0=$(date +%s.%N)
    for i in $(seq 1 "$NFILL"); do
        n=$((i < NFILL ? FILL_PER_PROC : FD_LIMIT - (NFILL - 1) * FILL_PER_PROC))
        "${PIN_C[@]}" "$BENCH" idle --port "$RPORT" --source "127.0.0.$((10 + i))" --ids-file "$WORK/ids-reattach" \
            --count "$n" --clients "$CLIENTS" --quickack --seconds 900 >"$WORK/fill-$i.out" 2>"$WORK/fill-$i.err" &
        FPIDS+=($!)
        PIDS+=($!)
    done
    for _ in $(seq 1 3000); do # at most 300 s
        (($(cat "$WORK"/fill-*.out | grep -c '^READY') == NFILL)) && break
        sleep 0.1
    done
    (($(cat "$WORK"/fill-*.out | grep -c '^READY') == NFILL)) ||
        die "the saturation clients did not get ready: $(tail -2 "$WORK"/fill-*.err)"
    T_FILL=$(awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", b - a}')
    FILLED=$(cat "$WORK"/fill-*.out | sed -n 's/^READY opened=\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s}')
    sleep 1
    SAT_RSS=$(rss_kib "$RPID")
    SAT_FDS=$(nfds "$RPID")
    T0=$(cpu_ticks "$RPID")
    sleep 3
    SAT_IDLE_CPU=$(awk -v a="$T0" -v b="$(cpu_ticks "$RPID")" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", (b - a) / hz / 3 * 100}')
    M1=$(metrics)
    # Further devices while saturated: PROBE_N more try to attach and stay (4 client threads). A slot the filling
    # left free may take one; the others must be refused at once, without the Registrar spinning.
    T0=$(cpu_ticks "$RPID")
    "${PIN_C[@]}" "$BENCH" idle --port "$RPORT" --source "127.0.0.$((11 + NFILL))" --ids-file "$WORK/ids-reattach" \
        --count "$PROBE_N" --clients 4 --seconds 900 >"$WORK/probe.out" 2>"$WORK/probe.err" &
    PROBE_PID=$!
    PIDS+=("$PROBE_PID")
    for _ in $(seq 1 600); do
        grep -q '^READY' "$WORK/probe.out" && break
        sleep 0.1
    done
    PROBE=$(sed -n 's/^READY //p' "$WORK/probe.out")
    PROBE_CPU_S=$(awk -v a="$T0" -v b="$(cpu_ticks "$RPID")" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')
    M2=$(metrics)
    kill "$PROBE_PID" 2>/dev/null || true
    wait "$PROBE_PID" 2>/dev/null || true
    # Some devices leave (one client process closes its connections): new ones must attach again.
    kill "${FPIDS[0]}" 2>/dev/null || true
    wait "${FPIDS[0]}" 2>/dev/null || true
    for _ in $(seq 1 200); do
        (($(nfds "$RPID") <= SAT_FDS - FILL_PER_PROC / 2)) && break
        sleep 0.1
    done
    AFTER=$("${PIN_C[@]}" "$BENCH" reattach --port "$RPORT" --ids-file "$WORK/ids-reattach" --clients 4 --seconds 1 \
        --server-pid "$RPID" --label after-some-left 2>>"$WORK/client.err" | grep '^RESULT' || true)
    kill "${FPIDS[@]}" 2>/dev/null || true
    wait "${FPIDS[@]}" 2>/dev/null || true
    for _ in $(seq 1 300); do
        (($(nfds "$RPID") <= BASE_FDS + 5)) && break
        sleep 0.1
    done
    refused() { # metrics text -> connections refused by any limit
        awk '/^m2m_connections_refused_total\{/ {s += $2} END {print s + 0}' <<<"$1"
    }
    SAT=(
        "fd_limit=$FD_LIMIT" "processes=$NFILL" "seconds=$T_FILL" "tried=$FD_LIMIT" "opened=$FILLED"
        "open_metric=$(mval "$M1" m2m_open_connections)" "rss=$SAT_RSS" "fds=$SAT_FDS" "idle_cpu=$SAT_IDLE_CPU"
        "fill_refused_max=$(($(mval "$M1" 'm2m_connections_refused_total{reason="max_connections"}') - $(mval "$M0" 'm2m_connections_refused_total{reason="max_connections"}')))"
        "fill_refused_all=$(($(refused "$M1") - $(refused "$M0")))"
        "fill_accept_errors=$(($(mval "$M1" m2m_accept_errors_total) - $(mval "$M0" m2m_accept_errors_total)))"
        "probe_refused_max=$(($(mval "$M2" 'm2m_connections_refused_total{reason="max_connections"}') - $(mval "$M1" 'm2m_connections_refused_total{reason="max_connections"}')))"
        "probe_refused_all=$(($(refused "$M2") - $(refused "$M1")))"
        "probe_accept_errors=$(($(mval "$M2" m2m_accept_errors_total) - $(mval "$M1" m2m_accept_errors_total)))"
        "probe_tried=$PROBE_N" "probe_cpu_s=$PROBE_CPU_S"
    )
    echo "SATURATION ${SAT[*]}" >>"$RESULTS"
    echo "PROBE $PROBE" >>"$RESULTS"
    [[ -n $AFTER ]] && echo "$AFTER" >>"$RESULTS"
    say "saturated: ${SAT[*]}"
    say "further devices: $PROBE"
    say "after some left: ${AFTER#RESULT }"
fi
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
sum() { field "$1" "$2" | awk '{s += $1} END {print s + 0}'; }
have() { [[ -n $(field "$1" rate | head -1) ]]; }
# Ratios are paired: per round, a row and its ceiling were measured seconds apart, so the ratio is taken in each
# round and the median of those is reported (steadier than a ratio of medians when the machine's load drifts).
pratio() { # numerator label, denominator label, key -> median over rounds of numerator / denominator
    paste <(field "$1" "$3") <(field "$2" "$3") |
        awk 'NF == 2 && $1 > 0 && $2 > 0 {print $1 / $2}' | median | awk '{printf ($1 == "nan") ? "–" : "%.2f", $1}'
}
rate_ratio() { pratio "$1" "$2" rate; }
cpu_ratio() { pratio "$2" "$1" server_cpu_us_per_op; }
verdict() { awk -v r="$1" 'BEGIN {print (r != "–" && r >= 0.8) ? "met" : "not met"}'; }

HEAD='| measurement | TLS | per second | ratio to ceiling | server CPU µs/op | ceiling µs ÷ µs | server core busy | errors |'
SEP='|---|---|---:|---:|---:|---:|---:|---:|'
row() { # label, description, ceiling label
    have "$1" || return 0
    local rate us util ratio cratio
    rate=$(med "$1" rate)
    us=$(med "$1" server_cpu_us_per_op)
    util=$(med "$1" server_cpu_util)
    ratio=$(rate_ratio "$1" "$3")
    cratio=$(cpu_ratio "$1" "$3")
    [[ $1 == "$3" ]] && ratio="1 (ceiling)" && cratio="1 (ceiling)"
    printf '| %s | %s | %.0f | %s | %.0f | %s | %.0f %% | %s |\n' "$2" "$(field "$1" tls | head -1)" "$rate" "$ratio" \
        "$us" "$cratio" "$(awk -v u="$util" 'BEGIN {print u * 100}')" "$(sum "$1" errors)"
}
RHEAD='| measurement | TLS | per second | ratio to ceiling | server CPU µs/op | ceiling µs ÷ µs | server core busy | resumed (client) | resumed (server) | errors |'
RSEP='|---|---|---:|---:|---:|---:|---:|---:|---:|---:|'
rrow() { # as row, with how many handshakes resumed: client-side SSL_session_reused, server-side count
    have "$1" || return 0
    local rate us util ratio cratio ops
    rate=$(med "$1" rate)
    us=$(med "$1" server_cpu_us_per_op)
    util=$(med "$1" server_cpu_util)
    ratio=$(rate_ratio "$1" "$3")
    cratio=$(cpu_ratio "$1" "$3")
    [[ $1 == "$3" ]] && ratio="1 (ceiling)" && cratio="1 (ceiling)"
    ops=$(sum "$1" ops)
    printf '| %s | %s | %.0f | %s | %.0f | %s | %.0f %% | %s | %s | %s |\n' "$2" "$(field "$1" tls | head -1)" "$rate" \
        "$ratio" "$us" "$cratio" "$(awk -v u="$util" 'BEGIN {print u * 100}')" \
        "$(awk -v a="$(sum "$1" resumed)" -v n="$ops" 'BEGIN {printf "%.0f %%", n ? 100 * a / n : 0}')" \
        "$(awk -v a="$(sum "$1" srv_resumed)" -v n="$ops" 'BEGIN {printf "%.0f %%", n ? 100 * a / n : 0}')" \
        "$(sum "$1" errors)"
}
goal_line() { # text, registrar label, ceiling label
    have "$2" || return 0
    local a b
    a=$(rate_ratio "$2" "$3")
    b=$(cpu_ratio "$2" "$3")
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$a" "$(verdict "$a")" "$b" "$(verdict "$b")"
}

# Group commit over all rounds of a row: store writes per commit (one fsync each) and commits per operation.
ratio_of() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {if (b > 0) printf f, a / b; else printf "–"}'; }
srow() { # label, description, connections: a streaming row
    have "$1" || return 0
    printf '| %s | %s | %.0f | %.0f | %.0f %% | %s | %s | %s |\n' "$2" "$3" "$(med "$1" rate)" \
        "$(med "$1" server_cpu_us_per_op)" "$(awk -v u="$(med "$1" server_cpu_util)" 'BEGIN {print u * 100}')" \
        "$(ratio_of "$(sum "$1" srv_writes)" "$(sum "$1" srv_commits)" %.1f)" \
        "$(ratio_of "$(sum "$1" srv_commits)" "$(sum "$1" seconds)" %.0f)" "$(sum "$1" errors)"
}
gcrow() { # label, description: writes per fsync for a row that writes
    have "$1" || return 0
    local ops writes commits
    ops=$(sum "$1" ops) writes=$(sum "$1" srv_writes) commits=$(sum "$1" srv_commits)
    printf '| %s | %s | %d | %d | %d | %s | %s | %s |\n' "$2" "$(field "$1" clients | head -1)" "$ops" "$writes" \
        "$commits" "$(ratio_of "$writes" "$commits" %.1f)" "$(ratio_of "$commits" "$ops" %.2f)" "$(sum "$1" srv_wfailed)"
}
sat() { sed -n 's/^SATURATION //p' "$RESULTS" | tr ' ' '\n' | sed -n "s/^$1=//p"; } # key -> saturation figure
probe() { sed -n 's/^PROBE //p' "$RESULTS" | tr ' ' '\n' | sed -n "s/^$1=//p"; } # key -> figure of the saturated probe
after() { field after-some-left "$1" | head -1; }                                # key -> the re-attachments after

mkdir -p "$(dirname "$OUT")"
{
    echo "# Attachment benchmark: TLS-PSK, certificates, identity tokens, resumption"
    echo
    echo "Generated by \`bash bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $(($(date +%s) - T_START)) s"
    echo "(enrolment through the CLI: ${T_ENROL_PSK} s PSK$( ((PKI)) && echo ", ${T_ENROL_CERT} s certificates, ${T_ENROL_TOKEN} s tokens"); rounds ${T_ROUNDS} s)."
    echo "Source: $REV,"
    echo "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r), $(openssl version 2>/dev/null | cut -d' ' -f1-2)."
    echo "Registrar: \`$M2M registrar serve --threads 1 --quiet --idle-timeout 86400 ${REG_LIMITS[*]}\`$( ((PKI)) && echo ' (Registrar certificate: ECDSA P-256, lab PKI)'),"
    echo "SQLite store in $(dirname "$WORK")."
    echo "Ceilings: \`m2m-bench ceiling-server --threads 1\` (raw OpenSSL, epoll; handshake, then close on the client's"
    echo "close_notify), one per mechanism with the Registrar's TLS settings for it, stateless tickets included (one"
    echo "after each TLS 1.3 handshake, like the Registrar). Client: \`m2m-bench\`, $CLIENTS threads, one connection at"
    echo "a time each."
    echo "Pinning: $PINNING."
    echo "$ROUNDS interleaved rounds; $SECS s per TLS-PSK measurement, $PSECS s per certificate, token and resumption"
    echo "measurement; each figure is the median of the rounds. Full-attachment rounds use fresh Registrees (PSK"
    echo "$ATTACH_IDS$( ((PKI)) && echo ", certificates $CERT_IDS, tokens $TOKEN_IDS") per round and TLS version) and end early when they run out."
    echo "Load average (1/5/15 min) at the first round: $LOAD_START; at the end: $LOAD_END. Other work on the"
    echo "machine shows up as lower rates and a server core that is not busy; the CPU-per-op columns suffer less."
    echo
    echo "**Goals: ≥ 0.8 × the raw-OpenSSL ceiling for the same handshake.** By rate and by server CPU per operation"
    echo "(bench/README.md: when the ceiling's server core is not fully busy, the client limits the rates; the CPU"
    echo "ratio is the per-core capacity comparison and the steadier of the two). Every ratio is the median over the"
    echo "rounds of the ratio within the round (row and ceiling measured seconds apart); the other columns are medians."
    echo
    echo "| goal | ratio by rate | | ratio by server CPU | |"
    echo "|---|---:|---|---:|---|"
    goal_line "issue 2: PSK re-attachment, TLS 1.2" reattach-12 ceiling-12
    goal_line "issue 3: certificate attachment (mutual ECDSA), TLS 1.2" cert-attach-12 ceiling-cert-12
    goal_line "issue 3: certificate attachment (mutual ECDSA), TLS 1.3" cert-attach-13 ceiling-cert-13
    goal_line "issue 3: token attachment, TLS 1.2" token-attach-12 ceiling-server-12
    goal_line "issue 3: token attachment, TLS 1.3" token-attach-13 ceiling-server-13
    goal_line "issue 4: PSK resumption, TLS 1.2" psk-resume-12 ceiling-resume-psk-12
    goal_line "issue 4: PSK resumption, TLS 1.3" psk-resume-13 ceiling-resume-psk-13
    goal_line "issue 4: certificate resumption, TLS 1.2" cert-resume-12 ceiling-resume-cert-12
    goal_line "issue 4: certificate resumption, TLS 1.3" cert-resume-13 ceiling-resume-cert-13
    goal_line "issue 4: token resumption, TLS 1.3" token-resume-13 ceiling-resume-server-13
    echo
    echo "## TLS-PSK (issue 2)"
    echo
    echo "TLS 1.2 \`PSK-AES128-CBC-SHA256\` (the oneM2M mandatory suite); TLS 1.3 external PSK, \`TLS_AES_128_GCM_SHA256\`,"
    echo "\`psk_dhe_ke\`. Ceiling: PSK only; like the Registrar it sends one session ticket after each TLS 1.3"
    echo "handshake (none in TLS 1.2: the client does not ask)."
    echo
    echo "$HEAD"
    echo "$SEP"
    row ceiling-12 "raw OpenSSL TLS-PSK handshakes (ceiling)" ceiling-12
    row handshake-12 "Registrar: handshake only" ceiling-12
    row reattach-12 "Registrar: re-attachment (handshake + RETRIEVE)" ceiling-12
    row attach-12 "Registrar: full attachment (handshake + CREATE &lt;AE&gt;)" ceiling-12
    row ceiling-13 "raw OpenSSL TLS-PSK handshakes (ceiling)" ceiling-13
    row reattach-13 "Registrar: re-attachment (handshake + RETRIEVE)" ceiling-13
    row attach-13 "Registrar: full attachment (handshake + CREATE &lt;AE&gt;)" ceiling-13
    if ((PKI)); then
        echo
        echo "## Client certificates and identity tokens (issue 3)"
        echo
        echo "The Registrar presents its ECDSA P-256 certificate (CSE-ID in subjectAltName) and asks every client for a"
        echo "certificate. **Certificate** Registrees send a self-signed P-256 device certificate; the Registrar matches"
        echo "its public-key hash with the enrolment (mutual authentication). **Token** Registrees send none"
        echo "(server-authenticated handshake) and register with \`Authorization: Bearer <token>\`, which the Registrar"
        echo "checks and marks used in the store. TLS 1.2 \`ECDHE-ECDSA-AES128-GCM-SHA256\` (the Registree's default),"
        echo "TLS 1.3 \`TLS_AES_128_GCM_SHA256\`, X25519. Ceilings: the same certificate and suites; \`mutual\` requests a"
        echo "client certificate and accepts any, \`server-only\` requests none; both send a ticket after each TLS 1.3"
        echo "handshake, as the Registrar does (after a mutual handshake it carries the client certificate, which makes"
        echo "it expensive: the diagnostic row shows the ceiling without it)."
        echo "Full attachments register each Registree once, so each round uses fresh, enrolled ones and ends when they"
        echo "run out (a short measurement); the re-attachment rows (handshake + RETRIEVE, registered Registrees) run the"
        echo "full time and give the steadier CPU figure for the certificate handshake."
        echo
        echo "$HEAD"
        echo "$SEP"
        for v in "${VERSIONS[@]}"; do
            t=${v/./}
            row "ceiling-cert-$t" "raw OpenSSL mutual ECDSA handshakes (ceiling)" "ceiling-cert-$t"
            row "cert-attach-$t" "Registrar: certificate attachment (handshake + CREATE &lt;AE&gt;)" "ceiling-cert-$t"
            row "cert-reattach-$t" "Registrar: certificate re-attachment (handshake + RETRIEVE)" "ceiling-cert-$t"
            row "ceiling-server-$t" "raw OpenSSL server-only ECDSA handshakes (ceiling)" "ceiling-server-$t"
            row "token-attach-$t" "Registrar: token attachment (handshake + CREATE with token)" "ceiling-server-$t"
        done
        if have ceiling-cert-13-noticket; then
            echo
            echo "Diagnostic: the TLS 1.3 mutual ceiling without session tickets (what the ticket after each handshake costs):"
            echo
            echo "$HEAD"
            echo "$SEP"
            row ceiling-cert-13 "raw OpenSSL mutual ECDSA handshakes, one ticket each (ceiling)" ceiling-cert-13
            row ceiling-cert-13-noticket "raw OpenSSL mutual ECDSA handshakes, no ticket" ceiling-cert-13
            row cert-reattach-13 "Registrar: certificate re-attachment (one ticket each)" ceiling-cert-13-noticket
        fi
        echo
        echo "## Session resumption (issue 4)"
        echo
        echo "Each client thread attaches once in full (handshake + one request, so TLS 1.3 tickets arrive; a token"
        echo "Registree registers with its token there), keeps that session and offers it on every later connection:"
        echo "resumed handshake + RETRIEVE (Registrar) or + close_notify (the same ceilings as above). Stateless tickets:"
        echo "the Registrar seals them with keys from its store (so any node, or a restarted one, resumes) and checks"
        echo "the enrolment on every resumption; the ceiling seals them the same way (AES-256-CBC + HMAC-SHA256 through"
        echo "the ticket-key callback, one random key) and checks nothing. Neither keeps a session cache. TLS 1.3"
        echo "resumption is \`psk_dhe_ke\` (an X25519 exchange each time); neither server sends a new ticket after a"
        echo "resumption (the Registrar renews only tickets sealed with an older key; the ceiling copies that policy)."
        echo "*resumed (client)* is OpenSSL's SSL_session_reused on the client,"
        echo "which is also 1 for a TLS 1.3 external-PSK handshake; *resumed (server)* is what the server counted as"
        echo "resumed from a ticket (the Registrar's /metrics \`m2m_handshakes_total{kind=\"resumed\"}\`, the ceiling's"
        echo "own count): 100 % means every measured handshake was a real resumption."
        echo
        echo "$RHEAD"
        echo "$RSEP"
        for v in "${VERSIONS[@]}"; do
            t=${v/./}
            rrow "ceiling-resume-psk-$t" "raw OpenSSL PSK-session resumption (ceiling)" "ceiling-resume-psk-$t"
            rrow "psk-resume-$t" "Registrar: PSK resumed attachment (resumed handshake + RETRIEVE)" "ceiling-resume-psk-$t"
            rrow "ceiling-resume-cert-$t" "raw OpenSSL mutual-ECDSA-session resumption (ceiling)" "ceiling-resume-cert-$t"
            rrow "cert-resume-$t" "Registrar: certificate resumed attachment" "ceiling-resume-cert-$t"
        done
        rrow ceiling-resume-server-13 "raw OpenSSL server-only-session resumption (ceiling)" ceiling-resume-server-13
        rrow token-resume-13 "Registrar: token resumed attachment" ceiling-resume-server-13
    fi
    echo
    echo "## Streaming on attached connections, group commit (issue 10)"
    echo
    echo "A device that streams data: each client thread attaches once (TLS 1.2 PSK handshake + RETRIEVE, not measured;"
    echo "for CREATE it also makes its own \`<container>\` under its \`<AE>\`), then sends requests on that one keep-alive"
    echo "connection, each after the previous response: RETRIEVE of its \`<AE>\` (200 / 2000), or CREATE"
    echo "\`<contentInstance>\` in its container (201 / 2001, sent by the Registrar only once the write is durable)."
    echo "*writes per fsync* is the store writer's batch size at that load: store writes ÷ transactions committed"
    echo "(each one fsync), from the Registrar's /metrics before and after each row (\`m2m_store_batch_size_sum\`,"
    echo "\`m2m_store_commits_total\`), over all rounds; each thread's \`<container>\` (one write) and any background write count too."
    echo
    echo "| measurement | connections | requests/s | server CPU µs/request | server core busy | writes per fsync | fsyncs/s | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    srow stream-get-1 "RETRIEVE &lt;AE&gt; on one keep-alive connection" 1
    srow "stream-get-$STREAM_CONNS" "RETRIEVE &lt;AE&gt;, $STREAM_CONNS connections (one per thread)" "$STREAM_CONNS"
    srow stream-cin-1 "durable CREATE &lt;contentInstance&gt; on one keep-alive connection" 1
    srow "stream-cin-$STREAM_CONNS" "durable CREATE &lt;contentInstance&gt;, $STREAM_CONNS connections" "$STREAM_CONNS"
    echo
    echo "Group commit at each load that writes (full attachments: handshake + CREATE \`<AE>\`, one connection per"
    echo "attachment; a token attachment's token consumption and registration are one write), summed over the rounds:"
    echo
    echo "| row | client threads | operations | store writes | commits (fsyncs) | writes per fsync | fsyncs per operation | failed writes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    gcrow attach-12 "PSK full attachment, TLS 1.2"
    gcrow attach-13 "PSK full attachment, TLS 1.3"
    for v in "${VERSIONS[@]}"; do
        gcrow "cert-attach-${v/./}" "certificate attachment, TLS $v"
        gcrow "token-attach-${v/./}" "token attachment, TLS $v"
    done
    gcrow stream-cin-1 "CREATE &lt;contentInstance&gt;, one connection"
    gcrow "stream-cin-$STREAM_CONNS" "CREATE &lt;contentInstance&gt;, $STREAM_CONNS connections"
    echo
    echo "Diagnostic (not what a device does): the client sets TCP_QUICKACK before reading each response, which"
    echo "hides a ~40 ms Nagle / delayed-ACK stall if the server writes a response in several segments without"
    echo "TCP_NODELAY. Close to the re-attachment row means there is no such stall."
    echo
    echo "$HEAD"
    echo "$SEP"
    row reattach-12-qa "Registrar: PSK re-attachment, client QUICKACK" ceiling-12
    echo
    echo "## Memory"
    echo
    echo "Resident memory of the Registrar (VmRSS), idle attached connections (each did a TLS-PSK handshake + RETRIEVE)."
    echo "What those KiB are made of (OpenSSL's objects, libevent's, the Registrar's) and what \`SSL_MODE_RELEASE_BUFFERS\`"
    echo "saves: bench/results/memory.md. Where the CPU time goes: bench/results/profile.md (\`bash bench/profile.sh\`)."
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
    if [[ -n $(sat opened) ]]; then
        printf '| filled to the descriptor limit (below) | %d | %.1f | %.1f | %d | %s %% |\n' "$(sat opened)" \
            "$(awk -v k="$(sat rss)" 'BEGIN {print k / 1024}')" \
            "$(awk -v k="$(sat rss)" -v b="$BASE_RSS" -v n="$(sat opened)" 'BEGIN {print (k - b) / n}')" "$(sat fds)" \
            "$(sat idle_cpu)"
        echo
        echo "### Saturation: filled up to the descriptor limit"
        echo
        echo "The Registrar's descriptor limit is $(sat fd_limit) (its hard limit); it holds at most \`--max-connections\`"
        echo "(default: that limit less a reserve for the store, the log and the listeners). $(sat processes) client processes"
        echo "(a process has the same limit), each from its own source address (127.0.0.11 to 127.0.0.$((10 + $(sat processes)))),"
        echo "tried $(sat tried) idle attached connections in all (each a TLS-PSK handshake + RETRIEVE, then silent)."
        echo "Registrar settings: \`${REG_LIMITS[*]}\` (the per-address cap is off: the other steps come from"
        echo "127.0.0.1 alone)."
        echo
        echo "| | |"
        echo "|---|---|"
        echo "| connections held (client count / Registrar's \`m2m_open_connections\`) | $(sat opened) / $(sat open_metric) |"
        echo "| time to fill | $(sat seconds) s |"
        echo "| refused while filling (\`m2m_connections_refused_total\`, all reasons / max_connections) | $(sat fill_refused_all) / $(sat fill_refused_max) |"
        echo "| \`m2m_accept_errors_total\` while filling | $(sat fill_accept_errors) |"
        echo "| Registrar descriptors, VmRSS | $(sat fds), $(awk -v k="$(sat rss)" 'BEGIN {printf "%.0f", k / 1024}') MiB |"
        echo "| Registrar CPU while saturated and idle (3 s) | $(sat idle_cpu) % |"
        if [[ -n $(probe seconds) ]]; then
            echo "| further devices while saturated: tried to attach and stay (4 client threads, 127.0.0.$((11 + $(sat processes)))) | $(sat probe_tried) in $(probe seconds) s |"
            echo "| … attached (slots the filling left free) / failed (the Registrar ended the handshake) | $(probe opened) / $(probe errors) |"
            echo "| … refused by the Registrar (\`m2m_connections_refused_total\`, all reasons / max_connections) | $(sat probe_refused_all) / $(sat probe_refused_max) |"
            echo "| … \`m2m_accept_errors_total\` | $(sat probe_accept_errors) |"
            echo "| … Registrar CPU for those attempts | $(sat probe_cpu_s) s ($(awk -v c="$(sat probe_cpu_s)" -v n="$(sat probe_tried)" 'BEGIN {printf "%.0f", c * 1e6 / n}') µs per attempt) |"
        fi
        if [[ -n $(after seconds) ]]; then
            echo "| after one client process closed its $FILL_PER_PROC connections: re-attachments for 1 s (4 threads) | $(after ops) attached, $(after errors) errors |"
        fi
    fi
    echo
    echo "<details><summary>Every round (m2m-bench RESULT lines; srv_* = what the server counted)</summary>"
    echo
    echo '```'
    sed 's/^RESULT //' "$RESULTS"
    echo '```'
    echo "</details>"
} >"$OUT"
say "wrote $OUT"
cat "$OUT"
