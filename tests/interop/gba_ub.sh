# SPDX-License-Identifier: Apache-2.0
# Ub against our BSF from an independent UE (tests/tools/gba_ue.py: Milenage, the USIM's checks and the AKAv1-MD5
# response written in Python from the specifications): bootstrapping, resynchronisation with AUTS, a replayed nonce,
# wrong RES (401, then the IMPI locked), an unknown IMPI answered exactly like a known one, hostile Digest headers;
# and Zn: refused without a client certificate (curl), and the key it gives equal to the UE's own derivation.
source "$M2M_SOURCE/tests/lib.sh"
python3 -c 'import cryptography' 2>/dev/null || { echo "python3-cryptography is missing"; exit 77; }
start_bsf --max-failures 5

gba_ue ub-checks || fail "Ub checks (see above)"

# No user enumeration by timing: what would make a known IMPI's challenge slower than an unknown one's is a store
# write (an fsync) for known IMPIs only. Checked exactly, not timed: 20 challenges for a known IMPI, none answered,
# leave the BSF's store files as they were.
store_sum() { cat "$BSF_DB" "$BSF_DB-wal" 2>/dev/null | sha256sum; }
before=$(store_sum)
out=$(gba_ue challenges --count 20)
[ "$out" = "$(printf '401 %.0s' $(seq 1 20) | sed 's/ $//')" ] || fail "challenges: $out"
[ "$(store_sum)" = "$before" ] && pass "20 challenges for a known IMPI wrote nothing to the BSF's store" ||
  fail "a challenge wrote to the BSF's store (a known IMPI would be slower to answer than an unknown one)"

# Zn: mutual TLS. Without a client certificate the handshake fails; with one that does not name the NAF_Id's FQDN
# the BSF answers 403; with the NAF's certificate it answers the key the UE derives on its own.
gba_ue bootstrap --out "$WORK/boot.json" >/dev/null || fail "bootstrap"
btid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["btid"])' "$WORK/boot.json")
naf_id=$(python3 -c 'import base64,sys; print(base64.b64encode(sys.argv[1].encode()+bytes.fromhex("0100000007")).decode())' "$NAF_FQDN")
zn() { curl -s -o "$WORK/zn.out" -w '%{http_code}' --cacert "$WORK/gba-root.crt" "$@" \
         -H 'Content-Type: application/json' -d "{\"btid\":\"$btid\",\"nafId\":\"$naf_id\"}" \
         "https://127.0.0.1:$ZN_PORT/nbsp-gba/v1/bootstrapping-info"; }
code=$(zn || true)
[ "$code" = 000 ] && pass "Zn without a client certificate: no TLS session" || fail "Zn without client cert: $code"
(cd "$WORK" && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout rogue.key -out rogue.crt \
  -days 1 -subj "/CN=rogue" -addext "subjectAltName=DNS:$NAF_FQDN" 2>/dev/null)
code=$(zn --cert "$WORK/rogue.crt" --key "$WORK/rogue.key" || true)
[ "$code" = 000 ] && pass "Zn with a certificate of another root: no TLS session" || fail "Zn rogue cert: $code"
code=$(zn --cert "$WORK/bsf.crt" --key "$WORK/bsf.key")
[ "$code" = 403 ] && grep -q NAF_NOT_AUTHORIZED "$WORK/zn.out" && pass "Zn for a NAF_Id the certificate does not name: 403" ||
  fail "Zn wrong NAF: $code $(cat "$WORK/zn.out")"
code=$(zn --cert "$WORK/naf.crt" --key "$WORK/naf.key")
want=$(gba_ue ksnaf --in "$WORK/boot.json" --fqdn "$NAF_FQDN" --ua 0100000007)
got=$(python3 -c 'import json,sys,base64; print(base64.b64decode(json.load(open(sys.argv[1]))["ksNaf"]).hex())' "$WORK/zn.out")
[ "$code" = 200 ] && [ "$got" = "$want" ] && pass "Zn Ks_NAF equals the UE's derivation" ||
  fail "Zn key: $code $got vs $want"
grep -q "\"impi\":\"$GBA_IMPI\"" "$WORK/zn.out" && pass "Zn names the IMPI" || fail "Zn impi: $(cat "$WORK/zn.out")"
btid=AAAAAAAAAAAAAAAAAAAAAA==@bsf.m2m.localhost
code=$(zn --cert "$WORK/naf.crt" --key "$WORK/naf.key")
[ "$code" = 404 ] && grep -q BTID_NOT_FOUND "$WORK/zn.out" && pass "Zn unknown B-TID: 404 problem" || fail "Zn unknown: $code"

# no key material in the BSF's log
grep -qi "$GBA_K\|$GBA_OPC\|$want" "$BSF_LOG" && fail "key material in the BSF log" || pass "no keys in the BSF log"
finish
