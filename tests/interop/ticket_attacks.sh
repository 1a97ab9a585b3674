# SPDX-License-Identifier: Apache-2.0
# Issue 7, against the real daemon with the attacker's tools: `openssl s_client -sess_in` replays session tickets
# an eavesdropper saw (tickets travel in clear), edited with tests/tools/sess_edit.c (secret zeroed, version or
# suite claimed otherwise). Before the fix, a ticket OpenSSL decrypted but did not resume bound the connection to
# the ticket's Registree: attacks 4 and 5 read the victim's <AE> with RSC 2000 even with today's SHA-256-only
# TLS 1.3 suites. Every attack must end in a refused handshake or an unbound context (4107), <keyGeneration> on
# such a context must be refused, and the Registrar must never log the victim as attached by the attacker.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
EDIT=${M2M_SESS_EDIT:?M2M_SESS_EDIT names the session editor (tests/tools/sess_edit.c)}

openssl_pki dev
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key >/dev/null
key=$(openssl rand -hex 16); enrol Cvictim "$key"; kid=$(keyid Cvictim "$key")
key2=$(openssl rand -hex 16); enrol Cother "$key2"; kid2=$(keyid Cother "$key2")
"$M2M_BIN" enrol cert --db "$DB" --registree-id Ccert \
  --pubkey-hash "$("$M2M_BIN" pki pubkey-hash dev.crt | grep -o '[0-9a-f]\{64\}')" >/dev/null
start_registrar

get() { printf 'GET /~/in-cse/%s HTTP/1.1\r\nHost: x\r\nX-M2M-RI: r\r\nX-M2M-Origin: %s\r\nConnection: close\r\n\r\n' "$1" "$1"; }
keygen() {
  local body='{"m2m:kgn":{}}'
  printf 'POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: k\r\nX-M2M-Origin: %s\r\nContent-Type: application/json;ty=10100\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$1" "${#body}" "$body"
}
# s_client IN-BYTES-FUNCTION ARGS...: the raw output, whatever happens
s_client() {
  local what=$1; shift
  ( $what; sleep 0.6 ) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -ign_eof "$@" 2>&1 || true
}

# --- the victims attach legitimately (the eavesdropper records their tickets) ------------------------------------
register() {
  local body="{\"m2m:ae\":{\"api\":\"R$1\",\"rr\":false,\"srv\":[\"3\"]}}"
  printf 'POST /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-Origin: %s\r\nX-M2M-RI: c\r\nX-M2M-RVI: 3\r\nContent-Type: application/json;ty=2\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$1" "${#body}" "$body"
}
reg_victim() { register Cvictim; }
reg_cert() { register Ccert; }
out=$(s_client reg_victim -tls1_3 -psk_identity "$kid" -psk "$key" -sess_out v13.sess)
grep -q 'X-M2M-RSC: 2001' <<<"$out" && pass "victim registered over TLS 1.3 PSK" || fail "victim registration: $out"
get_victim() { get Cvictim; }
out=$(s_client get_victim -tls1_2 -cipher PSK -psk_identity "$kid" -psk "$key" -sess_out v12.sess)
grep -q 'X-M2M-RSC: 2000' <<<"$out" && pass "victim re-attached over TLS 1.2 PSK" || fail "victim TLS 1.2: $out"
out=$(s_client reg_cert -tls1_3 -cert dev.crt -key dev.key -sess_out c13.sess)
grep -q 'X-M2M-RSC: 2001' <<<"$out" && pass "certificate victim registered over TLS 1.3" || fail "cert victim: $out"
# ... and once from a TLS stack without the extended master secret (RFC 7627), set through OpenSSL's own config
printf '%s\n' 'openssl_conf = init' '[init]' 'ssl_conf = ssl_sect' '[ssl_sect]' 'system_default = no_ems' '[no_ems]' \
  'Options = -ExtendedMasterSecret' >no_ems.cnf
out=$(OPENSSL_CONF=$PWD/no_ems.cnf s_client get_victim -tls1_2 -cipher PSK -psk_identity "$kid" -psk "$key" -sess_out ne.sess)
grep -q 'X-M2M-RSC: 2000' <<<"$out" && pass "victim re-attached over TLS 1.2 PSK without EMS" || fail "victim no EMS: $out"
openssl sess_id -in ne.sess -noout -text | grep -q 'Extended master secret: no' ||
  fail "the no-EMS session has the extended master secret: $(openssl sess_id -in ne.sess -noout -text)"
for f in v13 v12 c13 ne; do [ -s $f.sess ] || fail "no session saved in $f.sess"; done
victims_ok() { grep -c 'registree=C\(victim\|cert\) .*result=ok' "$LOG" || true; }
ok_before=$(victims_ok)

# --- the attacks ------------------------------------------------------------------------------------------------
# verdict NAME OUTPUT: refused handshake or 4107 passes; anything bound as the victim fails.
verdict() {
  local name=$1 out=$2
  if grep -q 'X-M2M-RSC: 20[0-9][0-9]' <<<"$out"; then
    fail "$name: the attacker was answered as the victim: $(grep -o 'X-M2M-RSC: [0-9]*' <<<"$out" | head -1)"
  elif grep -q 'X-M2M-RSC: 4107' <<<"$out"; then
    pass "$name: unbound context (4107)"
  elif grep -q 'X-M2M-RSC: 4106' <<<"$out"; then
    pass "$name: bound as the attacker, not the victim (4106)"
  elif grep -qi 'alert\|handshake failure\|no shared cipher\|errno\|error' <<<"$out" || ! grep -q 'X-M2M-RSC' <<<"$out"; then
    pass "$name: handshake refused"
  else
    fail "$name: unexpected answer: $out"
  fi
}
get_cert() { get Ccert; }

"$EDIT" v13.sess a1.sess --zero-secret
verdict "1. TLS 1.3 ticket, other hash (TLS_AES_256_GCM_SHA384)" \
  "$(s_client get_victim -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -sess_in a1.sess)"
verdict "1b. TLS 1.3 ticket, SHA-256 suites, no secret" "$(s_client get_victim -tls1_3 -sess_in a1.sess)"

"$EDIT" v12.sess a2.sess --zero-secret --version 1.3 --cipher 1302
verdict "2. TLS 1.2 ticket re-offered as a TLS 1.3 identity (SHA-384)" \
  "$(s_client get_victim -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -sess_in a2.sess)"
"$EDIT" v12.sess a2b.sess --zero-secret --version 1.3 --cipher 1301
verdict "2b. TLS 1.2 ticket re-offered as a TLS 1.3 identity (SHA-256)" \
  "$(s_client get_victim -tls1_3 -sess_in a2b.sess)"

"$EDIT" c13.sess a3.sess --zero-secret
verdict "3. certificate Registree's ticket without its certificate" "$(s_client get_cert -tls1_3 -sess_in a3.sess)"
verdict "3b. ... with a SHA-384 suite" \
  "$(s_client get_cert -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -sess_in a3.sess)"

"$EDIT" v12.sess a4.sess --zero-secret
out=$(s_client get_victim -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -sess_in a4.sess)
verdict "4. TLS 1.2 PSK ticket on a TLS 1.2 certificate suite" "$out"
"$EDIT" v12.sess a4b.sess --zero-secret --cipher c02b
verdict "4b. ... claimed to be of that suite" \
  "$(s_client get_victim -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -sess_in a4b.sess)"

"$EDIT" v13.sess a5.sess --zero-secret --version 1.2 --cipher c02b
out5=$(s_client get_victim -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -sess_in a5.sess)
verdict "5. TLS 1.3 ticket inside a TLS 1.2 ClientHello" "$out5"
"$EDIT" c13.sess a5b.sess --zero-secret --version 1.2 --cipher c02b
verdict "5b. certificate Registree's TLS 1.3 ticket inside a TLS 1.2 ClientHello" \
  "$(s_client get_cert -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -sess_in a5b.sess)"

get_other() { get Cother; }
verdict "6. ticket first, then another Registree's key ID with a random key" \
  "$(s_client get_other -tls1_3 -sess_in a1.sess -psk_identity "$kid2" -psk "$(openssl rand -hex 16)")"
verdict "6b. ... with SHA-384 only" \
  "$(s_client get_other -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -sess_in a1.sess -psk_identity "$kid2" \
     -psk "$(openssl rand -hex 16)")"

# 9. the no-EMS ticket offered with the extended master secret: OpenSSL decrypts it, the callback vouches for it,
# and the handshake goes on in full (RFC 7627 5.3) -- a ticket decrypted but not resumed in TLS 1.2 even after
# the version checks; with the attacker's own key it binds the attacker, as itself
"$EDIT" ne.sess a9.sess --zero-secret
verdict "9. TLS 1.2 ticket without EMS offered with EMS, then another Registree's own key" \
  "$(s_client get_victim -tls1_2 -cipher PSK -sess_in a9.sess -psk_identity "$kid2" -psk "$key2")"
verdict "9b. ... with the victim's key ID and a guessed key" \
  "$(s_client get_victim -tls1_2 -cipher PSK -sess_in a9.sess -psk_identity "$kid" -psk "$(openssl rand -hex 16)")"

# 7. <keyGeneration> over the context attack 5 got (completed, unbound): refused, no key generated
keygen_victim() { keygen Cvictim; }
out=$(s_client keygen_victim -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256 -sess_in a5.sess)
if grep -q 'X-M2M-RSC: 2001' <<<"$out"; then fail "7. keyGeneration on the attacker's context: $out"
else pass "7. keyGeneration on the attacker's context refused ($(grep -o 'X-M2M-RSC: [0-9]*' <<<"$out" | head -1))"; fi

# the earlier class: a known key ID with a wrong key
verdict "8. TLS 1.3 psk_identity known, key unknown" \
  "$(s_client get_victim -tls1_3 -psk_identity "$kid" -psk "$(openssl rand -hex 16)")"
verdict "8b. TLS 1.2 psk_identity known, key unknown" \
  "$(s_client get_victim -tls1_2 -cipher PSK -psk_identity "$kid" -psk "$(openssl rand -hex 16)")"

# --- what the Registrar recorded ----------------------------------------------------------------------------------
ok_after=$(victims_ok)
[ "$ok_after" = "$ok_before" ] && pass "no attack was logged as an attachment (result=ok)" ||
  fail "the log shows $((ok_after - ok_before)) attachment(s) of a victim during the attacks"
grep -q 'keygen registree=Cvictim' "$LOG" && fail "a key was generated for the victim" || pass "no key generated"
# the victims still get in
out=$(s_client get_victim -tls1_3 -psk_identity "$kid" -psk "$key")
grep -q 'X-M2M-RSC: 2000' <<<"$out" && pass "the victim still attaches with its key" || fail "victim afterwards: $out"
finish
