# SPDX-License-Identifier: Apache-2.0
# The Registrar as GBA NAF (x.y.5) against openssl s_client, an independent TLS-PSK client: the UE bootstraps with
# our BSF from the independent Python UE, the test derives Ks_NAF itself (TS 33.220 Annex B) and s_client registers
# with psk_identity "3GPP-bootstrapping.<B-TID>" (and the bare B-TID). Two TLS 1.2 suites give two different keys,
# both working; a wrong key, an unknown B-TID and an expired one are refused; an IMPI enrolled for another
# Registree cannot register as this one.
source "$M2M_SOURCE/tests/lib.sh"
python3 -c 'import cryptography' 2>/dev/null || { echo "python3-cryptography is missing"; exit 77; }
start_bsf
# shellcheck disable=SC2046
start_registrar --admin 0 $(gba_serve_args)
ADMIN=$(sed -n 's/^listening admin port \([0-9]*\)$/\1/p' "$WORK/serve.out")
"$M2M_BIN" enrol gba --db "$DB" --registree-id Cgba --impi "$GBA_IMPI" >/dev/null
"$M2M_BIN" enrol gba --db "$DB" --registree-id Cother --impi "$GBA_IMPI2" >/dev/null
"$M2M_BIN" enrol list --db "$DB" | grep -q "Cgba .*gba .*IMPI $GBA_IMPI" && pass "enrol list shows the IMPI" ||
  fail "enrol list: $("$M2M_BIN" enrol list --db "$DB")"

gba_ue bootstrap --out "$WORK/boot.json" >"$WORK/boot.out" || fail "bootstrap: $(cat "$WORK/boot.out")"
btid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["btid"])' "$WORK/boot.json")
ksnaf() { gba_ue ksnaf --in "${2:-$WORK/boot.json}" --fqdn "$NAF_FQDN" --ua "$1"; }

# attach ID LABEL VERSION IDENTITY KEY [s_client options...]: registers ID; true when 2001 came back
attach() {
  local id=$1 label=$2 version=$3 identity=$4 key=$5 out; shift 5
  out=$( (ae_create_request "$id" Rgba; sleep 1) |
         timeout 15 openssl s_client -connect "127.0.0.1:$PORT" -servername "$NAF_FQDN" -psk_identity "$identity" \
           -psk "$key" "$version" "$@" -quiet -ign_eof 2>"$WORK/ossl.err" || true)
  echo "$out" >"$WORK/last.out"
  grep -q '^X-M2M-RSC: 2001' <<<"$out" || grep -q '^X-M2M-RSC: 4117' <<<"$out"
}
rsc() { sed -n 's/^X-M2M-RSC: \([0-9]*\).*/\1/p' "$WORK/last.out" | tr -d '\r'; }

k_cbc=$(ksnaf 01000100ae); k_gcm=$(ksnaf 01000100a8); k_13=$(ksnaf 0100000007)
[ "$k_cbc" != "$k_gcm" ] && [ "$k_cbc" != "$k_13" ] && pass "three suites, three NAF keys" || fail "keys not distinct"
attach Cgba "TLS 1.2 CBC" -tls1_2 "3GPP-bootstrapping.$btid" "$k_cbc" -cipher PSK-AES128-CBC-SHA256 &&
  pass "s_client TLS 1.2 PSK-AES128-CBC-SHA256 with 3GPP-bootstrapping.B-TID registered Cgba" ||
  fail "TLS 1.2 CBC: $(cat "$WORK/last.out" "$WORK/ossl.err")"
attach Cgba "TLS 1.2 GCM" -tls1_2 "3GPP-bootstrapping.$btid" "$k_gcm" -cipher PSK-AES128-GCM-SHA256 &&
  pass "s_client TLS 1.2 PSK-AES128-GCM-SHA256 with its own NAF key (RSC $(rsc))" ||
  fail "TLS 1.2 GCM: $(cat "$WORK/last.out" "$WORK/ossl.err")"
attach Cgba "TLS 1.3" -tls1_3 "3GPP-bootstrapping.$btid" "$k_13" -ciphersuites TLS_AES_128_GCM_SHA256 &&
  pass "s_client TLS 1.3 (Ua 01 00 00 00 07) (RSC $(rsc))" || fail "TLS 1.3: $(cat "$WORK/last.out" "$WORK/ossl.err")"
attach Cgba "bare B-TID" -tls1_2 "$btid" "$k_cbc" -cipher PSK-AES128-CBC-SHA256 &&
  pass "bare B-TID accepted (RSC $(rsc))" || fail "bare B-TID: $(cat "$WORK/last.out" "$WORK/ossl.err")"
# the hint: s_client prints what the server's ServerKeyExchange carried
out=$(printf 'x' | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -psk_identity "$btid" -psk "$k_cbc" -tls1_2 \
        -cipher PSK-AES128-CBC-SHA256 2>&1 || true)
grep -q 'identity hint: 3GPP-bootstrapping' <<<"$out" && pass "the NAF's hint is 3GPP-bootstrapping" ||
  fail "hint: $(grep -i hint <<<"$out")"

# refusals: the GCM key on the CBC suite, a random key, a B-TID no BSF issued
attach Cgba "wrong suite key" -tls1_2 "3GPP-bootstrapping.$btid" "$k_gcm" -cipher PSK-AES128-CBC-SHA256 &&
  fail "another suite's key accepted" || pass "another suite's Ks_NAF refused"
attach Cgba "random key" -tls1_3 "3GPP-bootstrapping.$btid" "$(openssl rand -hex 32)" -ciphersuites TLS_AES_128_GCM_SHA256 &&
  fail "random key accepted" || pass "a random key refused (TLS 1.3)"
attach Cgba "unknown" -tls1_2 "3GPP-bootstrapping.AAAAAAAAAAAAAAAAAAAAAA==@bsf.m2m.localhost" "$k_cbc" \
  -cipher PSK-AES128-CBC-SHA256 && fail "unknown B-TID accepted" || {
  grep -qi 'unknown psk identity' "$WORK/ossl.err" && pass "unknown B-TID: unknown_psk_identity" ||
    fail "unknown B-TID said: $(cat "$WORK/ossl.err")"; }

# an IMPI enrolled for Cother proves Cother, never Cgba: its CREATE as Cgba gets 4106, as itself 2001
python3 "$M2M_SOURCE/tests/tools/gba_ue.py" --bsf "http://127.0.0.1:$UB_PORT" --impi "$GBA_IMPI2" \
  --k-file "$WORK/usim.k" --opc-file "$WORK/usim.opc" bootstrap --out "$WORK/boot2.json" >/dev/null || fail "bootstrap 2"
btid2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["btid"])' "$WORK/boot2.json")
k2=$(ksnaf 01000100ae "$WORK/boot2.json")
attach Cgba "other IMPI as Cgba" -tls1_2 "3GPP-bootstrapping.$btid2" "$k2" -cipher PSK-AES128-CBC-SHA256 &&
  fail "IMPI of Cother registered as Cgba" || { [ "$(rsc)" = 4106 ] && pass "IMPI enrolled for Cother cannot register as Cgba (4106)" ||
  fail "other IMPI: RSC $(rsc) $(cat "$WORK/ossl.err")"; }
attach Cother "other IMPI as itself" -tls1_2 "3GPP-bootstrapping.$btid2" "$k2" -cipher PSK-AES128-CBC-SHA256 &&
  pass "and registers as Cother" || fail "Cother: $(cat "$WORK/last.out")"

# the log: one line per attachment with mechanism=gba, no keys
grep -q 'attach mechanism=gba registree=Cgba ' "$LOG" && pass "log: attach mechanism=gba" || fail "no gba log line"
for k in "$k_cbc" "$k_gcm" "$k_13" "$k2"; do grep -q "$k" "$LOG" "$BSF_LOG" && fail "a Ks_NAF in a log"; done
metrics=$(curl -s "http://127.0.0.1:$ADMIN/metrics")
grep -q 'm2m_handshakes_total{mechanism="gba",kind="full"} [1-9]' <<<"$metrics" && pass "metrics count gba handshakes" ||
  fail "metrics: $(grep gba <<<"$metrics")"
# the Zn requests ran on the workers' loops (the gate), none blocked a worker
grep -q 'm2m_gba_zn_requests_total{wait="none"} [1-9]' <<<"$metrics" &&
  grep -q 'm2m_gba_zn_requests_total{wait="blocking"} 0$' <<<"$metrics" && pass "Zn asked without blocking the worker" ||
  fail "Zn metrics: $(grep zn <<<"$metrics")"
grep -q 'm2m_gba_key_cache_hits_total [1-9]' <<<"$metrics" && pass "Ks_NAF cache hits" || fail "no cache hits"

# hostile ClientHellos at the gate (malformed PSK lengths, trickled, abandoned, more Zn requests than a worker
# runs), then a real device still attaches
python3 "$M2M_SOURCE/tests/tools/gba_hostile_hello.py" "$PORT" || fail "hostile ClientHellos (see above)"
kill -0 "$REG_PID" && pass "the Registrar is alive" || fail "the Registrar died"
attach Cgba "after the hostile hellos" -tls1_3 "3GPP-bootstrapping.$btid" "$k_13" -ciphersuites TLS_AES_128_GCM_SHA256 &&
  pass "and still attaches a real GBA device" || fail "after hostile hellos: $(cat "$WORK/ossl.err")"

# expiry: the bootstrapping's lifetime (1 h) passes on the test clock of the BSF and the Registrar (no waiting):
# the key that worked a second before is refused, and so is the ticket the Registrar issued with it
gba_ue bootstrap --out "$WORK/boot3.json" >/dev/null || fail "bootstrap 3"
btid3=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["btid"])' "$WORK/boot3.json")
k3=$(ksnaf 01000100ae "$WORK/boot3.json")
attach Cgba "fresh" -tls1_2 "3GPP-bootstrapping.$btid3" "$k3" -cipher PSK-AES128-CBC-SHA256 -sess_out "$WORK/t3.sess" &&
  pass "a new bootstrapping attaches" || fail "new B-TID refused: $(cat "$WORK/ossl.err")"
clock_advance 3590
attach Cgba "almost expired" -tls1_2 "3GPP-bootstrapping.$btid3" "$k3" -cipher PSK-AES128-CBC-SHA256 &&
  pass "still valid just before its lifetime ends" || fail "refused before expiry: $(cat "$WORK/ossl.err")"
clock_advance 11
attach Cgba "expired" -tls1_2 "3GPP-bootstrapping.$btid3" "$k3" -cipher PSK-AES128-CBC-SHA256 &&
  fail "expired B-TID accepted" || { grep -qi 'unknown psk identity' "$WORK/ossl.err" &&
  pass "expired B-TID refused (unknown_psk_identity)" || fail "expired B-TID said: $(cat "$WORK/ossl.err")"; }
out=$( (ae_create_request Cgba Rgba; sleep 1) | timeout 15 openssl s_client -connect "127.0.0.1:$PORT" \
         -psk_identity "3GPP-bootstrapping.$btid3" -psk "$k3" -tls1_2 -cipher PSK-AES128-CBC-SHA256 \
         -sess_in "$WORK/t3.sess" -quiet -ign_eof 2>&1 || true)
grep -q 'HTTP/1.1' <<<"$out" && fail "a ticket outlived its bootstrapping: $out" ||
  pass "the ticket of the expired bootstrapping does not resume either"
grep -q "resume registree=Cgba mechanism=gba .*result=refused reason=the key's lifetime" "$LOG" &&
  pass "log: resumption refused after the bootstrapping's lifetime" || fail "no lifetime refusal in the log"
finish
