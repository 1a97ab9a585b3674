# SPDX-License-Identifier: Apache-2.0
# Same-equipment AEs (seed note on Step 5): `registrar serve --local-socket PATH --local-ae UID:AE-ID` serves the
# HTTP binding on a Unix socket (mode 0660, no TCP), and a connection there speaks as the AE-ID of its uid, which the
# kernel reports. curl --unix-socket as two users: root is a --local-ae, nobody is not (4107 for everything).
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

command -v curl >/dev/null || { echo "SKIP: curl not installed"; exit 77; }
command -v runuser >/dev/null || { echo "SKIP: runuser not installed"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root to connect as a second user"; exit 77; }

SOCK=$WORK/run/local.sock
mkdir -m 755 "$WORK/run"
chmod 711 "$WORK"

# refused configurations: a host:port is not a socket path; a uid given twice; an AE-ID that is a CSE-ID
for bad in "--local-socket 127.0.0.1:8080 --local-ae 0:Cx" "--local-socket $SOCK --local-ae 0:Ca --local-ae 0:Cb" \
  "--local-socket $SOCK --local-ae 0:/in-cse" "--local-socket $SOCK --local-ae nosuchuser:Cx"; do
  "$M2M_BIN" registrar init --db "$WORK/bad.db" --cse-id /in-cse --cse-name cse-base >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  if "$M2M_BIN" registrar serve --db "$WORK/bad.db" --https 127.0.0.1:0 $bad >/dev/null 2>err.txt; then
    fail "accepted: $bad"
  else
    grep -q -- '--local-' err.txt && pass "refused ($bad): $(head -1 err.txt)" || fail "unclear error for $bad: $(cat err.txt)"
  fi
done

start_registrar --local-socket "$SOCK" --local-ae 0:Clocal-app
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] && pass "socket created" || fail "no socket at $SOCK"
[ "$(stat -c %a "$SOCK")" = 660 ] && pass "socket mode 0660" || fail "socket mode $(stat -c %a "$SOCK")"
if ss -ltn 2>/dev/null | grep -q "$SOCK"; then fail "the local socket is a TCP listener"; fi

req() { # user method path [body] -> headers and body
  local user=$1 method=$2 path=$3 body=${4:-} ty=${5:-}
  local args=(-sS -i --max-time 10 --unix-socket "$SOCK" -X "$method" "http://localhost$path"
    -H 'X-M2M-Origin: Clocal-app' -H 'X-M2M-RI: loc-1' -H 'X-M2M-RVI: 3')
  [ -n "$ty" ] && args+=(-H "Content-Type: application/json;ty=$ty")
  [ -n "$body" ] && args+=(-d "$body")
  if [ "$user" = root ]; then curl "${args[@]}" 2>&1 || true; else runuser -u "$user" -- curl "${args[@]}" 2>&1 || true; fi
}
rsc() { sed -n 's/^X-M2M-RSC: \([0-9]*\).*/\1/ip' <<<"$1" | tr -d '\r' | head -1; }

out=$(req root POST /~/in-cse '{"m2m:ae":{"api":"Rlocal","rr":false,"srv":["3"]}}' 2)
[ "$(rsc "$out")" = 2001 ] && grep -q '"aei":"Clocal-app"' <<<"$out" && pass "uid 0 registered Clocal-app without TLS" ||
  fail "register over the local socket: $out"
out=$(req root GET /~/in-cse/Clocal-app)
[ "$(rsc "$out")" = 2000 ] && pass "uid 0 retrieves its <AE>" || fail "retrieve: $out"
out=$(req root POST /~/in-cse/Clocal-app '{"m2m:cnt":{"rn":"data"}}' 3)
[ "$(rsc "$out")" = 2001 ] && pass "uid 0 creates a container" || fail "container: $out"

# speaking as another AE: the binding is the uid's, not the header's
out=$(curl -sS -i --max-time 10 --unix-socket "$SOCK" "http://localhost/~/in-cse/Clocal-app" -H 'X-M2M-Origin: Cother' \
  -H 'X-M2M-RI: loc-2' -H 'X-M2M-RVI: 3' 2>&1 || true)
[ "$(rsc "$out")" = 4106 ] || [ "$(rsc "$out")" = 4103 ] && pass "From another AE-ID refused ($(rsc "$out"))" ||
  fail "spoofed From: $out"

# no security context: no key generation
out=$(req root POST /~/in-cse '{"m2m:kgn":{}}' 10100)
[ "$(rsc "$out")" = 4005 ] && grep -q "needs a TLS security context" <<<"$out" && pass "key generation refused: no security context" ||
  fail "key generation over the local socket: $out"

# a second user who may open the socket (its group) but is no --local-ae: 4107, for everything
chgrp nogroup "$SOCK"
out=$(req nobody GET /~/in-cse/Clocal-app)
[ "$(rsc "$out")" = 4107 ] && pass "uid nobody (not a --local-ae) gets 4107" || fail "unlisted uid: $out"
out=$(req nobody POST /~/in-cse '{"m2m:ae":{"api":"Rlocal","rr":false,"srv":["3"]}}' 2)
[ "$(rsc "$out")" = 4107 ] && pass "uid nobody cannot register" || fail "unlisted uid registers: $out"
grep -q 'mechanism=local registree=Clocal-app key_id=uid:0' "$LOG" && pass "log names the AE and the uid" ||
  fail "no local attach line in the log"
grep -q 'mechanism=local peer=local result=refused reason=local uid 65534 is not a --local-ae' "$LOG" &&
  pass "log says why nobody was refused" || fail "no refusal line in the log"

# a second Registrar on the same socket path is refused while the first serves it
"$M2M_BIN" registrar init --db "$WORK/second.db" --cse-id /in-cse --cse-name cse-base >/dev/null
if "$M2M_BIN" registrar serve --db "$WORK/second.db" --https 127.0.0.1:0 --local-socket "$SOCK" --local-ae 0:Cx \
  >/dev/null 2>err.txt; then
  fail "second Registrar took the socket"
else grep -q 'another process serves it' err.txt && pass "socket in use refused" || fail "in use: $(cat err.txt)"; fi

stop_registrar
[ ! -e "$SOCK" ] && pass "socket removed at stop" || fail "socket left behind"
finish
