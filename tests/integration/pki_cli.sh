# SPDX-License-Identifier: Apache-2.0
# The lab PKI end to end, checked with the real openssl CLI: root -> Registrar certificate -> device certificates
# (self-signed and root-signed); the profile of each certificate, name constraints enforced (by the CLI and by
# OpenSSL), private files, the public-key hash against openssl's own computation, and no silent overwrites.
source "$M2M_SOURCE/tests/lib.sh"

L=$WORK/lab
# check DESCRIPTION COMMAND...: one check, passing when COMMAND succeeds.
check() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }
# refused DESCRIPTION COMMAND...: passing when COMMAND fails.
refused() { local what=$1; shift; if "$@" >/dev/null 2>&1; then fail "$what"; else pass "$what"; fi; }
mode_is() { [ "$(stat -c %a "$1")" = "$2" ] || { echo "  $1 has mode $(stat -c %a "$1")" >&2; return 1; }; }
has() { grep -q -- "$1" <<<"$2" || { echo "  '$1' not in: $2" >&2; return 1; }; }
sha_spki() { openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1; }
# run OUTFILE COMMAND...: the command's stdout+stderr in OUTFILE; shown when it fails.
run() { local out=$1; shift; "$@" >"$out" 2>&1 || { cat "$out" >&2; return 1; }; }
# The number of URIs in a certificate's subjectAltName, from the DER (the text form cannot tell "URI:a,URI:b"
# apart from one URI "a,URI:b").
san_uris() {
  local off
  off=$(openssl asn1parse -in "$1" | grep -A1 'Subject Alternative Name' | tail -n 1 | sed 's/^ *\([0-9]*\):.*/\1/')
  openssl asn1parse -in "$1" -strparse "$off" | grep -c 'cont \[ 6 \]'
}

# --- root -----------------------------------------------------------------------------------------------------
check "pki root" run "$WORK/root.out" "$M2M_BIN" pki root --out "$L" --domain m2m.localhost
check "--out created mode 0700" mode_is "$L" 700
check "root.key is 0600" mode_is "$L/root.key" 600
root_text=$(openssl x509 -in "$L/root.crt" -noout -text 2>&1) || fail "root.crt does not parse: $root_text"
check "root: basicConstraints critical CA:TRUE" \
  has 'CA:TRUE' "$(grep -A1 'Basic Constraints: critical' <<<"$root_text")"
check "root: keyUsage critical keyCertSign+cRLSign" \
  has 'Certificate Sign, CRL Sign' "$(grep -A1 'Key Usage: critical' <<<"$root_text")"
check "root: subjectKeyIdentifier" has 'Subject Key Identifier' "$root_text"
nc=$(openssl x509 -in "$L/root.crt" -noout -ext nameConstraints 2>&1) || true
check "root: nameConstraints critical" has 'Name Constraints: critical' "$nc"
check "root: permitted DNS:m2m.localhost" has 'DNS:m2m.localhost' "$nc"
refused "root: no URI constraint (CSE-ID URIs have no host)" grep -q URI <<<"$nc"
check "root key is P-256, named curve" has 'ASN1 OID: prime256v1' "$root_text"
check "signature ecdsa-with-SHA256" has 'Signature Algorithm: ecdsa-with-SHA256' "$root_text"
serial=$(openssl x509 -in "$L/root.crt" -noout -serial | cut -d= -f2) || true
check "serial of ~128 bits ($serial)" [ ${#serial} -ge 30 ]
not_before=$(date -d "$(openssl x509 -in "$L/root.crt" -noout -startdate | cut -d= -f2)" +%s) || true
check "notBefore backdated about 5 minutes" [ $(( $(date +%s) - ${not_before:-0} )) -ge 240 -a -n "$not_before" ]

# --- Registrar certificate ------------------------------------------------------------------------------------
check "pki registrar" run "$WORK/reg.out" \
  "$M2M_BIN" pki registrar --root "$L" --cse-id /in-cse --domain in-cse.m2m.localhost --out "$L"
check "registrar.key is 0600" mode_is "$L/registrar.key" 600
refused "no chain.pem for a leaf signed by the root itself" [ -e "$L/chain.pem" ]
check "openssl verify -x509_strict -purpose sslserver" run "$WORK/verify.out" \
  openssl verify -x509_strict -purpose sslserver -CAfile "$L/root.crt" "$L/registrar.crt"
san=$(openssl x509 -in "$L/registrar.crt" -noout -ext subjectAltName 2>&1) || true
check "SAN dNSName = the domain" has 'DNS:in-cse.m2m.localhost' "$san"
check "SAN URI = the CSE-ID" has 'URI:/in-cse' "$san"
check "registrar: exactly one URI" [ "$(san_uris "$L/registrar.crt")" = 1 ]
reg_text=$(openssl x509 -in "$L/registrar.crt" -noout -text) || true
check "registrar: extendedKeyUsage serverAuth" has 'TLS Web Server Authentication' "$reg_text"
check "registrar: keyUsage critical digitalSignature" \
  has 'Digital Signature' "$(grep -A1 'Key Usage: critical' <<<"$reg_text")"
check "registrar: authorityKeyIdentifier" has 'Authority Key Identifier' "$reg_text"
check "registrar: CN = the domain" grep -q 'Subject: CN *= *in-cse.m2m.localhost' <<<"$reg_text"

# Outside the permitted subtree: the CLI refuses, says why, and writes nothing.
rc=0; out=$("$M2M_BIN" pki registrar --root "$L" --cse-id /in-cse --domain in-cse.example.com \
  --out "$WORK/outside" 2>&1) || rc=$?
check "outside the root's subtree: exit 1" [ $rc = 1 ]
check "outside the root's subtree: the reason is given" has 'outside the DNS names' "$out"
check "outside the root's subtree: the permitted subtree is named" has 'm2m.localhost' "$out"
refused "outside the root's subtree: nothing written" [ -e "$WORK/outside/registrar.crt" ]
refused "evilm2m.localhost is not below m2m.localhost" "$M2M_BIN" pki registrar --root "$L" --cse-id /in-cse \
  --domain evilm2m.localhost --out "$WORK/outside"
check "m2m.localhost itself is inside" run "$WORK/apex.out" \
  "$M2M_BIN" pki registrar --root "$L" --cse-id /in-cse --domain m2m.localhost --out "$WORK/apex"
# OpenSSL itself enforces the constraint on a certificate the CLI would not have made.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/rogue.key" -subj /CN=rogue \
  -addext "subjectAltName=DNS:in-cse.example.com,URI:/in-cse" -out "$WORK/rogue.csr" 2>/dev/null
openssl x509 -req -in "$WORK/rogue.csr" -CA "$L/root.crt" -CAkey "$L/root.key" -copy_extensions copy -days 1 \
  -out "$WORK/rogue.crt" 2>/dev/null
rc=0; out=$(openssl verify -CAfile "$L/root.crt" "$WORK/rogue.crt" 2>&1) || rc=$?
check "openssl refuses a certificate outside the root's subtree" [ $rc != 0 ]
check "... for the subtree" has 'permitted subtree violation' "$out"

# An intermediate CA in --root (root.crt = intermediate + root, root.key = the intermediate's key): chain.pem
# holds the intermediate only, and leaf + chain.pem verify to the root.
mkdir -p "$WORK/int"
cat >"$WORK/int.ext" <<'EXT'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid:always
EXT
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/int/root.key" \
  -subj "/CN=Lab Intermediate" -out "$WORK/int.csr" 2>/dev/null
openssl x509 -req -in "$WORK/int.csr" -CA "$L/root.crt" -CAkey "$L/root.key" -extfile "$WORK/int.ext" -days 2 \
  -out "$WORK/int.crt" 2>/dev/null
cat "$WORK/int.crt" "$L/root.crt" >"$WORK/int/root.crt"
check "pki registrar under an intermediate" run "$WORK/regint.out" \
  "$M2M_BIN" pki registrar --root "$WORK/int" --cse-id /in-cse --domain in-cse.m2m.localhost --out "$WORK/regint"
check "chain.pem = the intermediate, without the root" cmp -s "$WORK/regint/chain.pem" "$WORK/int.crt"
check "leaf + chain.pem verify to the root" run "$WORK/verify.out" openssl verify -x509_strict -purpose sslserver \
  -CAfile "$L/root.crt" -untrusted "$WORK/regint/chain.pem" "$WORK/regint/registrar.crt"

# A root made by plain `openssl req -x509` (no keyUsage, no name constraints) works as --root too.
mkdir -p "$WORK/own"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/own/root.key" \
  -out "$WORK/own/root.crt" -subj "/CN=Own CA" -days 2 2>/dev/null
check "pki registrar under an openssl-made root" run "$WORK/own.out" \
  "$M2M_BIN" pki registrar --root "$WORK/own" --cse-id /in-cse --domain in-cse.sp.example --out "$WORK/own"
check "... and it verifies" run "$WORK/verify.out" \
  openssl verify -purpose sslserver -CAfile "$WORK/own/root.crt" "$WORK/own/registrar.crt"

# --- device certificates --------------------------------------------------------------------------------------
check "pki device (self-signed)" run "$WORK/dev.out" "$M2M_BIN" pki device --out "$WORK/dev" --id Csensor1
check "device.key is 0600" mode_is "$WORK/dev/device.key" 600
printed=$(sed -n 's/^pubkey-hash \([0-9a-f]\{64\}\)$/\1/p' "$WORK/dev.out") || true
from_crt=$(openssl x509 -in "$WORK/dev/device.crt" -pubkey -noout | sha_spki) || true
from_key=$(openssl pkey -in "$WORK/dev/device.key" -pubout | sha_spki) || true
check "openssl: device.key and device.crt hold one key" [ "$from_key" = "$from_crt" ]
check "printed hash = openssl's ($printed)" [ -n "$printed" -a "$printed" = "$from_crt" ]
check "pubkey-hash device.crt = openssl" [ "$("$M2M_BIN" pki pubkey-hash "$WORK/dev/device.crt")" = "$from_crt" ]
check "pubkey-hash device.key = openssl" [ "$("$M2M_BIN" pki pubkey-hash "$WORK/dev/device.key")" = "$from_key" ]
dev_text=$(openssl x509 -in "$WORK/dev/device.crt" -noout -text) || true
check "device: SAN URI = the ID" has 'URI:Csensor1' "$dev_text"
check "device: extendedKeyUsage clientAuth" has 'TLS Web Client Authentication' "$dev_text"
check "device: CN = the ID" grep -q 'Subject: CN *= *Csensor1' <<<"$dev_text"
check "device: self-signed" grep -q 'Issuer: CN *= *Csensor1' <<<"$dev_text"
check "self-signed device verifies when pinned" run "$WORK/verify.out" \
  openssl verify -x509_strict -purpose sslclient -CAfile "$WORK/dev/device.crt" "$WORK/dev/device.crt"

check "manufacturer root" run "$WORK/mfr.out" "$M2M_BIN" pki root --out "$WORK/mfr" --name "Example Manufacturer Root"
check "pki device --root" run "$WORK/gw.out" "$M2M_BIN" pki device --out "$WORK/gw" --id /mn-cse --root "$WORK/mfr"
check "root-signed device verifies (strict, sslclient)" run "$WORK/verify.out" \
  openssl verify -x509_strict -purpose sslclient -CAfile "$WORK/mfr/root.crt" "$WORK/gw/device.crt"
check "device: SAN URI = the CSE-ID" \
  has 'URI:/mn-cse' "$(openssl x509 -in "$WORK/gw/device.crt" -noout -ext subjectAltName)"
refused "device does not verify under another root" openssl verify -CAfile "$L/root.crt" "$WORK/gw/device.crt"
# An ID is one URI however it is spelled: "," and ":" must not let it add a subjectAltName entry.
if "$M2M_BIN" pki device --out "$WORK/inj" --id 'C,URI:evil' >/dev/null 2>&1; then
  check "an ID with ',' stays one URI" [ "$(san_uris "$WORK/inj/device.crt")" = 1 ]
else pass "an ID with ',' is refused"; fi

# --- pubkey-hash on openssl-made files ------------------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/o.key" -out "$WORK/o.crt" \
  -subj /CN=Cother -days 1 2>/dev/null
want=$(openssl x509 -in "$WORK/o.crt" -pubkey -noout | sha_spki) || true
openssl x509 -in "$WORK/o.crt" -outform DER -out "$WORK/o.der"
openssl pkey -in "$WORK/o.key" -pubout -out "$WORK/o.pub"
openssl pkey -in "$WORK/o.key" -pubout -outform DER -out "$WORK/o.pub.der"
openssl pkey -in "$WORK/o.key" -outform DER -out "$WORK/o.key.der"
for f in o.crt o.der o.key o.pub o.pub.der o.key.der; do
  got=$("$M2M_BIN" pki pubkey-hash "$WORK/$f" 2>&1) || true
  check "pubkey-hash $f = openssl" [ "$got" = "$want" ]
done
openssl pkey -in "$WORK/o.key" -aes128 -passout pass:x -out "$WORK/o.enc" 2>/dev/null
rc=0; out=$("$M2M_BIN" pki pubkey-hash "$WORK/o.enc" </dev/null 2>&1) || rc=$?
check "encrypted key: exit 1" [ $rc = 1 ]
check "encrypted key: named and explained" has "o.enc: the private key is encrypted" "$out"
rc=0; out=$("$M2M_BIN" pki pubkey-hash "$WORK/nope.crt" 2>&1) || rc=$?
check "missing file: exit 1" [ $rc = 1 ]
check "missing file: the file named" has 'nope.crt: No such file' "$out"
rc=0; "$M2M_BIN" pki pubkey-hash >/dev/null 2>&1 || rc=$?
check "pubkey-hash without FILE: exit 2" [ $rc = 2 ]

# --- no silent overwrite --------------------------------------------------------------------------------------
before=$(sha256sum "$L/root.key" "$L/root.crt")
rc=0; out=$("$M2M_BIN" pki root --out "$L" 2>&1) || rc=$?
check "root over an existing one: exit 1" [ $rc = 1 ]
check "root over an existing one: the file named" has 'root.key already exists' "$out"
check "root files untouched" [ "$(sha256sum "$L/root.key" "$L/root.crt")" = "$before" ]
rc=0; out=$("$M2M_BIN" pki device --out "$WORK/dev" --id Csensor1 2>&1) || rc=$?
check "device over an existing one: exit 1" [ $rc = 1 ]
check "device over an existing one: the file named" has 'device.key already exists' "$out"
old=$(sha256sum <"$WORK/dev/device.key")
chmod 644 "$WORK/dev/device.key"
check "--force replaces" run "$WORK/force.out" "$M2M_BIN" pki device --out "$WORK/dev" --id Csensor1 --force
check "--force wrote a new key" [ "$(sha256sum <"$WORK/dev/device.key")" != "$old" ]
check "a replaced key is 0600 again" mode_is "$WORK/dev/device.key" 600
refused "no temporary files left behind" grep -q '^\.' <<<"$(ls -A "$WORK/dev")"

# --- usage ----------------------------------------------------------------------------------------------------
for a in "" root registrar device pubkey-hash; do
  check "pki $a --help" run "$WORK/help.out" "$M2M_BIN" pki $a --help
done
rc=0; "$M2M_BIN" pki registrar --root "$L" --cse-id in-cse --domain a.m2m.localhost --out "$WORK/x" \
  >/dev/null 2>&1 || rc=$?
check "--cse-id without '/': exit 2" [ $rc = 2 ]
rc=0; out=$("$M2M_BIN" pki root --out "$WORK/x" --days 0 2>&1) || rc=$?
check "--days 0: exit 2" [ $rc = 2 ]
check "--days 0: the option named" has '--days' "$out"
rc=0; "$M2M_BIN" pki bogus >/dev/null 2>&1 || rc=$?
check "unknown action: exit 2" [ $rc = 2 ]

finish
