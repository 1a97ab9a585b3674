# SPDX-License-Identifier: Apache-2.0
# Step 2 from the network, end to end with two real Registrars on 127.0.0.1, each with its own SQLite store: a
# Briefing Registrar (/brief-cse, lib.sh's) where devices attach with the PSK they were made with, and the target
# Registrar (/in-cse, with a lab-PKI certificate) their briefings send them to -- (a) PSK generated and enrolled at
# the target by `briefing add --generate-key`, (b) an identity token, (c) a client certificate. And what must be
# refused: another Registree's briefing (4004, as if absent), UPDATE/DELETE (4005), a second read of the one-time
# secret, a briefing whose root certificate or CSE-ID the target does not match; no secret in a log or a listing.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
M=$M2M_BIN

# ---- the target Registrar ----
$M pki root --out lab --domain m2m.localhost >/dev/null
$M pki registrar --root lab --cse-id /in-cse --domain in-cse.m2m.localhost --out lab >/dev/null
$M pki root --out rogue --domain m2m.localhost >/dev/null
TDB=$WORK/target.db
TLOG=$WORK/target.log
TPID=
$M registrar init --db "$TDB" --cse-id /in-cse --cse-name cse-base --cert lab/registrar.crt --key lab/registrar.key \
  >/dev/null
trap 'rc=$?; [ -n "$TPID" ] && { kill "$TPID" 2>/dev/null; wait "$TPID" 2>/dev/null; }
      [ "$rc" -ne 0 ] || [ "$FAILS" -ne 0 ] && { echo "--- target log ---" >&2; tail -n 30 "$TLOG" >&2; }
      (exit $rc); cleanup' EXIT
: >"$WORK/target.out"
$M registrar serve --db "$TDB" --https 127.0.0.1:0 --threads 2 >"$WORK/target.out" 2>>"$TLOG" &
TPID=$!
TPORT=
for _ in $(seq 1 100); do
  TPORT=$(sed -n 's/^listening https port \([0-9]*\)$/\1/p' "$WORK/target.out")
  [ -n "$TPORT" ] && break
  sleep 0.05
done
[ -n "$TPORT" ] || { echo "target registrar did not start" >&2; exit 1; }

# ---- the Briefing Registrar ----
$M pki registrar --root lab --cse-id /brief-cse --domain brief-cse.m2m.localhost --out blab >/dev/null
$M registrar init --db "$DB" --cse-id /brief-cse --cse-name brief-base --cert blab/registrar.crt \
  --key blab/registrar.key >/dev/null
start_registrar --coaps 127.0.0.1:0

# brief_details NAME ID [coaps]: a device's details for the Briefing Registrar, with a fresh PSK enrolled there
brief_details() {
  (umask 077; openssl rand -hex 32 >"$1.key")
  enrol_file "$2" "$1.key"
  cat >"$1.ini" <<INI
[registrar]
poa = $( [ "${3:-}" = coaps ] && echo "coaps://127.0.0.1:$COAPS_PORT" || echo "https://127.0.0.1:$PORT" )
cse-id = /brief-cse
[registree]
id = $2
app-id = Rbrief
[credentials]
mechanism = psk
key-file = $1.key
INI
}
add() { $M briefing add --db "$DB" --target-poa "https://127.0.0.1:$TPORT" --app-id Rbrief "$@"; }

# a briefing for an ID that is not enrolled at the Briefing Registrar is refused before anything changes
if out=$(add --registree-id Cnobody --target-cse-id /in-cse --mechanism psk --generate-key --target-db "$TDB" 2>&1)
then fail "briefing for an unenrolled ID accepted: $out"
else grep -q 'no active enrolment' <<<"$out" && ! $M enrol list --db "$TDB" | grep -q Cnobody &&
  pass "unenrolled ID refused, target untouched: $out" || fail "unenrolled said: $out"; fi

# ---- (a) PSK generated for the target and enrolled there ----
brief_details dev1 Cdev1
out=$(add --registree-id Cdev1 --target-cse-id /in-cse --mechanism psk --root-cert lab/root.crt --generate-key \
  --target-db "$TDB" 2>&1) && pass "briefing add psk --generate-key: $out" || fail "add psk: $out"
$M enrol list --db "$TDB" | grep -q '^Cdev1 *psk' && pass "the generated key is enrolled at the target" ||
  fail "no psk enrolment of Cdev1 at the target"
$M briefing list --db "$DB" | grep -q '^Cdev1 .*waiting' && pass "list: one-time key waiting" || fail "list before read"
out=$($M attach --briefing dev1.ini --out dev1-target.ini 2>&1) && grep -q 'briefed by /brief-cse as Cdev1:' <<<"$out" &&
  ! grep -q 'registered there' <<<"$out" && grep -q 'registered as Cdev1' <<<"$out" &&
  pass "attach --briefing, psk at the target: $out" || fail "attach --briefing psk: $out"
if out=$($M attach --briefing dev1.ini --out dev1.ini 2>&1); then fail "--out over the briefing details: $out"
else grep -q 'may not replace' <<<"$out" && pass "--out may not replace the device's own details" ||
  fail "--out same said: $out"; fi
for f in dev1-target.ini dev1-target.ini.key dev1-target.ini.root.crt; do
  [ "$(stat -c %a "$f" 2>/dev/null)" = 600 ] || fail "$f is not mode 0600"
done
key1=$(tr -d '[:space:]' <dev1-target.ini.key)
[ ${#key1} -eq 64 ] && pass "details, key and root written 0600" || fail "key file: ${#key1} hex digits"
out=$($M attach --details dev1-target.ini 2>&1) && grep -q 're-attachment' <<<"$out" &&
  pass "the written details re-attach: $out" || fail "re-attach with written details: $out"
$M briefing list --db "$DB" | grep -q '^Cdev1 .*handed out' && pass "list: handed out" || fail "list after read"
out=$($M request --details dev1.ini -X GET /~/brief-cse/brf-Cdev1 --raw 2>&1) && grep -q 'RSC 2000' <<<"$out" &&
  grep -q credentialHandedOut <<<"$out" && ! grep -q symmKeyValue <<<"$out" && ! grep -q "$key1" <<<"$out" &&
  pass "second read: no secret" || fail "second read: $out"
out=$($M attach --briefing dev1.ini --out dev1-target.ini 2>&1) && grep -q 're-attachment' <<<"$out" &&
  pass "attach --briefing again keeps the key it received: $out" || fail "briefing again: $out"
out=$($M request --details dev1.ini -X PUT /~/brief-cse/brf-Cdev1 --data '{"m2m:brf":{}}' 2>&1 || true)
grep -q 'RSC 4005' <<<"$out" && pass "UPDATE of a briefing: 4005" || fail "update: $out"
out=$($M request --details dev1.ini -X DELETE /~/brief-cse/brf-Cdev1 2>&1 || true)
grep -q 'RSC 4005' <<<"$out" && pass "DELETE of a briefing: 4005" || fail "delete: $out"

# ---- (b) an identity token for the target ----
brief_details dev2 Cdev2
(umask 077; $M enrol token --db "$TDB" --registree-id Cdev2 | awk '/^token /{print $2}' >dev2.tok)
token2=$(cat dev2.tok)
out=$(add --registree-id Cdev2 --target-cse-id /in-cse --mechanism token --root-cert lab/root.crt --token-file - \
  <dev2.tok 2>&1) && ! grep -q "$token2" <<<"$out" && pass "briefing add token (stdin): $out" || fail "add token: $out"
rm dev2.tok
# another Registree cannot read it, and cannot tell it from a missing one
out=$($M request --details dev1.ini -X GET /~/brief-cse/brf-Cdev2 2>&1 || true)
out2=$($M request --details dev1.ini -X GET /~/brief-cse/brf-Cnobody 2>&1 || true)
grep -q 'RSC 4004' <<<"$out" && [ "$(sed 's/Cdev2/X/g' <<<"$out")" = "$(sed 's/Cnobody/X/g' <<<"$out2")" ] &&
  pass "another Registree's briefing: 4004, as a missing one" || fail "other's briefing: $out / $out2"
out=$($M attach --briefing dev2.ini --out dev2-target.ini 2>&1) && grep -q 'registered as Cdev2' <<<"$out" &&
  grep -q 'verified against root' <<<"$out" && pass "attach --briefing, token at the target: $out" ||
  fail "attach --briefing token: $out"
[ "$(stat -c %a dev2-target.ini.token)" = 600 ] && pass "token file 0600" || fail "token file mode"
out=$($M briefing list --db "$DB" 2>&1)
grep -q '^Cdev2 .*token.*handed out' <<<"$out" && ! grep -q "$token2" <<<"$out" && ! grep -q "$key1" <<<"$out" &&
  pass "briefing list: no secret" || fail "list: $out"

# ---- (c) a client certificate at the target (lab PKI) ----
brief_details cam Ccam
$M pki device --out camcert --id Ccam >/dev/null
hash=$($M pki pubkey-hash camcert/device.crt | grep -o '[0-9a-f]\{64\}')
$M enrol cert --db "$TDB" --registree-id Ccam --pubkey-hash "$hash" >/dev/null
out=$(add --registree-id Ccam --target-cse-id /in-cse --mechanism cert --root-cert lab/root.crt 2>&1) ||
  fail "add cert: $out"
out=$($M attach --briefing cam.ini --out cam-target.ini --cert camcert/device.crt --cert-key camcert/device.key 2>&1) &&
  grep -q 'registered as Ccam' <<<"$out" && pass "attach --briefing, cert at the target: $out" ||
  fail "attach --briefing cert: $out"

# ---- the briefing read over CoAP/DTLS (the target still over HTTPS) ----
brief_details dev4 Cdev4 coaps
add --registree-id Cdev4 --target-cse-id /in-cse --mechanism psk --generate-key --target-db "$TDB" >/dev/null
out=$($M attach --briefing dev4.ini --out dev4-target.ini 2>&1) && grep -q 'registered as Cdev4' <<<"$out" &&
  pass "briefing over coaps: $out" || fail "briefing over coaps: $out"

# a key lost after its one read cannot be read again: the message says what to do
rm dev4-target.ini.key
if out=$($M attach --briefing dev4.ini --out dev4-target.ini 2>&1); then fail "lost key: $out"
else grep -q 'handed out before .* ask the Service Provider for a new briefing' <<<"$out" &&
  pass "one-time key gone and not kept: $out" || fail "lost key said: $out"; fi

# ---- psk with a key the operator enrolled at the target himself, given on standard input ----
brief_details dev5 Cdev5
(umask 077; openssl rand -hex 32 >dev5-target.key)
$M enrol psk --db "$TDB" --registree-id Cdev5 --key-file dev5-target.key >/dev/null
key5=$(cat dev5-target.key)
out=$(add --registree-id Cdev5 --target-cse-id /in-cse --mechanism psk --key-file - <dev5-target.key 2>&1) &&
  ! grep -q "$key5" <<<"$out" && pass "briefing add psk --key-file -: $out" || fail "add key stdin: $out"
out=$($M attach --briefing dev5.ini --out dev5-out.ini 2>&1) && grep -q 'registered as Cdev5' <<<"$out" &&
  cmp -s <(tr -d '[:space:]' <dev5-out.ini.key) <(tr -d '[:space:]' <dev5-target.key) &&
  pass "the operator's key arrives: $out" || fail "attach with operator key: $out"

# ---- a device that attaches to the Briefing Registrar with a token: its context is bound only once it registers,
# so it registers there first (the Registrar's answer to the read says so), then reads ----
(umask 077; $M enrol token --db "$DB" --registree-id Ctokdev | awk '/^token /{print $2}' >tokdev.tok)
cat >tokdev.ini <<INI
[registrar]
poa = https://127.0.0.1:$PORT
cse-id = /brief-cse
root-cert = lab/root.crt
[registree]
id = Ctokdev
app-id = Rbrief
[credentials]
mechanism = token
token-file = tokdev.tok
INI
add --registree-id Ctokdev --target-cse-id /in-cse --mechanism psk --generate-key --target-db "$TDB" >/dev/null
out=$($M attach --briefing tokdev.ini --out tokdev-target.ini 2>&1) &&
  grep -q 'briefed by /brief-cse as Ctokdev, registered there first' <<<"$out" &&
  grep -q 'registered as Ctokdev' <<<"$out" && pass "token at the Briefing Registrar: registers, then reads: $out" ||
  fail "token at the briefing: $out"

# ---- what the target presents must match the briefing ----
brief_details rog Crog
(umask 077; $M enrol token --db "$TDB" --registree-id Crog | awk '/^token /{print $2}' >rog.tok)
add --registree-id Crog --target-cse-id /in-cse --mechanism token --root-cert rogue/root.crt --token-file rog.tok \
  >/dev/null
if out=$($M attach --briefing rog.ini --out rog-target.ini 2>&1); then fail "wrong root accepted: $out"
else grep -q 'does not verify to root-cert' <<<"$out" && grep -q 'named by the briefing of /brief-cse' <<<"$out" &&
  grep -q 'came from the briefing' <<<"$out" &&
  pass "briefing root does not match the target: $out" || fail "wrong root said: $out"; fi
brief_details wcse Cwcse
(umask 077; $M enrol token --db "$TDB" --registree-id Cwcse | awk '/^token /{print $2}' >wcse.tok)
add --registree-id Cwcse --target-cse-id /other-cse --mechanism token --root-cert lab/root.crt --token-file wcse.tok \
  >/dev/null
if out=$($M attach --briefing wcse.ini --out wcse-target.ini 2>&1); then fail "wrong CSE-ID accepted: $out"
else grep -q 'does not carry CSE-ID /other-cse' <<<"$out" && pass "briefing CSE-ID does not match: $out" ||
  fail "wrong CSE-ID said: $out"; fi

# ---- remove ----
out=$($M briefing remove --db "$DB" --registree-id Cwcse 2>&1) && pass "remove: $out" || fail "remove: $out"
if out=$($M attach --briefing wcse.ini --out wcse2.ini 2>&1); then fail "removed briefing read: $out"
else grep -q '4004' <<<"$out" && pass "removed briefing: $out" || fail "removed said: $out"; fi

# ---- no secret in any log ----
grep -q 'briefing registree=Cdev1 read=brf-Cdev1 credential=handed out now' "$LOG" &&
  pass "the first read is logged" || fail "no log line of the read"
! $M briefing list --db "$DB" | grep -q "$key5" || fail "a key in briefing list"
for s in "$key1" "$token2" "$(cat rog.tok)" "$key5"; do
  if grep -q "$s" "$LOG" "$TLOG"; then fail "a secret appears in a log"; fi
done
pass "no secret in the logs"
finish
