# SPDX-License-Identifier: Apache-2.0
# Regression (found in development): a TLS 1.3 client names an enrolled Registree's psk_identity (a key ID, which
# is not secret) without holding its key, and offers only TLS_AES_256_GCM_SHA384, a suite the SHA-256 external PSK
# cannot be used with. OpenSSL used to ask the PSK callback, ignore the PSK and complete a certificate handshake,
# and the identity the callback saw bound the context. Now the Registrar offers only SHA-256 TLS 1.3 suites (no
# shared suite: the handshake fails), and with a SHA-256 suite the binder of the wrong key fails it. Either way the
# attacker never reads the victim's data; the binding decision itself under a SHA-384 suite is tested in-process
# (tests/unit/test_binding.c), where the server may be configured to allow it.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

openssl_pki
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key >/dev/null
key=$(openssl rand -hex 16); enrol Cvictim "$key"; kid=$(keyid Cvictim "$key")
start_registrar

# the victim registers
out=$( (ae_create_request Cvictim Rvictim; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" \
  -tls1_3 -psk_identity "$kid" -psk "$key" -quiet -ign_eof 2>/dev/null || true)
grep -q 'X-M2M-RSC: 2001' <<<"$out" && pass "victim registered" || fail "victim registration: $out"

get='GET /~/in-cse/Cvictim HTTP/1.1\r\nHost: x\r\nX-M2M-RI: 1\r\nX-M2M-Origin: Cvictim\r\nConnection: close\r\n\r\n'
for suites in TLS_AES_256_GCM_SHA384 TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256; do
  out=$( (printf "$get"; sleep 0.5) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -tls1_3 \
    -ciphersuites "$suites" -psk_identity "$kid" -psk "$(openssl rand -hex 16)" -quiet -ign_eof 2>&1 || true)
  if grep -q 'X-M2M-RSC: 2000' <<<"$out"; then
    fail "identity without key read the victim's <AE> ($suites)"
  elif grep -q 'X-M2M-RSC: 4107' <<<"$out" || grep -qi 'alert' <<<"$out"; then
    pass "identity without key ($suites): $(grep -o 'X-M2M-RSC: [0-9]*\|alert [a-z ]*' <<<"$out" | head -1)"
  else
    fail "unexpected answer ($suites): $out"
  fi
done
[ "$(grep -c 'result=refused' "$LOG")" -ge 2 ] && pass "both attempts logged as refused" ||
  fail "the log does not show both attempts refused"
finish
