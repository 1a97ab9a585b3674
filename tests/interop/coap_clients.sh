# SPDX-License-Identifier: Apache-2.0
# Interop over CoAPS (issue 12): libcoap's coap-client (OpenSSL and GnuTLS builds) registers AEs over DTLS-PSK with
# the oneM2M options given by -O; gnutls-cli --udp completes a DTLS-PSK handshake; openssl s_client -dtls1_2
# attaches with a client certificate and resumes from its session ticket; a UDP relay that loses and reorders
# datagrams, or repeats every one of them, still ends in exactly one registration.
#
# coap-client knows no oneM2M option, and every one of them is critical: it refuses our responses (which carry
# oneM2M-RSC 307 and oneM2M-RQI 283, as TS-0008 requires) as "unknown critical option" and waits out its -B
# timeout. What it received is in its debug output (-v 7), which is what these checks read, with the Registrar's
# log and its store.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
for tool in coap-client-openssl coap-client-gnutls gnutls-cli; do
  command -v "$tool" >/dev/null || { echo "skip: $tool not installed"; exit 77; }
done

openssl_pki dev1 dev2
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key >/dev/null
"$M2M_BIN" enrol cert --db "$DB" --registree-id Cdev1 \
  --pubkey-hash "$("$M2M_BIN" pki pubkey-hash dev1.crt | grep -o '[0-9a-f]\{64\}')" >/dev/null
# coap-client's -k takes the key as text: the enrolled key is the hex of those ASCII bytes
ascii_key() { printf 'coap-key-%07d' "$1"; }
hex_of() { printf %s "$1" | od -An -tx1 | tr -d ' \n'; }
for i in 1 2 3 4 5 6; do enrol "Ccoap$i" "$(hex_of "$(ascii_key $i)")"; done
start_registrar --coaps 127.0.0.1:0 --admin 0
[ -n "$COAPS_PORT" ] || { fail "no coaps port"; finish; }
ADMIN=$(sed -n 's/^listening admin port \([0-9]*\)$/\1/p' "$WORK/serve.out")
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

AE='{"m2m:ae":{"api":"Rcoap","rr":false,"srv":["3"]}}'
# client TOOL N PORT ARGS...: coap-client as Ccoap<N>; prints the messages it received (coap_show_pdu lines). It
# would wait for its -B timeout (it never takes our answers): stopped as soon as a final answer shows up.
client() {
  local tool=$1 n=$2 port=$3; shift 3
  local key id pid out
  key=$(ascii_key "$n"); id=$(keyid "Ccoap$n" "$(hex_of "$key")")
  # a file of its own, made before the client starts: the background job's redirection happens after the fork
  out=$(mktemp "$WORK/client.XXXXXX")
  "$tool" -B "${WAIT:-10}" -v 7 -k "$key" -u "$id" "$@" >"$out" 2>&1 & pid=$!
  for _ in $(seq 1 $((${WAIT:-10} * 20))); do
    grep -qE '^v:1 t:(ACK|CON|NON) c:(2\.0[0-9]|[45]\.[0-9]{2})' "$out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  grep -E '^v:1 t:(ACK|CON|NON)' "$out" | grep -vE 'c:(GET|POST|PUT|DELETE)' || true
}
register() { # tool n port
  client "$1" "$2" "$3" -m post -t 50 -O "279,Ccoap$2" -O "283,reg-$2" -O 271,3 -O 267,0x02 -e "$AE" \
    "coaps://127.0.0.1:$3/~/in-cse"
}

# 1. both coap-client builds register an AE: 2.01 with oneM2M-RSC 2001 (0x07D1), Location-Path ~/in-cse/Ccoap<N>
for spec in coap-client-openssl:1 coap-client-gnutls:2; do
  tool=${spec%:*}; n=${spec#*:}
  out=$(register "$tool" "$n" "$COAPS_PORT")
  if grep -q 'c:2.01' <<<"$out" && grep -q '307:\\x07\\xD1' <<<"$out" &&
     grep -q "Location-Path:~, Location-Path:in-cse, Location-Path:Ccoap$n" <<<"$out" && grep -q '283:' <<<"$out"; then
    pass "$tool registered Ccoap$n over DTLS-PSK"
  else fail "$tool registration: $out"; fi
  out=$(client "$tool" "$n" "$COAPS_PORT" -m get -O "279,Ccoap$n" -O "283,get-$n" "coaps://127.0.0.1:$COAPS_PORT/~/in-cse/Ccoap$n")
  grep -q 'c:2.05' <<<"$out" && grep -q '307:\\x07\\xD0' <<<"$out" && grep -q "\"aei\":\"Ccoap$n\"" <<<"$out" &&
    pass "$tool retrieves it (2.05, oneM2M-RSC 2000)" || fail "$tool retrieve: $out"
done
grep -q 'attach mechanism=psk registree=Ccoap1 .*version=DTLSv1.2 .*binding=coap' "$LOG" &&
  grep -q 'attach mechanism=psk registree=Ccoap2 .*version=DTLSv1.2 .*binding=coap' "$LOG" &&
  pass "one attach line per client, binding=coap" || fail "attach lines"

# 2. a spoofed From: 4.03 with oneM2M-RSC 4106 (0x100A); another Registree's AE: oneM2M-RSC 4004 (0x0FA4)
out=$(client coap-client-openssl 1 "$COAPS_PORT" -m get -O 279,Ccoap2 -O 283,spoof "coaps://127.0.0.1:$COAPS_PORT/~/in-cse/Ccoap2")
grep -q 'c:4.03' <<<"$out" && grep -q '307:\\x10\\x0A' <<<"$out" && pass "spoofed From: 4.03, RSC 4106" || fail "spoof: $out"
out=$(client coap-client-openssl 1 "$COAPS_PORT" -m get -O 279,Ccoap1 -O 283,other "coaps://127.0.0.1:$COAPS_PORT/~/in-cse/Ccoap2")
grep -q 'c:4.04' <<<"$out" && grep -q '307:\\x0F\\xA4' <<<"$out" && pass "another's AE: 4.04, RSC 4004" || fail "other: $out"

# 3. a wrong key: no handshake, nothing answered
out=$(timeout 20 coap-client-openssl -B 3 -v 7 -k wrong-key-000000 -u "$(keyid Ccoap3 "$(hex_of "$(ascii_key 3)")")" \
      -m get -O 279,Ccoap3 -O 283,x "coaps://127.0.0.1:$COAPS_PORT/~/in-cse" 2>&1 || true)
grep -q '^v:1 t:ACK' <<<"$out" && fail "wrong key answered: $out" || pass "wrong key: no answer"

# 4. gnutls-cli --udp: a DTLS 1.2 PSK handshake with the oneM2M mandatory suite
key=$(ascii_key 3)
out=$( (sleep 1) | timeout 15 gnutls-cli --udp -p "$COAPS_PORT" --pskusername "$(keyid Ccoap3 "$(hex_of "$key")")" \
        --pskkey "$(hex_of "$key")" --priority "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CCM-8:-MAC-ALL:+AEAD" \
        127.0.0.1 2>&1 || true)
grep -q 'Handshake was completed' <<<"$out" && grep -q 'AES-128-CCM-8' <<<"$out" &&
  grep -q 'attach mechanism=psk registree=Ccoap3 .*cipher=PSK-AES128-CCM8 .*binding=coap' "$LOG" &&
  pass "gnutls-cli --udp: DTLS-PSK PSK-AES128-CCM8 handshake, bound to Ccoap3" || fail "gnutls-cli: $out"

# 5. openssl s_client -dtls1_2 with an enrolled client certificate, then its session ticket
session() { (sleep 1) | timeout 15 openssl s_client -dtls1_2 -connect "127.0.0.1:$COAPS_PORT" -cert "$1.crt" -key "$1.key" \
              -CAfile root.crt -cipher ECDHE-ECDSA-AES128-CCM8 "${@:2}" 2>&1 | grep -E '^(New|Reused),|Verify return' || true; }
first=$(session dev1 -sess_out dev1.sess); again=$(session dev1 -sess_in dev1.sess)
grep -q '^New, .*ECDHE-ECDSA-AES128-CCM8' <<<"$first" && grep -q '^Reused' <<<"$again" &&
  grep -q 'attach mechanism=cert registree=Cdev1 .*handshake=full .*binding=coap' "$LOG" &&
  grep -q 'attach mechanism=cert registree=Cdev1 .*handshake=resumed .*binding=coap' "$LOG" &&
  [ "$(metric 'm2m_handshakes_total{mechanism="cert",kind="resumed",binding="coap"}')" = 1 ] &&
  pass "s_client -dtls1_2: certificate attachment, then resumed from the ticket" || fail "s_client: $first / $again"
session dev2 >/dev/null
grep -q 'result=refused alert=bad certificate reason=no enrolment for public-key hash .*binding=coap' "$LOG" &&
  pass "s_client -dtls1_2 with an unenrolled certificate: refused" || fail "unenrolled certificate"

# 6. block-wise (RFC 7959): coap-client sends a 3 KB contentInstance in 64-byte Block1 blocks
client coap-client-openssl 1 "$COAPS_PORT" -m post -t 50 -O 279,Ccoap1 -O 283,cnt -O 267,0x03 -e '{"m2m:cnt":{"rn":"b"}}' \
  "coaps://127.0.0.1:$COAPS_PORT/~/in-cse/Ccoap1" >/dev/null
con=$(head -c 3000 /dev/zero | tr '\0' 'z')
out=$(client coap-client-openssl 1 "$COAPS_PORT" -b 64 -m post -t 50 -O 279,Ccoap1 -O 283,cin -O 267,0x04 \
      -e "{\"m2m:cin\":{\"con\":\"$con\"}}" "coaps://127.0.0.1:$COAPS_PORT/~/in-cse/Ccoap1/b")
blocks=$(grep -c 'c:2.31' <<<"$out" || true)
[ "$blocks" -ge 40 ] && grep -q 'c:2.01' <<<"$out" && grep -q '307:\\x07\\xD1' <<<"$out" &&
  pass "coap-client -b 64: $blocks blocks acknowledged 2.31, then 2.01 (RSC 2001)" || fail "block1: $(head -c 600 <<<"$out")"

# 6b. CBOR (Content-Format 60): coap-client sends a container in CBOR and asks for the answer in CBOR
printf '\xa1\x67m2m:cnt\xa1\x62rn\x62cb' >"$WORK/cnt.cbor"
out=$(client coap-client-openssl 1 "$COAPS_PORT" -m post -t 60 -A 60 -O 279,Ccoap1 -O 283,cbor -O 267,0x03 \
      -f "$WORK/cnt.cbor" "coaps://127.0.0.1:$COAPS_PORT/~/in-cse/Ccoap1")
grep -q 'c:2.01' <<<"$out" && grep -q '307:\\x07\\xD1' <<<"$out" && grep -q 'Content-Format:application/cbor' <<<"$out" &&
  pass "coap-client: a CBOR body registered a container, answered in CBOR" || fail "cbor: $(head -c 600 <<<"$out")"

# 7. a lossy path: every 4th datagram each way lost, every 5th held back behind the next (DTLS and CoAP
# retransmissions take seconds)
relay() { : >"$WORK/relay.out"; RELAY= # emptied first: the job's own redirection happens after the fork
  "$M2M_UDP_RELAY" --to "$COAPS_PORT" "$@" >>"$WORK/relay.out" 2>>"$WORK/relay.log" & RELAY_PID=$!
  for _ in $(seq 1 50); do RELAY=$(sed -n 's/^relay port //p' "$WORK/relay.out"); [ -n "$RELAY" ] && return; sleep 0.05; done; }
relay --drop-every 4 --reorder-every 5
out=$(WAIT=30 client coap-client-openssl 4 "$RELAY" -m post -t 50 -O 279,Ccoap4 -O 283,lossy -O 271,3 -O 267,0x02 -e "$AE" \
      "coaps://127.0.0.1:$RELAY/~/in-cse")
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
grep -q 'c:2.01' <<<"$out" && grep -q '307:\\x07\\xD1' <<<"$out" &&
  pass "through a relay losing and reordering datagrams: registered ($(tail -1 "$WORK/relay.log"))" ||
  fail "lossy path: $out; $(tail -1 "$WORK/relay.log")"

# 8. every client datagram twice (a replay of each): DTLS drops the copies, one registration, no 4117
relay --dup
out=$(client coap-client-gnutls 5 "$RELAY" -m post -t 50 -O 279,Ccoap5 -O 283,dup -O 271,3 -O 267,0x02 -e "$AE" \
      "coaps://127.0.0.1:$RELAY/~/in-cse")
kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
if grep -q 'c:2.01' <<<"$out" && ! grep -q 'registree=Ccoap5 .*rsc=4117' "$LOG" &&
   [ "$(grep -c 'attach mechanism=psk registree=Ccoap5 ' "$LOG")" = 1 ]; then
  pass "every datagram replayed: one handshake, one registration ($(tail -1 "$WORK/relay.log"))"
else fail "replays: $out"; fi

[ "$(metric 'm2m_handshakes_total{mechanism="psk",kind="full",binding="coap"}')" -ge 8 ] &&
  [ "$(metric 'm2m_dtls_hello_verify_total')" -ge 8 ] && pass "/metrics: DTLS handshakes and cookies counted" ||
  fail "metrics: $(curl -s "http://127.0.0.1:$ADMIN/metrics" | grep coap)"
# libcoap's walk over every session runs paced, not at every datagram (registrar/coap_sweep.c): the override is the
# one libcoap calls, and walks ran (at least the ones that freed the closed sessions)
[ "$(metric 'm2m_coap_sweep_paced')" = 1 ] && [ "$(metric 'm2m_coap_sweeps_total{kind="ran"}')" -ge 1 ] &&
  pass "/metrics: libcoap's session walk is paced" ||
  fail "sweep: $(curl -s "http://127.0.0.1:$ADMIN/metrics" | grep sweep)"
finish
