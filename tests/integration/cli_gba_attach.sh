# SPDX-License-Identifier: Apache-2.0
# Our own Registree as GBA UE end to end (x.y.5): `attach` with mechanism = gba bootstraps with the BSF over Ub,
# derives Ks_NAF for the Registrar's FQDN and the suite it negotiates, registers; re-attaches with the saved B-TID
# (no Ub), resumes; the USIM's SQN is in the state file; a B-TID the BSF forgot is bootstrapped again; an IMPI
# enrolled for another Registree is refused with 4106; no key ever printed.
source "$M2M_SOURCE/tests/lib.sh"
start_bsf
# shellcheck disable=SC2046
start_registrar $(gba_serve_args) --coaps 127.0.0.1:0
"$M2M_BIN" enrol gba --db "$DB" --registree-id Cue --impi "$GBA_IMPI" >/dev/null
"$M2M_BIN" enrol gba --db "$DB" --registree-id Cneighbour --impi "$GBA_IMPI2" >/dev/null

details() { # details FILE ID IMPI
  cat >"$1" <<INI
[registrar]
poa = https://127.0.0.1:$PORT
cse-id = /in-cse
[registree]
id = $2
app-id = Rgba
[credentials]
mechanism = gba
[gba]
bsf = http://127.0.0.1:$UB_PORT
impi = $3
k-file = usim.k
opc-file = usim.opc
naf-fqdn = $NAF_FQDN
INI
}
details "$WORK/ue.ini" Cue "$GBA_IMPI"

out=$("$M2M_BIN" attach --details "$WORK/ue.ini" 2>&1) || fail "first attach: $out"
grep -q '^bootstrapped with the BSF (Ub): B-TID .*@bsf.m2m.localhost, valid until' <<<"$out" &&
  grep -q 'registered as Cue' <<<"$out" && pass "bootstrap + initial attachment: $(tr '\n' ' ' <<<"$out")" ||
  fail "first attach said: $out"
btid=$(sed -n 's/^gba-btid = //p' "$WORK/ue.ini.state")
[ -n "$btid" ] && grep -q "^gba-sqn = [1-9]" "$WORK/ue.ini.state" && pass "state holds the B-TID and the USIM's SQN" ||
  fail "state: $(grep gba- "$WORK/ue.ini.state" | grep -v ks)"
[ "$(stat -c %a "$WORK/ue.ini.state")" = 600 ] && pass "state file 0600 (it holds Ks)" || fail "state mode"
grep -q 'attach mechanism=gba registree=Cue ' "$LOG" && pass "Registrar: attach mechanism=gba" || fail "no gba line"

bootstraps() { grep -c 'result=ok btid=' "$BSF_LOG" || true; }
n=$(bootstraps)
out=$("$M2M_BIN" attach --details "$WORK/ue.ini" 2>&1) || fail "re-attach: $out"
grep -q 'GBA: saved bootstrapping, B-TID' <<<"$out" && grep -q 're-attachment' <<<"$out" && [ "$(bootstraps)" = "$n" ] &&
  pass "re-attachment with the saved B-TID, no Ub: $(tail -1 <<<"$out")" || fail "re-attach said: $out"
out=$("$M2M_BIN" attach --details "$WORK/ue.ini" 2>&1) || fail "resume: $out"
grep -q 'session resumed' <<<"$out" && pass "resumed: $(tail -1 <<<"$out")" || fail "no resumption: $out"
out=$("$M2M_BIN" request --details "$WORK/ue.ini" -X POST /~/in-cse/Cue --ty 3 --data '{"m2m:cnt":{"rn":"t"}}' 2>&1) &&
  grep -q 'RSC 2001' <<<"$out" && pass "a request over the GBA context" || fail "request: $out"

# TLS 1.2 with each PSK suite: Ks_NAF derived for the negotiated one
for cipher in PSK-AES128-CBC-SHA256 PSK-AES128-GCM-SHA256 ECDHE-PSK-AES128-CBC-SHA256; do
  details "$WORK/ue12.ini" Cue "$GBA_IMPI"
  printf '[tls]\nversion = 1.2\nciphers = %s\nresumption = no\n[state]\nfile = ue.ini.state\n' "$cipher" >>"$WORK/ue12.ini"
  out=$("$M2M_BIN" attach --details "$WORK/ue12.ini" 2>&1) && grep -q "$cipher" <<<"$out" &&
    pass "TLS 1.2 $cipher" || fail "TLS 1.2 $cipher: $out"
done

# x.y.5 over CoAP/DTLS: the same UE and B-TID (the state file is shared), DTLS-PSK with Ks_NAF for the DTLS suite.
# The CoAPS worker has no Ks_NAF cached: the ClientKeyExchange is dropped while Zn runs on its loop, and the UE's
# DTLS timer sends it again (0.2 s here); then the key is in the cache.
coap_details() { # FILE FROM-INI
  sed "s|^poa = .*|poa = coaps://127.0.0.1:$COAPS_PORT|" "$2" >"$1"
  printf '[coap]\nhandshake-timer = 0.2\n[state]\nfile = %s.state\n' "$2" >>"$1"
}
coap_details "$WORK/ue-coap.ini" "$WORK/ue.ini"
out=$("$M2M_BIN" attach --details "$WORK/ue-coap.ini" --no-resume 2>&1) && grep -q 'DTLS' <<<"$out" &&
  grep -q 'attach mechanism=gba registree=Cue .*binding=coap' "$LOG" &&
  pass "GBA over CoAP/DTLS, Zn on the CoAPS worker's loop: $(tail -1 <<<"$out")" || fail "gba over coaps: $out"
out=$("$M2M_BIN" request --details "$WORK/ue-coap.ini" -X GET /~/in-cse/Cue 2>&1) && grep -q 'RSC 2000' <<<"$out" &&
  pass "a request over the GBA DTLS context" || fail "coaps request: $out"
# the neighbour's IMPI cannot register as Cue over DTLS either
details "$WORK/n.ini" Cue "$GBA_IMPI2"
coap_details "$WORK/n-coap.ini" "$WORK/n.ini"
if out=$("$M2M_BIN" attach --details "$WORK/n-coap.ini" 2>&1); then fail "IMPI of Cneighbour registered as Cue over DTLS"
else grep -q 4106 <<<"$out" && pass "over DTLS too, Cneighbour's IMPI refused as Cue: 4106" || fail "n-coap: $out"; fi

# the BSF forgets the bootstrapping (a restart with another store would): the Registrar refuses the B-TID, the UE
# bootstraps again, once, and gets in; the Registrar's cache is per worker, so a new Registrar is started
stop_registrar
sqlite3 "$BSF_DB" "DELETE FROM gba_bootstrap"
# shellcheck disable=SC2046
start_registrar $(gba_serve_args)
sed -i 's|poa = https://127.0.0.1:[0-9]*|poa = https://127.0.0.1:'"$PORT"'|' "$WORK/ue.ini"
out=$("$M2M_BIN" attach --details "$WORK/ue.ini" --no-resume 2>&1) || fail "re-bootstrap: $out"
grep -q '^bootstrapped with the BSF' <<<"$out" && [ "$(sed -n 's/^gba-btid = //p' "$WORK/ue.ini.state")" != "$btid" ] &&
  pass "a refused B-TID is bootstrapped again: $(head -1 <<<"$out")" || fail "re-bootstrap said: $out"
# ... and over DTLS: Zn says the B-TID is unknown, the retransmitted flight is refused, the UE bootstraps again
stop_registrar
sqlite3 "$BSF_DB" "DELETE FROM gba_bootstrap"
btid=$(sed -n 's/^gba-btid = //p' "$WORK/ue.ini.state")
# shellcheck disable=SC2046
start_registrar $(gba_serve_args) --coaps 127.0.0.1:0
coap_details "$WORK/ue-coap.ini" "$WORK/ue.ini"
out=$("$M2M_BIN" attach --details "$WORK/ue-coap.ini" --no-resume 2>&1) || fail "re-bootstrap over DTLS: $out"
grep -q '^bootstrapped with the BSF' <<<"$out" && [ "$(sed -n 's/^gba-btid = //p' "$WORK/ue.ini.state")" != "$btid" ] &&
  grep -q 'binding=coap' <<<"$(grep 'reason=unknown or expired B-TID' "$LOG")" &&
  pass "over DTLS, an unknown B-TID is refused and bootstrapped again" || fail "re-bootstrap over DTLS said: $out"
sed -i 's|poa = https://127.0.0.1:[0-9]*|poa = https://127.0.0.1:'"$PORT"'|' "$WORK/ue.ini"

# the neighbour's USIM (same keys, another IMPI) cannot register as Cue
details "$WORK/n.ini" Cue "$GBA_IMPI2"
if out=$("$M2M_BIN" attach --details "$WORK/n.ini" 2>&1); then fail "IMPI of Cneighbour registered as Cue: $out"
else grep -q 4106 <<<"$out" && pass "IMPI enrolled for Cneighbour refused as Cue: 4106" || fail "neighbour said: $out"; fi

# a wrong K: the BSF cannot be authenticated (AUTN), nothing attached
details "$WORK/bad.ini" Cue "$GBA_IMPI"
printf '%s\n' "$(openssl rand -hex 16)" >"$WORK/wrong.k"; chmod 600 "$WORK/wrong.k"
sed -i 's|k-file = usim.k|k-file = wrong.k|' "$WORK/bad.ini"
if out=$("$M2M_BIN" attach --details "$WORK/bad.ini" 2>&1); then fail "wrong K attached: $out"
else grep -q "AUTN does not verify" <<<"$out" && pass "wrong K: $out" || fail "wrong K said: $out"; fi
# a details file missing the USIM's OPc names the file and the key
sed '/^opc-file/d' "$WORK/ue.ini" >"$WORK/noopc.ini"
if out=$("$M2M_BIN" attach --details "$WORK/noopc.ini" 2>&1); then fail "no opc accepted"
else grep -q 'noopc.ini: \[gba\] opc' <<<"$out" && pass "missing OPc: $out" || fail "missing opc said: $out"; fi

# x.y.8 over a GBA context: a generated key, then TLS-PSK with it (the generated key goes first from now on)
out=$("$M2M_BIN" attach --details "$WORK/ue.ini" --rekey 2>&1) && grep -q '^key generated: Kca_ID' <<<"$out" &&
  pass "key generation over a GBA context: $(tail -1 <<<"$out")" || fail "rekey over gba: $out"
out=$("$M2M_BIN" attach --details "$WORK/ue.ini" --no-resume 2>&1) && grep -q 'with generated key' <<<"$out" &&
  pass "re-attachment with the generated key: $(tail -1 <<<"$out")" || fail "after rekey: $out"

# no secrets anywhere they could be seen
for s in "$GBA_K" "$GBA_OPC"; do
  grep -rq "$s" "$LOG" "$BSF_LOG" && fail "USIM key in a log"
done
ks=$(sed -n 's/^gba-ks = //p' "$WORK/ue.ini.state")
grep -q "$ks" "$LOG" "$BSF_LOG" && fail "Ks in a log" || pass "no K, OPc or Ks in the logs"
finish
