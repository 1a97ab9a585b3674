# SPDX-License-Identifier: Apache-2.0
# PKI attachment end to end with our own tools only: the lab PKI, the Registrar with its CSE-ID certificate and
# OCSP stapling, and the Registree CLI (x.y.6 client certificate, x.y.7 identity token), with each check the
# Registree makes refusing what it must (wrong CSE-ID, untrusted root, OCSP revoked / missing).
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
M=$M2M_BIN

$M pki root --out lab --domain m2m.localhost >/dev/null
$M pki registrar --root lab --cse-id /in-cse --domain in-cse.m2m.localhost --out lab >/dev/null
$M pki registrar --root lab --cse-id /other-cse --domain other.m2m.localhost --out other >/dev/null
$M pki root --out rogue --domain m2m.localhost >/dev/null
$M pki registrar --root rogue --cse-id /in-cse --domain in-cse.m2m.localhost --out rogue >/dev/null
$M pki device --out cam --id Ccam >/dev/null
hash=$($M pki pubkey-hash cam/device.crt | grep -o '[0-9a-f]\{64\}')
$M registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert lab/registrar.crt --key lab/registrar.key >/dev/null
$M enrol cert --db "$DB" --registree-id Ccam --pubkey-hash "$hash" >/dev/null
token=$($M enrol token --db "$DB" --registree-id Cmeter | awk '/^token /{print $2}')

# OCSP responses for the Registrar certificate, made by the real `openssl ocsp`
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ocsp.key -out ocsp.csr -subj "/CN=OCSP" 2>/dev/null
printf 'keyUsage=digitalSignature\nextendedKeyUsage=OCSPSigning\n' >ocsp.ext
openssl x509 -req -in ocsp.csr -CA lab/root.crt -CAkey lab/root.key -CAcreateserial -days 1 -extfile ocsp.ext \
  -out ocsp.crt 2>/dev/null
serial=$(openssl x509 -in lab/registrar.crt -noout -serial | cut -d= -f2)
subject=$(openssl x509 -in lab/registrar.crt -noout -subject -nameopt compat | sed 's/^subject=//')
exp=$(date -u -d '+1 day' +%y%m%d%H%M%SZ)
openssl ocsp -issuer lab/root.crt -cert lab/registrar.crt -reqout req.der -no_nonce 2>/dev/null
printf 'V\t%s\t\t%s\tunknown\t%s\n' "$exp" "$serial" "$subject" >good.idx
printf 'R\t%s\t%s\t%s\tunknown\t%s\n' "$exp" "$(date -u -d '-1 hour' +%y%m%d%H%M%SZ)" "$serial" "$subject" >revoked.idx
for s in good revoked; do
  openssl ocsp -index $s.idx -CA lab/root.crt -rsigner ocsp.crt -rkey ocsp.key -reqin req.der -respout $s.der \
    -ndays 1 2>/dev/null
done
cp good.der staple.der

start_registrar --ocsp-response "$WORK/staple.der" --ocsp-issuer "$WORK/lab/root.crt"

details() { # name mechanism root-dir [ocsp]
  cat >"$1.ini" <<INI
[registrar]
poa = https://127.0.0.1:$PORT
cse-id = /in-cse
root-cert = $3/root.crt
$( [ -n "${4:-}" ] && echo "ocsp-responder-cert = ocsp.crt" )
[registree]
id = $( [ "$2" = cert ] && echo Ccam || echo Cmeter )
app-id = Rpki
[credentials]
mechanism = $2
$( [ "$2" = cert ] && printf 'cert-file = cam/device.crt\nkey-file = cam/device.key\n' || echo "token-file = meter.token" )
INI
}
printf '%s\n' "$token" >meter.token; chmod 600 meter.token

details cam cert lab ocsp
out=$($M attach --details cam.ini 2>&1) && grep -q 'registered as Ccam' <<<"$out" && grep -qi 'ocsp good' <<<"$out" &&
  pass "cert + OCSP good: $out" || fail "cert attach: $out"
out=$($M attach --details cam.ini 2>&1) && grep -q 're-attachment' <<<"$out" && pass "cert re-attachment: $out" ||
  fail "cert re-attach: $out"
out=$($M request --details cam.ini -X GET /~/in-cse/Ccam 2>&1) && grep -q 'RSC 2000' <<<"$out" &&
  pass "request over the cert context" || fail "request: $out"

# the Registree's checks of the Registrar (x.y.6 Step 4)
cp staple.der keep.der; cp revoked.der staple.der.new; mv staple.der.new staple.der
# the Registrar looks at the file once a second: wait until it staples the new status
for _ in $(seq 1 50); do
  openssl s_client -connect "127.0.0.1:$PORT" -status -CAfile lab/root.crt </dev/null 2>/dev/null |
    grep -q 'Cert Status: revoked' && break
  sleep 0.1
done
if out=$($M attach --details cam.ini 2>&1); then fail "revoked OCSP status accepted: $out"
else grep -qi revoked <<<"$out" && pass "OCSP revoked refused: $out" || fail "revoked said: $out"; fi
stop_registrar
start_registrar
details cam cert lab ocsp
if out=$($M attach --details cam.ini 2>&1); then fail "missing OCSP staple accepted: $out"
else grep -qi 'ocsp' <<<"$out" && pass "OCSP absent refused: $out" || fail "absent said: $out"; fi
details cam cert lab
out=$($M attach --details cam.ini 2>&1) && pass "no responder configured: no OCSP needed" || fail "$out"
details cam cert rogue
if out=$($M attach --details cam.ini 2>&1); then fail "untrusted root accepted"
else grep -q 'does not verify to root-cert' <<<"$out" && pass "untrusted root refused: $out" || fail "untrusted said: $out"; fi
stop_registrar
start_registrar --cert "$WORK/other/registrar.crt" --key "$WORK/other/registrar.key"
details cam cert lab
if out=$($M attach --details cam.ini 2>&1); then fail "wrong CSE-ID accepted"
else grep -q 'does not carry CSE-ID /in-cse' <<<"$out" && pass "wrong CSE-ID refused: $out" || fail "CSE-ID said: $out"; fi
stop_registrar
start_registrar

# x.y.7: the token binds once; the same token from a second device (fresh state) is refused by the Registrar
details meter token lab
out=$($M attach --details meter.ini 2>&1) && grep -q 'registered as Cmeter' <<<"$out" && pass "token: $out" ||
  fail "token attach: $out"
cp meter.ini copy.ini
if out=$($M attach --details copy.ini 2>&1); then fail "reused token accepted: $out"
else grep -q 4106 <<<"$out" && pass "reused token refused: $out" || fail "reused said: $out"; fi
! grep -q "$token" "$LOG" && pass "the token never appears in the Registrar log" || fail "token in the log"
finish
