#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The PostgreSQL store's figures (issue 13), in one run (about 3 minutes), written to bench/results/pg-latest.md:
# TLS 1.2 PSK full attachment (handshake + CREATE <AE>, each Registree once) and re-attachment (handshake + GET of
# its <AE>) with the Registrar on SQLite, on PostgreSQL (one node) and on PostgreSQL with two nodes sharing the
# database, as ratios to the SQLite rows and to the raw-OpenSSL ceiling measured in the same round (3 interleaved
# rounds). Each Registrar node has 1 worker; the nodes and the ceiling are pinned to CPU 0, the clients to CPU 1,
# PostgreSQL (a throw-away cluster, tests/pg/cluster.sh, fsync on, a Unix socket) is not pinned: on a 2-core
# machine it takes its CPU from both. Also, from the nodes' /metrics: store calls per operation, read latency,
# commits and writes per commit, and the database's CPU per operation.
#
#   bash bench/pg.sh [BUILD_DIR]
# Knobs: M2M_BENCH_ROUNDS (3), M2M_BENCH_SECONDS (3), M2M_BENCH_CLIENTS (16), M2M_BENCH_ATTACH_IDS (500 per row and
# round), M2M_BENCH_OUT (bench/results/pg-latest.md).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-build}
[[ $BUILD == /* ]] || BUILD=$ROOT/$BUILD
M2M=$BUILD/m2mattach
BENCH=$BUILD/bench/m2m-bench
ROUNDS=${M2M_BENCH_ROUNDS:-3}
SECS=${M2M_BENCH_SECONDS:-3}
CLIENTS=${M2M_BENCH_CLIENTS:-16}
ATTACH_IDS=${M2M_BENCH_ATTACH_IDS:-500}
OUT=${M2M_BENCH_OUT:-$ROOT/bench/results/pg-latest.md}
REATTACH_IDS=16

say() { printf '[pg-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }
[[ -x $M2M && -x $BENCH ]] || die "build first: cmake --build $BUILD (needs $M2M and $BENCH)"
command -v curl >/dev/null || die "curl is needed to read /metrics"

source "$ROOT/tests/pg/cluster.sh"
PIDS=()
WORK=$(mktemp -d /tmp/m2m-pgbench.XXXXXX)
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    pg_cluster_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
pg_cluster_start || die "no PostgreSQL cluster (install the postgresql package)"
pg_createdb m2m
PGDB="$PG_CONNINFO dbname=m2m"
SQDB=$WORK/registrar.db
PIN_S=() PIN_C=()
if command -v taskset >/dev/null && (($(nproc) >= 2)); then PIN_S=(taskset -c 0); PIN_C=(taskset -c 1); fi

# ---- stores and enrolments (through the CLI) ----
"$M2M" registrar init --db "$SQDB" --cse-id /in-cse --cse-name cse-base >/dev/null
"$M2M" registrar init --db "$PGDB" --cse-id /in-cse --cse-name cse-base >/dev/null
N_ATTACH=$((ROUNDS * ATTACH_IDS))
head -c $((16 * (REATTACH_IDS + 3 * N_ATTACH))) /dev/urandom | od -An -v -tx1 -w16 | tr -d ' ' |
    awk -v r=$REATTACH_IDS -v n=$N_ATTACH '{ if (NR <= r) id = "Cpre" NR; else if (NR <= r + n) id = "Csq" NR - r;
        else if (NR <= r + 2 * n) id = "Cp1" NR - r - n; else id = "Cp2" NR - r - 2 * n; print id, $1 }' >"$WORK/keys"
mkdir -m 700 "$WORK/k"
(umask 077; while read -r id key; do printf '%s\n' "$key" >"$WORK/k/$id.key"; done <"$WORK/keys")
enrol_all() { # store, id pattern
    grep "^$2" "$WORK/keys" | cut -d' ' -f1 |
        xargs -P 4 -L 1 sh -c 'exec "$0" enrol psk --db "$1" --registree-id "$3" --key-file "$2/$3.key" >/dev/null' \
            "$M2M" "$1" "$WORK/k" || die "enrolment failed"
}
T0=$(date +%s)
say "enrolling $((REATTACH_IDS + N_ATTACH)) Registrees in SQLite and $((REATTACH_IDS + 2 * N_ATTACH)) in PostgreSQL"
enrol_all "$SQDB" 'C\(pre\|sq\)'
enrol_all "$PGDB" 'C\(pre\|p1\|p2\)'
T_ENROL=$(($(date +%s) - T0))
grep '^Cpre' "$WORK/keys" >"$WORK/ids-re"
slice() { grep "^$1" "$WORK/keys" | sed -n "$(($2 * $3 + 1)),$((($2 + 1) * $3))p"; } # prefix, n, size

# ---- servers ----
start() { # name, store, port var, pid var, admin var
    local name=$1
    "${PIN_S[@]}" "$M2M" registrar serve --db "$2" --https 127.0.0.1:0 --threads 1 --quiet --idle-timeout 86400 \
        --admin 0 --max-request-rate 0 --max-resources 0 >"$WORK/$name.out" 2>"$WORK/$name.err" &
    PIDS+=($!)
    eval "$4=$!"
    for _ in $(seq 1 100); do
        [[ -n $(sed -n 's/^listening admin port //p' "$WORK/$name.out") ]] && break
        sleep 0.05
    done
    eval "$3=$(sed -n 's/^listening https port //p' "$WORK/$name.out")"
    eval "$5=$(sed -n 's/^listening admin port //p' "$WORK/$name.out")"
    [[ -n ${!3} ]] || die "$name did not start: $(cat "$WORK/$name.err")"
}
start sqlite "$SQDB" SQ_PORT SQ_PID SQ_ADMIN
start pg1 "$PGDB" P1_PORT P1_PID P1_ADMIN
start pg2b "$PGDB" P2_PORT P2_PID P2_ADMIN # node B; node A of the two-node rows is pg1
"${PIN_S[@]}" "$BENCH" ceiling-server --port 0 --threads 1 --ids-file "$WORK/ids-re" >"$WORK/ceiling.out" 2>&1 &
PIDS+=($!)
C_PID=$!
for _ in $(seq 1 100); do C_PORT=$(sed -n 's/^listening port \([0-9]*\).*/\1/p' "$WORK/ceiling.out" | head -1); [[ -n $C_PORT ]] && break; sleep 0.05; done
[[ -n $C_PORT ]] || die "ceiling did not start"
for p in "$SQ_PORT" "$P1_PORT"; do # register the re-attaching Registrees once on each store
    "${PIN_C[@]}" "$BENCH" attach --port "$p" --ids-file "$WORK/ids-re" --clients 4 --seconds 30 >/dev/null 2>&1 ||
        die "registering the re-attach IDs failed"
done

# ---- measuring ----
ticks() { local s=0 p; for p in "$@"; do s=$((s + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat"))); done; echo $s; }
# the cluster's processes: its postmaster and its children (the backends, the WAL writer, the checkpointer)
pgticks() {
    local pm s=0 p
    pm=$(head -1 "$PG_DIR/data/postmaster.pid")
    for p in "$pm" $(pgrep -P "$pm"); do
        s=$((s + $(awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo $s
}
metric() { curl -s "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1 == k {print $2}'; }
RES=$WORK/results
: >"$RES"
# one LABEL MODE IDSFILE PORT... : clients split over the ports; records ops, seconds, node and database CPU.
one() {
    local label=$1 mode=$2 ids=$3 ports=("${@:4}") pids=() i=0 c0 d0 c1 d1 ops=0 secs=0 errs=0 calls0=0 calls1=0
    local pipe0=0 pipe1=0
    local srv=()
    for p in "${ports[@]}"; do
        case $p in "$SQ_PORT") srv+=("$SQ_PID");; "$P1_PORT") srv+=("$P1_PID");; "$P2_PORT") srv+=("$P2_PID");; *) srv+=("$C_PID");; esac
    done
    for p in "${ports[@]}"; do
        [[ $p == "$C_PORT" ]] && continue
        calls0=$((calls0 + $(admin_calls "$p" worker))) pipe0=$((pipe0 + $(admin_calls "$p" reader)))
    done
    c0=$(ticks "${srv[@]}") d0=$(pgticks)
    for p in "${ports[@]}"; do
        local f=$ids
        if ((${#ports[@]} > 1)) && [[ $mode == attach ]]; then # each node its own half of the fresh IDs
            f=$WORK/half.$i
            awk -v k=${#ports[@]} -v i=$i 'NR % k == i' "$ids" >"$f"
        fi
        "${PIN_C[@]}" "$BENCH" "$mode" --port "$p" --ids-file "$f" --clients $((CLIENTS / ${#ports[@]})) \
            --seconds "$SECS" --label "$label" >"$WORK/out.$i" 2>>"$WORK/client.err" &
        pids+=($!)
        i=$((i + 1))
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
    c1=$(ticks "${srv[@]}") d1=$(pgticks)
    for p in "${ports[@]}"; do
        [[ $p == "$C_PORT" ]] && continue
        calls1=$((calls1 + $(admin_calls "$p" worker))) pipe1=$((pipe1 + $(admin_calls "$p" reader)))
    done
    for ((j = 0; j < i; j++)); do
        local line
        line=$(grep '^RESULT' "$WORK/out.$j") || die "$label: no result ($(tail -1 "$WORK/client.err"))"
        ops=$((ops + $(sed -n 's/.* ops=\([0-9]*\).*/\1/p' <<<"$line")))
        errs=$((errs + $(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$line")))
        secs=$(python3 -c "print(max($secs, $(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$line")))")
    done
    echo "$label $ops $secs $((c1 - c0)) $((d1 - d0)) $errs $((calls1 - calls0)) $((pipe1 - pipe0))" >>"$RES"
    say "$label: $ops ops in ${secs}s, errors $errs"
}
admin_calls() { # https port, role -> that node's store calls of that role (worker: waited for; reader: pipelined)
    local a
    case $1 in "$SQ_PORT") a=$SQ_ADMIN;; "$P1_PORT") a=$P1_ADMIN;; *) a=$P2_ADMIN;; esac
    metric "$a" "m2m_store_calls_total{role=\"$2\"}"
}
T0=$(date +%s)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq 0 $((ROUNDS - 1))); do
    say "round $((r + 1)) of $ROUNDS"
    slice Csq "$r" "$ATTACH_IDS" >"$WORK/sq.$r"
    slice Cp1 "$r" "$ATTACH_IDS" >"$WORK/p1.$r"
    slice Cp2 "$r" "$ATTACH_IDS" >"$WORK/p2.$r"
    one ceiling handshakes "$WORK/ids-re" "$C_PORT"
    one sqlite-reattach reattach "$WORK/ids-re" "$SQ_PORT"
    one pg1-reattach reattach "$WORK/ids-re" "$P1_PORT"
    one pg2-reattach reattach "$WORK/ids-re" "$P1_PORT" "$P2_PORT"
    one sqlite-attach attach "$WORK/sq.$r" "$SQ_PORT"
    one pg1-attach attach "$WORK/p1.$r" "$P1_PORT"
    one pg2-attach attach "$WORK/p2.$r" "$P1_PORT" "$P2_PORT"
done
T_ROUNDS=$(($(date +%s) - T0))
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
curl -s "http://127.0.0.1:$P1_ADMIN/metrics" >"$WORK/metrics.A"
curl -s "http://127.0.0.1:$P2_ADMIN/metrics" >"$WORK/metrics.B"

# ---- report ----
python3 - "$RES" "$OUT" "$ROUNDS" "$SECS" "$CLIENTS" "$T_ENROL" "$T_ROUNDS" "$LOAD0" "$LOAD1" \
    "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(getconf CLK_TCK)" \
    "$("$PG_BIN/postgres" --version)" "$WORK/metrics.A" "$WORK/metrics.B" <<'PY'
import sys, statistics, re, datetime
res, out, rounds, secs, clients, t_enrol, t_rounds, load0, load1, rev, hz, pgver, ma, mb = sys.argv[1:]
hz = float(hz)
rows = {}
for line in open(res):
    l, ops, s, cpu, db, errs, calls, piped = line.split()
    rows.setdefault(l, []).append(dict(ops=int(ops), s=float(s), cpu=int(cpu) / hz, db=int(db) / hz, errs=int(errs),
                                       calls=int(calls), piped=int(piped)))
def rate(r): return r["ops"] / r["s"] if r["s"] else 0
def med(l, f): return statistics.median([f(r) for r in rows[l]])
def pr(a, b, f):  # per-round ratio, median
    return statistics.median([f(x) / f(y) for x, y in zip(rows[a], rows[b]) if f(y) > 0])
cpu = lambda r: 1e6 * r["cpu"] / r["ops"] if r["ops"] else 0
dbc = lambda r: 1e6 * r["db"] / r["ops"] if r["ops"] else 0
calls = lambda r: r["calls"] / r["ops"] if r["ops"] else 0
piped = lambda r: r["piped"] / r["ops"] if r["ops"] else 0
inv = lambda f: (lambda r: 1 / f(r) if f(r) else 0)
L = []
L.append("# PostgreSQL store: attachment with one and two Registrar nodes\n")
L.append("Run %s, source %s, %s, %s rounds x %s s per row, %s client threads (split over the nodes), TLS 1.2 "
         "PSK-AES128-CBC-SHA256. Each Registrar: 1 worker; Registrars and ceiling on CPU 0, clients on CPU 1, "
         "PostgreSQL unpinned (a throw-away cluster on a Unix socket, fsync on). Load average %s before, %s after. "
         "Enrolling took %s s, the rounds %s s.\n" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), rev,
         pgver, rounds, secs, clients, load0, load1, t_enrol, t_rounds))
L.append("| row | per second | ratio to SQLite (rate) | ratio to ceiling (rate) | Registrar CPU µs/op | "
         "ratio to SQLite (CPU) | database CPU µs/op | reads waited for /op | reads pipelined /op | errors |")
L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
desc = {"ceiling": "raw OpenSSL PSK handshake (ceiling)", "sqlite-reattach": "re-attachment, SQLite",
        "pg1-reattach": "re-attachment, PostgreSQL, 1 node", "pg2-reattach": "re-attachment, PostgreSQL, 2 nodes",
        "sqlite-attach": "full attachment, SQLite", "pg1-attach": "full attachment, PostgreSQL, 1 node",
        "pg2-attach": "full attachment, PostgreSQL, 2 nodes"}
for l in ["ceiling", "sqlite-reattach", "pg1-reattach", "pg2-reattach", "sqlite-attach", "pg1-attach", "pg2-attach"]:
    if l not in rows: continue
    base = "sqlite-" + l.split("-")[1] if "-" in l else None
    rs = "%.2f" % pr(l, base, rate) if base and l != base else "–"
    cs = "%.2f" % pr(base, l, cpu) if base and l != base else "–"
    rc = "%.2f" % pr(l, "ceiling", rate) if l != "ceiling" else "1"
    L.append("| %s | %.0f | %s | %s | %.0f | %s | %.0f | %s | %s | %d |" % (desc[l], med(l, rate), rs, rc, med(l, cpu),
             cs, med(l, dbc), "%.1f" % med(l, calls) if l != "ceiling" else "–",
             "%.1f" % med(l, piped) if l != "ceiling" else "–", sum(r["errs"] for r in rows[l])))
L.append("")
L.append("Reads per operation count every store call of the node(s) during the row, the once-a-second housekeeping "
         "included (ticket keys, expiry: a few per second), so short rows overstate them. Database CPU is the "
         "cluster's processes (postmaster and its children) during the row.\n")
def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r" ([0-9.e+-]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0
L.append("From node A's and node B's /metrics at the end (all rows together):\n")
L.append("| node | worker calls | mean worker call | writer commits | writes per commit | writer calls | mean writer call | store errors |")
L.append("|---|---:|---:|---:|---:|---:|---:|---:|")
for name, path in (("A", ma), ("B", mb)):
    text = open(path).read()
    wc = metric(text, 'm2m_store_calls_total{role="worker"}')
    ws = metric(text, 'm2m_store_call_seconds_sum{role="worker"}')
    cc = metric(text, "m2m_store_commits_total")
    jobs = metric(text, "m2m_store_batch_size_sum")
    rc = metric(text, 'm2m_store_calls_total{role="writer"}')
    rs = metric(text, 'm2m_store_call_seconds_sum{role="writer"}')
    er = metric(text, 'm2m_store_errors_total{role="worker"}') + metric(text, 'm2m_store_errors_total{role="writer"}')
    L.append("| %s | %.0f | %.0f µs | %.0f | %.1f | %.0f | %.0f µs | %.0f |" % (name, wc, 1e6 * ws / wc if wc else 0, cc,
             jobs / cc if cc else 0, rc, 1e6 * rs / rc if rc else 0, er))
L.append("")
open(out, "w").write("\n".join(L) + "\n")
print("\n".join(L))
PY
say "wrote $OUT"
