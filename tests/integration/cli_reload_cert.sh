# SPDX-License-Identifier: Apache-2.0
# SIGHUP reloads the Registrar certificate (issue 15): after the files are replaced, new connections are
# presented the new certificate on every worker (the CoAPS listener's DTLS handshakes too), a connection opened before keeps working, TLS-PSK still works,
# and files that cannot be used (a key that does not match) leave the previous certificate in place, with the
# reason in the log.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
openssl_pki
start_registrar --cert "$WORK/registrar.crt" --key "$WORK/registrar.key" --chain "$WORK/root.crt" --coaps 127.0.0.1:0 \
  --threads 2

fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1" | cut -d= -f2; }
# presented: the SHA-256 fingerprint of the certificate a fresh connection is shown
presented() {
  timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername in-cse.m2m.localhost </dev/null 2>/dev/null |
    openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
# presented over DTLS (the CoAPS listener): the certificate a fresh DTLS 1.2 handshake is shown
presented_dtls() {
  timeout 10 openssl s_client -dtls1_2 -connect "127.0.0.1:$COAPS_PORT" -cipher ECDHE-ECDSA-AES128-CCM8 </dev/null \
    2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null | cut -d= -f2
}
# all_present FP: 8 fresh connections (spread over both workers by SO_REUSEPORT) are all shown FP
all_present() {
  local i
  for i in 1 2 3 4 5 6 7 8; do [ "$(presented)" = "$1" ] || return 1; done
  [ "$(presented_dtls)" = "$1" ]
}
# eventually_present FP: the workers switch on their own loops, a moment after the signal
eventually_present() {
  local i
  for i in $(seq 1 40); do all_present "$1" && return 0; sleep 0.05; done
  return 1
}
# new_registrar_cert NAME: another Registrar certificate (new key, same names) from the same root
new_registrar_cert() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=in-cse.m2m.localhost" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA root.crt -CAkey root.key -CAcreateserial -days 1 -extfile registrar.ext \
    -out "$1.crt" 2>/dev/null
}

A=$(fingerprint registrar.crt)
if all_present "$A"; then pass "before the reload: certificate A"; else fail "certificate A not presented"; fi

# A connection opened before the reload, held open through it.
mkfifo held.in
timeout 30 openssl s_client -connect "127.0.0.1:$PORT" -quiet <held.in >held.out 2>held.err &
HELD=$!
exec 3>held.in
for _ in $(seq 1 100); do grep -q 'verify return' held.err 2>/dev/null && break; sleep 0.05; done

new_registrar_cert b
B=$(fingerprint b.crt)
# replaced the way an operator (or certbot) does: new files renamed over the old ones, then SIGHUP
mv b.key registrar.key
mv b.crt registrar.crt
kill -HUP "$REG_PID"
# both CoAPS workers say when they took it: the very next DTLS handshake is shown B (libcoap made the SSL it will
# use before the reload: it takes the context's certificate when the ClientHello comes)
for _ in $(seq 1 100); do [ "$(grep -c "reload: CoAPS worker .* presents sha256=" "$LOG")" -ge 2 ] && break; sleep 0.05; done
first_dtls=$(presented_dtls)
if [ "$first_dtls" = "$B" ]; then pass "after SIGHUP: the first DTLS handshake is shown certificate B"; else
  fail "the first DTLS handshake after SIGHUP was shown $first_dtls, not B"; fi
if eventually_present "$B"; then pass "after SIGHUP: certificate B on every new connection"; else
  fail "certificate B not presented after SIGHUP (saw $(presented))"; fi
if grep -q "reload: new connections get certificate $WORK/registrar.crt sha256=" "$LOG"; then
  pass "the log names the certificate now presented"; else fail "no reload line in the log"; fi
kill -0 "$REG_PID" 2>/dev/null && pass "the Registrar still runs after SIGHUP" || fail "SIGHUP stopped the Registrar"

# The held connection (server-authenticated, unbound: a token Registree before Step 5) is still served.
printf 'GET /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: Cheld\r\nX-M2M-RI: r1\r\nConnection: close\r\n\r\n' >&3
exec 3>&-
wait "$HELD" || true
if grep -q '^HTTP/1.1 ' held.out; then pass "a connection opened before the reload is still answered"; else
  fail "the held connection got no answer: $(head -c 300 held.out)"; fi

# TLS-PSK goes on under the new context.
key=$(openssl rand -hex 16)
enrol Cpsk "$key"
out=$(ae_create_request Cpsk Rpsk | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_2 \
  -cipher PSK-AES128-CBC-SHA256 -psk_identity "$(keyid Cpsk "$key")" -psk "$key" -quiet 2>/dev/null || true)
if grep -q 'X-M2M-RSC: 2001' <<<"$out"; then pass "TLS-PSK registration after the reload"; else
  fail "TLS-PSK after the reload: $(head -c 300 <<<"$out")"; fi

# A certificate whose key does not match: refused, B stays.
new_registrar_cert c
cp c.crt registrar.crt # the key is still B's
kill -HUP "$REG_PID"
for _ in $(seq 1 40); do grep -q "reload failed" "$LOG" && break; sleep 0.05; done
if grep -Eq "reload failed, still serving the previous certificate: .*(key values mismatch|does not match)" "$LOG"; then
  pass "a key that does not match: the log says so"; else fail "no 'reload failed' line naming the mismatch"; fi
if all_present "$B"; then pass "after a failed reload: still certificate B"; else fail "a failed reload changed the certificate"; fi

# An unreadable certificate file: refused too.
rm registrar.crt
kill -HUP "$REG_PID"
for _ in $(seq 1 40); do [ "$(grep -c "reload failed" "$LOG")" -ge 2 ] && break; sleep 0.05; done
if grep -q "reload failed, .*registrar.crt: No such file or directory" "$LOG" && all_present "$B"; then
  pass "a missing certificate file: refused, still certificate B"; else fail "missing certificate file"; fi
finish
