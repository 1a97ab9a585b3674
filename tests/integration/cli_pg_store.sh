# SPDX-License-Identifier: Apache-2.0
# Every command that takes --db takes a PostgreSQL store too (URL and key=value forms), and none prints the
# password a location carries: registrar init / serve (its log), enrol, the Registree attaching through it, bsf.
# Runs against a throw-away cluster of its own (tests/pg/cluster.sh); skipped (77) where there is no PostgreSQL.
source "$M2M_SOURCE/tests/lib.sh"
source "$M2M_SOURCE/tests/pg/cluster.sh"
trap 'rc=$?; pg_cluster_stop; cleanup; exit $rc' EXIT
pg_cluster_start || exit $?
pg_createdb m2m
pg_createdb bsf
PW=s3cret-pw-9b1
DB="postgresql://postgres:$PW@/m2m?host=$PG_DIR"
KV="host=$PG_DIR user=postgres password=$PW dbname=m2m"

nopw() { # what, text: the password must not be in it
  if grep -q "$PW" <<<"$2"; then fail "$1 shows the password: $2"; else pass "$1 shows no password"; fi
}

out=$("$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base 2>&1) || fail "init: $out"
grep -q "created store postgresql://postgres@$PG_DIR" <<<"$out" && pass "init on a URL: $out" || fail "init said: $out"
nopw "init" "$out"
if out=$("$M2M_BIN" registrar init --db "$KV" --cse-id /in-cse --cse-name cse-base 2>&1); then
  fail "a second init over the same database was accepted"
else
  grep -q "already has an m2mattach schema" <<<"$out" && pass "second init refused: $out" || fail "second init said: $out"
fi
nopw "a refused init (key=value form)" "$out"
if out=$("$M2M_BIN" enrol list --db "postgres://u:$PW%zz@h/d" 2>&1); then fail "an unparsable URL was accepted"; fi
nopw "an unparsable URL's error" "$out"
if out=$("$M2M_BIN" enrol list --db "postgresql://postgres:$PW@/nodb?host=$PG_DIR" 2>&1); then
  fail "a missing database was accepted"
fi
nopw "a missing database's error" "$out"

# serve on the URL (the log names the store without its password), enrol through the key=value form
DB_SAVED=$DB
DB_INITIALISED=1 start_registrar --coaps 127.0.0.1:0 # both listeners log the store
DB=$KV
key=$(openssl rand -hex 32)
(umask 077; printf '%s\n' "$key" >"$WORK/dev.key")
"$M2M_BIN" enrol psk --db "$DB" --registree-id Cpg --key-file "$WORK/dev.key" >/dev/null || fail "enrol psk on key=value"
cat >"$WORK/dev.ini" <<INI
[registrar]
poa = https://127.0.0.1:$PORT
cse-id = /in-cse
[registree]
id = Cpg
app-id = Rpg
[credentials]
mechanism = psk
key-file = dev.key
INI
out=$("$M2M_BIN" attach --details "$WORK/dev.ini" 2>&1) && grep -q 'registered as Cpg' <<<"$out" &&
  pass "attached through a Registrar on PostgreSQL: $out" || fail "attach said: $out"
out=$("$M2M_BIN" enrol list --db "$DB_SAVED" 2>&1) && grep -q 'Cpg' <<<"$out" && pass "enrol list on the URL" ||
  fail "enrol list said: $out"
"$M2M_BIN" enrol revoke --db "$DB" --registree-id Cpg >/dev/null || fail "revoke"
if out=$("$M2M_BIN" attach --details "$WORK/dev.ini" 2>&1); then fail "revoked device attached: $out"; else
  pass "revoked device refused at once"; fi
grep -q "store postgresql://postgres@$PG_DIR/m2m" "$LOG" && pass "serve logs the store by its safe name" ||
  fail "serve's log does not name the store"
nopw "serve's log" "$(cat "$LOG" "$WORK/serve.out")"
stop_registrar

# the BSF's store too
out=$("$M2M_BIN" bsf init --db "postgresql://postgres:$PW@/bsf?host=$PG_DIR" --domain bsf.m2m.localhost 2>&1) &&
  pass "bsf init on a URL: $out" || fail "bsf init said: $out"
nopw "bsf init" "$out"
(umask 077; printf '%s\n' 465b5ce8b199b49faa5f0a2ee238a6bc >"$WORK/k"; printf '%s\n' cd63cb71954a9f4e48a5994e37a02baf >"$WORK/opc")
"$M2M_BIN" bsf subscriber add --db "host=$PG_DIR user=postgres dbname=bsf" --impi 001@ims.example --k-file "$WORK/k" \
  --opc-file "$WORK/opc" >/dev/null && out=$("$M2M_BIN" bsf subscriber list --db "host=$PG_DIR user=postgres dbname=bsf") &&
  grep -q '001@ims.example' <<<"$out" && pass "bsf subscribers on PostgreSQL" || fail "bsf subscriber: $out"
if out=$("$M2M_BIN" bsf subscriber list --db "$DB_SAVED" 2>&1); then :; fi
nopw "bsf on a Registrar store" "$out"

# a briefing whose key is generated and enrolled at a PostgreSQL target: the target is named without its password
"$M2M_BIN" registrar init --db "$WORK/brief.db" --cse-id /brief-cse --cse-name brief >/dev/null
printf '%s\n' 00112233445566778899aabbccddeeff | "$M2M_BIN" enrol psk --db "$WORK/brief.db" --registree-id Cbriefed --key - >/dev/null
out=$("$M2M_BIN" briefing add --db "$WORK/brief.db" --registree-id Cbriefed --target-poa https://127.0.0.1:9 \
        --target-cse-id /in-cse --app-id Rbriefed --mechanism psk --generate-key --target-db "$DB" 2>&1) &&
  pass "briefing add enrols a generated key at a PostgreSQL target" || fail "briefing add said: $out"
nopw "briefing add --target-db URL" "$out"

for c in "registrar" "enrol" "bsf"; do
  out=$("$M2M_BIN" $c --help 2>&1 || true) # (grep -q on a pipe would stop the writer early: pipefail)
  grep -q 'STORE' <<<"$out" && pass "$c --help documents STORE" || fail "$c --help has no STORE"
done
finish
