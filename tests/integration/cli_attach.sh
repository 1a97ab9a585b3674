# SPDX-License-Identifier: Apache-2.0
# The Registree CLI end to end: initial attachment registers (Step 5), re-attachment does not (x.y.3), requests
# carry the bound ID, the state file is private, and refusals are clear and non-zero.
source "$M2M_SOURCE/tests/lib.sh"
start_registrar

key=$(openssl rand -hex 32)
printf '%s\n' "$key" >"$WORK/dev.key"; chmod 600 "$WORK/dev.key"
"$M2M_BIN" enrol psk --db "$DB" --registree-id Ccli --key-file "$WORK/dev.key" >/dev/null
"$M2M_BIN" enrol psk --db "$DB" --registree-id /mn-cli --generate --key-out "$WORK/gw.key" >/dev/null
cat >"$WORK/dev.ini" <<INI
[registrar]
poa = https://127.0.0.1:$PORT
cse-id = /in-cse
[registree]
id = Ccli
app-id = Rcli
[credentials]
mechanism = psk
key-file = dev.key
INI
cat >"$WORK/gw.ini" <<INI
[registrar]
poa = https://127.0.0.1:$PORT
cse-id = /in-cse
[registree]
id = /mn-cli
cse-base = gw
[credentials]
mechanism = psk
key-file = gw.key
[tls]
version = 1.2
INI
count() { sqlite3 "$DB" "SELECT count(*) FROM resource WHERE reg_id = '$1'"; }

out=$("$M2M_BIN" attach --details "$WORK/dev.ini") || fail "initial attach: $out"
grep -q 'registered as Ccli' <<<"$out" && pass "initial attachment: $out" || fail "initial attach said: $out"
[ "$(count Ccli)" = 1 ] || fail "registration not stored"
[ "$(stat -c %a "$WORK/dev.ini.state")" = 600 ] && pass "state file is 0600" || fail "state file mode $(stat -c %a "$WORK/dev.ini.state")"

rows_before=$(sqlite3 "$DB" "SELECT count(*) FROM resource")
out=$("$M2M_BIN" attach --details "$WORK/dev.ini") || fail "re-attach: $out"
grep -q 're-attachment' <<<"$out" && pass "re-attachment: $out" || fail "re-attach said: $out"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM resource")" = "$rows_before" ] && pass "re-attachment created nothing" ||
  fail "re-attachment changed the resource tree"

out=$("$M2M_BIN" attach --details "$WORK/gw.ini") || fail "CSE attach: $out"
grep -q 'registered as /mn-cli' <<<"$out" && pass "CSE registered: $out" || fail "CSE attach said: $out"

out=$("$M2M_BIN" request --details "$WORK/dev.ini" -X POST /~/in-cse/Ccli --ty 3 --data '{"m2m:cnt":{"rn":"t"}}') ||
  fail "container create: $out"
grep -q 'RSC 2001' <<<"$out" && pass "request CREATE <container>" || fail "request said: $out"
out=$("$M2M_BIN" request --details "$WORK/dev.ini" -X GET /cse-base/Ccli/t) && grep -q 'RSC 2000' <<<"$out" &&
  pass "request RETRIEVE" || fail "retrieve said: $out"

# spoofing through the CLI: non-zero exit and the 4106 shown
if out=$("$M2M_BIN" request --details "$WORK/dev.ini" -X GET /cse-base/Ccli --from /mn-cli 2>&1); then
  fail "spoofed From accepted: $out"
else
  grep -q 4106 <<<"$out" && pass "spoofed From refused with 4106" || fail "spoof said: $out"
fi
# the gateway cannot touch the sensor's data
if out=$("$M2M_BIN" request --details "$WORK/gw.ini" -X DELETE /cse-base/Ccli/t 2>&1); then
  fail "foreign delete accepted: $out"
else
  grep -q 4004 <<<"$out" && pass "foreign DELETE refused with 4004 (as if missing)" || fail "foreign delete said: $out"
fi

# issue 8: while another process holds the state lock, attach and request fail at once with exit 75 (busy), name
# the lock, and change nothing (flock(1) holds it while it runs the command)
state_before=$(sha256sum <"$WORK/dev.ini.state")
for cmd in "attach --details $WORK/dev.ini" "request --details $WORK/dev.ini -X GET /cse-base/Ccli/t"; do
  if out=$(flock "$WORK/dev.ini.state.lock" $M2M_BIN $cmd 2>&1); then fail "${cmd%% *} ran under a held lock: $out"
  else
    rc=$?
    [ "$rc" = 75 ] && grep -q "dev.ini.state.lock is locked" <<<"$out" && pass "${cmd%% *} while locked: exit 75, $out" ||
      fail "${cmd%% *} while locked: exit $rc: $out"
  fi
done
[ "$(sha256sum <"$WORK/dev.ini.state")" = "$state_before" ] && pass "the locked state file was not touched" ||
  fail "the state file changed under a held lock"
out=$("$M2M_BIN" attach --details "$WORK/dev.ini") && pass "lock released: attach works again" || fail "after lock: $out"

# a wrong key: the handshake fails, the message names the Registrar
printf '%s\n' "$(openssl rand -hex 32)" >"$WORK/dev.key"
if out=$("$M2M_BIN" attach --details "$WORK/dev.ini" 2>&1); then fail "wrong key attached: $out"
else grep -q "127.0.0.1:$PORT" <<<"$out" && pass "wrong key refused: $out" || fail "wrong key said: $out"; fi

# broken details files are named with file and line
printf '[registrar]\npoa = ftp://x\n' >"$WORK/bad.ini"
if out=$("$M2M_BIN" attach --details "$WORK/bad.ini" 2>&1); then fail "bad details accepted"
else grep -q 'bad.ini' <<<"$out" && pass "bad details file: $out" || fail "bad details said: $out"; fi
"$M2M_BIN" attach --help | grep -q details || fail "attach --help"

# keys never appear in the Registrar's log or in enrol list
! grep -q "$key" "$LOG" && ! "$M2M_BIN" enrol list --db "$DB" --all | grep -q "$key" && pass "no keys in log or list" ||
  fail "a key leaked"
finish
