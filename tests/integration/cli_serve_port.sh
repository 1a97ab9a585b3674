# SPDX-License-Identifier: Apache-2.0
# `registrar serve` refuses a HOST:PORT another process already listens on (issue 7). The workers' SO_REUSEPORT
# sockets would otherwise let a second Registrar join the port silently and take part of the connections. The
# first Registrar keeps serving; a restart on the same port (old connections in TIME_WAIT) still works; port 0
# is never refused.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null
"$M2M_BIN" registrar init --db other.db --cse-id /other-cse --cse-name other-base >/dev/null
(umask 077; openssl rand -hex 32 >dev.key)
enrol_file Cport dev.key
details() { # PORT -> dev.ini for a Registrar on that port
  printf '[registrar]\npoa = https://127.0.0.1:%s\ncse-id = /in-cse\n[registree]\nid = Cport\napp-id = Rport\n[credentials]\nmechanism = psk\nkey-file = dev.key\n' \
    "$1" >dev.ini
}
attach() { rc=0; out=$("$M2M_BIN" attach --details dev.ini 2>&1) || rc=$?; }
ok_if() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what (rc=$rc: $out)"; fi; }
# serve_fixed NAME DB PORT: a Registrar on 127.0.0.1:PORT in the background; waits until it listens
serve_fixed() {
  "$M2M_BIN" registrar serve --db "$2" --https "127.0.0.1:$3" --threads 2 >"$1.out" 2>>"$LOG" &
  REG_PID=$!
  for _ in $(seq 1 100); do
    grep -q "^listening https port $3$" "$1.out" && return 0
    kill -0 "$REG_PID" 2>/dev/null || break
    sleep 0.05
  done
  return 1
}

# A port that was free a moment ago: the one the kernel gave a Registrar on port 0, which then served and stopped
# while a client was still connected, so that it closed that connection first and left it in TIME_WAIT on the port.
start_registrar
P=$PORT
details "$P"
attach
ok_if "a Registrar on port 0 got port $P and served" eval '[ $rc = 0 ]'
exec 3<>"/dev/tcp/127.0.0.1/$P"
sleep 0.2
stop_registrar
exec 3<&-
sleep 0.2
if command -v ss >/dev/null; then
  tw=$(ss -Htan state time-wait "( sport = :$P )" | wc -l)
  ok_if "the stopped Registrar left a connection in TIME_WAIT on port $P" eval '[ "$tw" -ge 1 ]'
fi

# The first Registrar on the fixed port: a restart on the port the last one used starts.
rc=0; serve_fixed first "$DB" "$P" || rc=$?
ok_if "a Registrar restarts on fixed port $P while connections of the last one are in TIME_WAIT" eval '[ $rc = 0 ]'
FIRST=$REG_PID

# A second one on the same port, with another store and with the same store: both refused, quickly and clearly.
for db in other.db "$DB"; do
  rc=0; out=$(timeout 10 "$M2M_BIN" registrar serve --db "$db" --https "127.0.0.1:$P" --threads 2 2>&1) || rc=$?
  ok_if "a second Registrar on 127.0.0.1:$P ($(basename "$db")) exits non-zero at once" \
    eval '[ $rc = 1 ] && ! grep -q "listening" <<<"$out"'
  ok_if "... saying that 127.0.0.1:$P is in use and what to do" \
    eval 'grep -qF "127.0.0.1:$P is already in use by another process" <<<"$out" && grep -qF -- "--https" <<<"$out"'
done
# ... also with one worker, and when it asks for the wildcard address that covers 127.0.0.1
rc=0; out=$(timeout 10 "$M2M_BIN" registrar serve --db other.db --https "0.0.0.0:$P" --threads 1 2>&1) || rc=$?
ok_if "a second Registrar on 0.0.0.0:$P is refused too" \
  eval '[ $rc = 1 ] && grep -qF "0.0.0.0:$P is already in use" <<<"$out"'

# The first one never noticed: it is running and serves every connection (none went to a second listener).
ok_if "the first Registrar is still running" kill -0 "$FIRST"
ok=0
for _ in $(seq 1 8); do attach; [ $rc = 0 ] && ok=$((ok + 1)); done
ok_if "the first Registrar still serves: 8 of 8 re-attachments" eval '[ $ok = 8 ]'

# Port 0 is never refused: the kernel gives the second Registrar a port of its own.
rc=0; out=$(timeout 2 "$M2M_BIN" registrar serve --db other.db --https 127.0.0.1:0 --threads 1 2>&1) || rc=$?
ok_if "a second Registrar on port 0 starts beside the first (and runs until stopped)" \
  eval '[ $rc = 124 ] && grep -q "^listening https port [0-9]*$" <<<"$out" && ! grep -q "^listening https port $P$" <<<"$out"'

stop_registrar

# CoAPS: its workers share the UDP port with SO_REUSEPORT, so a second Registrar on the same port must be refused
# too (it would take part of the devices' datagrams, and their DTLS sessions would break)
start_registrar --coaps 127.0.0.1:0
CP=$COAPS_PORT
rc=0; out=$(timeout 10 "$M2M_BIN" registrar serve --db other.db --https 127.0.0.1:0 --coaps "127.0.0.1:$CP" \
  --threads 2 2>&1) || rc=$?
ok_if "a second Registrar on coaps://127.0.0.1:$CP is refused at once, saying the port is in use" \
  eval '[ $rc = 1 ] && ! grep -q "^listening" <<<"$out" && grep -qF "127.0.0.1:$CP (UDP) is already in use" <<<"$out"'
ok_if "the first Registrar is still running" kill -0 "$REG_PID"
stop_registrar

# The CoAPS workers' sockets (up to 128 each) are descriptors the limits keep aside: two workers' 256 do not fit
# under a descriptor limit of 300, which is said at start, instead of connections failing later for descriptors.
rc=0; out=$( (ulimit -n 300; timeout 10 "$M2M_BIN" registrar serve --db other.db --https 127.0.0.1:0 \
  --coaps 127.0.0.1:0 --threads 2 --coaps-max-sessions 1000000) 2>&1) || rc=$?
ok_if "CoAPS sockets beyond the descriptor limit are refused at start, naming the limit" \
  eval '[ $rc = 1 ] && ! grep -q "^listening" <<<"$out" && grep -qF "descriptor limit (300)" <<<"$out"'
(ulimit -n 300; exec "$M2M_BIN" registrar serve --db other.db --https 127.0.0.1:0 --coaps 127.0.0.1:0 --threads 2 \
  --coaps-max-sessions 4096) >small.out 2>&1 &
SMALL=$!
for _ in $(seq 1 200); do grep -q "^listening coaps port" small.out && break; kill -0 "$SMALL" 2>/dev/null || break; sleep 0.05; done
ok_if "with fewer sessions (four sockets per worker) the same limit is enough" grep -q "^listening coaps port" small.out
kill "$SMALL" 2>/dev/null; wait "$SMALL" 2>/dev/null || true
finish
