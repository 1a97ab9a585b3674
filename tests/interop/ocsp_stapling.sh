# SPDX-License-Identifier: Apache-2.0
# Interop: the Registrar staples real OCSP responses made by `openssl ocsp` (from a file, and fetched from an
# `openssl ocsp` responder on 127.0.0.1), and `openssl s_client -status` sees them.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

listening() { awk -v p=":$(printf '%04X' "$1")" '$2 ~ p"$" && $4 == "0A" {f=1} END {exit !f}' /proc/net/tcp /proc/net/tcp6; }
free_port() { local p; while :; do p=$((20000 + RANDOM % 30000)); listening "$p" || { echo "$p"; return; }; done; }
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null; }

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.crt -days 2 \
  -subj "/CN=Registrar Root" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
ec registrar in-cse.m2m.localhost
printf 'subjectAltName=DNS:in-cse.m2m.localhost,URI:/in-cse\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >reg.ext
openssl x509 -req -in registrar.csr -CA root.crt -CAkey root.key -set_serial 0x1001 -days 1 -extfile reg.ext -out registrar.crt 2>/dev/null
ec ocsp "OCSP Responder"
printf 'keyUsage=digitalSignature\nextendedKeyUsage=OCSPSigning\n' >ocsp.ext
openssl x509 -req -in ocsp.csr -CA root.crt -CAkey root.key -set_serial 0x2001 -days 1 -extfile ocsp.ext -out ocsp.crt 2>/dev/null
subject=$(openssl x509 -in registrar.crt -noout -subject -nameopt compat | sed 's/^subject=//')
expiry=$(date -u -d '+1 day' +%y%m%d%H%M%SZ)
printf 'V\t%s\t\t1001\tunknown\t%s\n' "$expiry" "$subject" >index.txt
touch index.txt.attr

openssl ocsp -issuer root.crt -cert registrar.crt -reqout req.der -no_nonce 2>/dev/null
openssl ocsp -index index.txt -CA root.crt -rsigner ocsp.crt -rkey ocsp.key -reqin req.der -respout good.der -ndays 1 2>/dev/null
[ -s good.der ] || fail "openssl ocsp made no response"

status_of() { # port -> the Cert Status line s_client prints for the stapled response
  echo | timeout 10 openssl s_client -connect "127.0.0.1:$1" -status -CAfile root.crt -servername in-cse.m2m.localhost \
    -tls1_2 2>/dev/null | grep -E 'OCSP response: no response sent|Cert Status:' | head -1 || true
}

# 1. from a file
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key >/dev/null
start_registrar --ocsp-response good.der --ocsp-issuer root.crt
s=$(status_of "$PORT"); grep -q 'Cert Status: good' <<<"$s" && pass "file: s_client -status sees '$s'" || fail "file: '$s'"
# the file is re-read when it changes: now a revoked status
printf 'R\t%s\t%s\t1001\tunknown\t%s\n' "$expiry" "$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)" "$subject" >index.txt
openssl ocsp -index index.txt -CA root.crt -rsigner ocsp.crt -rkey ocsp.key -reqin req.der -respout revoked.der -ndays 1 2>/dev/null
cp revoked.der good.der.new && mv good.der.new good.der
ok=
for _ in $(seq 1 75); do s=$(status_of "$PORT"); grep -q 'revoked' <<<"$s" && { ok=1; break; }; sleep 0.2; done
[ -n "$ok" ] && pass "file replaced: now '$s'" || fail "replaced response not picked up: '$s'"
stop_registrar

# a response file that is not OCSP is a configuration error named at start
echo junk >junk.der
if "$M2M_BIN" registrar serve --db "$DB" --https 127.0.0.1:0 --ocsp-response junk.der --ocsp-issuer root.crt \
     >/dev/null 2>err.txt; then fail "junk OCSP response accepted"
else grep -q 'junk.der' err.txt && pass "junk response refused: $(cat err.txt)" || fail "error did not name the file: $(cat err.txt)"; fi

# 2. fetched from an `openssl ocsp` responder (it listens on every interface; we reach it only via 127.0.0.1)
printf 'V\t%s\t\t1001\tunknown\t%s\n' "$expiry" "$subject" >index.txt
OPORT=$(free_port)
openssl ocsp -index index.txt -port "$OPORT" -rsigner ocsp.crt -rkey ocsp.key -CA root.crt -ndays 1 -nrequest 20 \
  >ocsp.log 2>&1 &
OCSP_PID=$!
trap 'kill $OCSP_PID 2>/dev/null || true; cleanup' EXIT
# wait until it listens, without connecting: it serves one connection at a time and would wait on ours
for _ in $(seq 1 100); do listening "$OPORT" && break; sleep 0.1; done
start_registrar --ocsp-url "http://127.0.0.1:$OPORT/" --ocsp-issuer root.crt
# on a loaded machine the first fetch may time out; the Registrar retries every 10 s
for _ in $(seq 1 25); do s=$(status_of "$PORT"); grep -q 'Cert Status: good' <<<"$s" && break; sleep 1; done
grep -q 'Cert Status: good' <<<"$s" && pass "responder: s_client -status sees '$s'" || fail "responder: '$s' $(cat ocsp.log)"
stop_registrar

# 3. no stapling configured: nothing is sent (a Registree that requires it must refuse)
start_registrar
s=$(status_of "$PORT"); grep -q 'no response sent' <<<"$s" && pass "unconfigured: '$s'" || fail "unconfigured: '$s'"
finish
