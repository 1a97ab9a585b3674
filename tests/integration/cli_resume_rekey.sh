# SPDX-License-Identifier: Apache-2.0
# Issue 4, the Registree side, end to end with the CLI against the real daemon:
#   resumption (x.y.4): PSK over TLS 1.2 and 1.3, cert, token; across a Registrar restart; an expired ticket falls
#     back to a full handshake and is replaced; --no-resume and `resumption = no`; a revoked Registree is refused;
#   key generation (x.y.8, attach --rekey): PSK over TLS 1.2 ECDHE-PSK and TLS 1.3, cert then PSK (x.y.8.3), token;
#     later attachments use the generated key and the Registrar makes it current; the old key is then refused; a
#     non-ephemeral suite is refused with the Registrar's 4005 reason; a generated key that cannot be used or that
#     the Registrar refuses falls back to the details file's credentials, saying so;
#   secrecy: no generated key in any output, the Registrar log, `enrol list` or a state file.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

# --- a Registrar with a certificate: PSK, cert and token on one port ------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.crt -days 2 \
  -subj "/CN=Registrar Root" -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout registrar.key -out registrar.csr \
  -subj "/CN=in-cse.m2m.localhost" 2>/dev/null
printf 'subjectAltName=DNS:in-cse.m2m.localhost,URI:/in-cse\nextendedKeyUsage=serverAuth\n' >reg.ext
openssl x509 -req -in registrar.csr -CA root.crt -CAkey root.key -CAcreateserial -days 1 -extfile reg.ext \
  -out registrar.crt 2>/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout device.key -out device.crt -days 1 \
  -subj "/CN=Ccert" 2>/dev/null
chmod 600 device.key
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key \
  >/dev/null
hash=$("$M2M_BIN" pki pubkey-hash device.crt)
"$M2M_BIN" enrol cert --db "$DB" --registree-id Ccert --pubkey-hash "$hash" >/dev/null
token=$("$M2M_BIN" enrol token --db "$DB" --registree-id Ctok | sed -n 's/^token \(.*\)$/\1/p')
printf '%s\n' "$token" >Ctok.token; chmod 600 Ctok.token
token=$("$M2M_BIN" enrol token --db "$DB" --registree-id Ctok2 | sed -n 's/^token \(.*\)$/\1/p')
printf '%s\n' "$token" >Ctok2.token; chmod 600 Ctok2.token
for id in Cp12 Cp13 Crev Ck12 Ck13 Cnofs Clost; do
  (umask 077; openssl rand -hex 16 >$id.key); enrol_file $id $id.key
done
start_registrar

# ini NAME ID MECHANISM [LINE...]: writes NAME.ini for the current $PORT; the lines go at the end (e.g. "[tls]").
ini() {
  local name=$1 id=$2 mech=$3; shift 3
  {
    printf '[registrar]\npoa = https://127.0.0.1:%s\ncse-id = /in-cse\n' "$PORT"
    [ "$mech" = psk ] || printf 'root-cert = root.crt\n'
    printf '[registree]\nid = %s\napp-id = R%s\n[credentials]\nmechanism = %s\n' "$id" "$id" "$mech"
    case $mech in
      psk) printf 'key-file = %s.key\n' "$id" ;;
      cert) printf 'cert-file = device.crt\nkey-file = device.key\n' ;;
      token) printf 'token-file = %s.token\n' "$id" ;;
    esac
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$name.ini"
}
# attach NAME [ARGS...]: runs `m2mattach attach`; $out holds stdout+stderr, $rc the status; all output is kept.
attach() {
  local name=$1; shift
  rc=0; out=$("$M2M_BIN" attach --details "$name.ini" "$@" 2>&1) || rc=$?
  printf '%s\n' "$out" >>all.out
}
has() { grep -q -- "$1" <<<"$2"; }
ok_if() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what: $out"; fi; }
log_has() { grep -q -- "$1" "$LOG"; }
# a line the Registrar writes once a write is durable (the writer's job completes after the response went out)
log_soon() { for _ in $(seq 1 100); do grep -q -- "$1" "$LOG" && return 0; sleep 0.05; done; return 1; }
# the Registrar's log line of the last attachment of ID
last_attach() { grep "attach mechanism=[a-z]* registree=$1 " "$LOG" | tail -n 1; }
gen_id() { sed -n 's/^key generated: Kc[ac]_ID \([0-9a-f]\{32\}\) .*/\1/p' <<<"$out"; }
# https GET over TLS-PSK with openssl s_client; prints the response (empty when the handshake fails)
psk_get() { # id hexkey version
  local kid; kid=$(keyid "$1" "$2")
  # Connection: close and -ign_eof: s_client leaves when the Registrar has answered and closed (or refused the
  # handshake), however long that takes -- no sleep that a slow machine could outlast
  printf 'GET /~/in-cse/%s HTTP/1.1\r\nHost: x\r\nX-M2M-RI: g\r\nX-M2M-Origin: %s\r\nConnection: close\r\n\r\n' "$1" "$1" |
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT" "$3" -psk_identity "$kid" -psk "$2" -quiet -ign_eof \
      2>/dev/null || true
}
generated=() # every generated key seen, for the secrecy checks at the end

# --- resumption with PSK, TLS 1.2 and 1.3 ---------------------------------------------------------------------
for v in 1.2 1.3; do
  id=Cp${v/./}
  ini $id $id psk "[tls]" "version = $v"
  attach $id
  ok_if "psk TLS $v: initial attachment" has "registered as $id (TLSv$v" "$out"
  attach $id
  ok_if "psk TLS $v: re-attachment resumes the session" \
    has "re-attachment (psk, session resumed) as $id, no registration needed (TLSv$v" "$out"
  ok_if "psk TLS $v: the handshake time saved is reported" has "the last full one took" "$out"
  ok_if "psk TLS $v: the Registrar logged handshake=resumed" \
    has "handshake=resumed version=TLSv$v" "$(last_attach $id)"
  attach $id --no-resume
  ok_if "psk TLS $v: --no-resume makes a full handshake" \
    eval '! has "resumed" "$out" && has "handshake=full" "$(last_attach $id)"'
done
ok_if "state file 0600 with the session" eval '[ "$(stat -c %a Cp13.ini.state)" = 600 ] && grep -q "^session = " Cp13.ini.state'
ok_if "the session is bound to mechanism, ID, Registrar and key ID" \
  grep -q "^session-for = psk Cp13 /in-cse $(keyid_file Cp13 Cp13.key) -$" Cp13.ini.state

# resumption = no: no session offered, none kept
ini Cp13 Cp13 psk "[tls]" "version = 1.3" "resumption = no"
attach Cp13
ok_if "resumption = no: a full handshake" eval '[ $rc = 0 ] && ! has resumed "$out"'
ok_if "resumption = no: no session left in the state file" eval '! grep -q "^session" Cp13.ini.state'
ini Cp13 Cp13 psk "[tls]" "version = 1.3"
attach Cp13; attach Cp13
ok_if "resumption back on: resumed again" has "session resumed" "$out"

# --- cert and token resume too ----------------------------------------------------------------------------------
ini Ccert Ccert cert
attach Ccert
ok_if "cert: initial attachment" has "initial attachment (cert), registered as Ccert" "$out"
attach Ccert
ok_if "cert: re-attachment resumes" has "re-attachment (cert, session resumed) as Ccert" "$out"
ok_if "cert: the Registrar logged it resumed" has "mechanism=cert .*handshake=resumed" "$(last_attach Ccert)"
ini Ctok Ctok token "[tls]" "version = 1.3"
attach Ctok
ok_if "token: initial attachment" has "initial attachment (token), registered as Ctok" "$out"
attach Ctok
ok_if "token: a registered token Registree re-attaches by resuming its TLS 1.3 session" \
  has "re-attachment (token, session resumed) as Ctok" "$out"
ok_if "token: the Registrar logged it resumed" has "mechanism=token .*handshake=resumed" "$(last_attach Ctok)"
out=$("$M2M_BIN" request --details Ctok.ini -X GET /~/in-cse/Ctok 2>&1) || true
ok_if "token: a request over the resumed session is bound to Ctok" has "RSC 2000" "$out"
attach Ctok --no-resume
ok_if "token without resumption: the single-use refusal, nothing sent" \
  eval '[ $rc = 1 ] && has "token attachment is single-use" "$out" && has "resumption is off" "$out"'

# --- a Registrar restart (new port, same store): the tickets still resume --------------------------------------
stop_registrar
start_registrar
for v in 1.2 1.3; do
  id=Cp${v/./}; ini $id $id psk "[tls]" "version = $v"
  attach $id
  ok_if "after a Registrar restart: psk TLS $v resumes" has "session resumed" "$out"
  ok_if "after a Registrar restart: logged handshake=resumed (TLS $v)" \
    has "handshake=resumed version=TLSv$v" "$(last_attach $id)"
done
ini Ccert Ccert cert; ini Ctok Ctok token "[tls]" "version = 1.3"

# --- revocation: no resumption, and the full handshake fails with a clear message ------------------------------
ini Crev Crev psk "[tls]" "version = 1.2"
attach Crev; attach Crev
ok_if "Crev resumes before the revocation" has "session resumed" "$out"
"$M2M_BIN" enrol revoke --db "$DB" --registree-id Crev >/dev/null
attach Crev # at once: every handshake and every resumption reads the enrolment as it is now
ok_if "revoked: attach fails" eval '[ $rc = 1 ]'
ok_if "revoked: the message says the key was refused and the session not resumed" \
  eval 'has "unknown psk identity" "$out" && has "not enrolled, revoked or replaced" "$out" && has "not resumed either" "$out"'
ok_if "revoked: the Registrar refused the resumption" log_has "resume registree=Crev .*result=refused"
ini Crev Crev psk "[tls]" "version = 1.3"
attach Crev
ok_if "revoked, TLS 1.3: attach fails, naming the refused key" \
  eval '[ $rc = 1 ] && has "did not accept psk_identity" "$out"'

# --- key generation over TLS 1.2 ECDHE-PSK and over TLS 1.3 -----------------------------------------------------
for v in 1.2 1.3; do
  id=Ck${v/./}; ini $id $id psk "[tls]" "version = $v"
  oldkey=$(cat $id.key)
  attach $id
  attach $id --rekey
  kid=$(gen_id)
  ok_if "rekey psk TLS $v: a key was generated" eval '[ $rc = 0 ] && [ -n "$kid" ]'
  [ $v = 1.2 ] && ok_if "rekey psk TLS 1.2: over ECDHE-PSK" has "over TLSv1.2 ECDHE-PSK-AES128-CBC-SHA256" "$out"
  ok_if "rekey psk TLS $v: the key file is 0600 and its key has the reported ID" \
    eval '[ "$(stat -c %a $id.ini.generated.key)" = 600 ] && [ "$(keyid_file $id $id.ini.generated.key)" = "$kid" ]'
  generated+=("$(cat $id.ini.generated.key)")
  ok_if "rekey psk TLS $v: the Registrar logged the pending key" log_has "keygen registree=$id .*pending_key_id=$kid"
  ok_if "rekey psk TLS $v: the state file records the key ID" grep -q "^generated-key-id = $kid$" $id.ini.state
  attach $id
  ok_if "rekey psk TLS $v: the next attach uses the generated key" has "(psk with generated key $kid) as $id" "$out"
  ok_if "rekey psk TLS $v: the Registrar saw the new key ID" has "key_id=$kid " "$(last_attach $id)"
  ok_if "rekey psk TLS $v: ... and made it current" log_soon "key registree=$id key_id=$kid peer=127.0.0.1:[0-9]* result=generated key now current"
  attach $id
  ok_if "rekey psk TLS $v: the generated key's session resumes" has "(psk with generated key $kid, session resumed)" "$out"
  ok_if "rekey psk TLS $v: the old key gets no HTTP answer" eval '! has "HTTP/1.1" "$(psk_get $id "$oldkey" -tls1_2)"'
  ok_if "rekey psk TLS $v: both ends hold the same key (openssl s_client with it)" \
    has "X-M2M-RSC: 2000" "$(psk_get $id "$(cat $id.ini.generated.key)" -tls1_2)"
done

# a second rekey keeps the key in use until the new one has worked
attach Ck13 --rekey
kid2=$(gen_id); generated+=("$(cat Ck13.ini.generated.key)")
ok_if "second rekey: the key in use waits in .previous" \
  eval '[ -f Ck13.ini.generated.key.previous ] && grep -q "^previous-generated-key-id = [0-9a-f]\{32\}$" Ck13.ini.state'
attach Ck13
ok_if "second rekey: attach uses the newest key" has "(psk with generated key $kid2)" "$out"
ok_if "second rekey: once it worked the previous one is gone" \
  eval '[ ! -e Ck13.ini.generated.key.previous ] && grep -q "^previous-generated-key-id = $" Ck13.ini.state'

# --- no forward secrecy, no key: the Registrar's 4005 and its reason --------------------------------------------
ini Cnofs Cnofs psk "[tls]" "version = 1.2" "ciphers = PSK-AES128-CBC-SHA256"
attach Cnofs
attach Cnofs --rekey
ok_if "rekey over PSK-AES128-CBC-SHA256: refused with 4005 and the reason" \
  eval '[ $rc = 1 ] && has "4005 OPERATION_NOT_ALLOWED" "$out" && has "forward secrecy" "$out" &&
        has "PSK-AES128-CBC-SHA256" "$out"'
ok_if "rekey refused: no key file, no generated key in the state" \
  eval '[ ! -e Cnofs.ini.generated.key ] && grep -q "^generated-key-id = $" Cnofs.ini.state'

# --- x.y.8.3: PKI first, then Kca, then PSK re-attachment (x.y.3) ------------------------------------------------
attach Ccert --rekey
kid=$(gen_id); generated+=("$(cat Ccert.ini.generated.key)")
ok_if "cert: rekey over the certificate handshake" eval '[ $rc = 0 ] && [ -n "$kid" ] && has "(cert" "$out"'
attach Ccert
ok_if "cert: then PSK re-attachment with the generated key" has "re-attachment (psk with generated key $kid) as Ccert" "$out"
ok_if "cert: the Registrar bound it as a PSK attachment of Ccert" \
  has "mechanism=psk registree=Ccert key_id=$kid" "$(last_attach Ccert)"

# --- token: a key only in the attachment that registers (a resumed session may not generate one), then PSK -------
attach Ctok --rekey
ok_if "token: rekey of a registered token Registree (only a resumed session left) is refused, saying why" \
  eval '[ $rc != 0 ] && has "full handshake" "$out" && [ ! -e Ctok.ini.generated.key ]'
ini Ctok2 Ctok2 token "[tls]" "version = 1.3"
attach Ctok2 --rekey
kid=$(gen_id); generated+=("$(cat Ctok2.ini.generated.key)")
ok_if "token: registration and rekey in one full handshake" \
  eval '[ $rc = 0 ] && [ -n "$kid" ] && ! has "session resumed" "$out"'
attach Ctok2
ok_if "token: then PSK re-attachment with the generated key" has "(psk with generated key $kid) as Ctok2" "$out"

# --- a generated key that cannot be used: fall back to the details file, say so ---------------------------------
ini Clost Clost psk "[tls]" "version = 1.3"
attach Clost
attach Clost --rekey
kid=$(gen_id); generated+=("$(cat Clost.ini.generated.key)")
# the device lost the key (as if it had crashed before storing it): the old key still works, the Registrar keeps
# it until the new one is used
printf 'not a key\n' >Clost.ini.generated.key
attach Clost
ok_if "damaged generated-key file: attach falls back to the details key" \
  eval '[ $rc = 0 ] && has "re-attachment (psk[,)].* as Clost" "$out"'
ok_if "damaged generated-key file: it says so" \
  eval 'has "note: generated key $kid cannot be used" "$out" && has "attached with the psk key" "$out"'
ok_if "damaged generated-key file: the Registrar saw the original key" \
  has "key_id=$(keyid_file Clost Clost.key) " "$(last_attach Clost)"
ok_if "damaged generated-key file: discarded from file and state" \
  eval '[ ! -e Clost.ini.generated.key ] && grep -q "^generated-key-id = $" Clost.ini.state'
# and the device can generate again (the Registrar replaces its pending key)
attach Clost --rekey
kid=$(gen_id); generated+=("$(cat Clost.ini.generated.key)")
rm Clost.ini.generated.key
attach Clost
ok_if "deleted generated-key file: falls back and says the file is missing" \
  eval '[ $rc = 0 ] && has "generated key $kid cannot be used (.*is missing)" "$out"'
# a generated key the Registrar refuses: the operator re-enrolled the original key meanwhile
attach Clost --rekey
kid=$(gen_id); generated+=("$(cat Clost.ini.generated.key)")
enrol_file Clost Clost.key
attach Clost
ok_if "a generated key the Registrar refuses: falls back to the details key, saying so" \
  eval '[ $rc = 0 ] && has "note: generated key $kid was refused by the Registrar" "$out" &&
        has "re-attachment (psk[,)].* as Clost" "$out"'

# --- an expired ticket: a full handshake, and the new ticket replaces it ----------------------------------------
stop_registrar
start_registrar --ticket-key-period 2
ini Cp12 Cp12 psk "[tls]" "version = 1.2"
attach Cp12; attach Cp12
ok_if "short ticket-key period: resumes while the key is fresh" has "session resumed" "$out"
rotations=$(grep -c 'ticket keys: current key created' "$LOG" || true)
clock_advance 5 # past two periods of the key that sealed the ticket
# the Registrar's writer rotates the key at its next tick: wait for that, not for time
for _ in $(seq 1 100); do
  [ "$(grep -c 'ticket keys: current key created' "$LOG" || true)" -gt "$rotations" ] && break; sleep 0.05
done
attach Cp12
ok_if "expired ticket key: a full handshake, no error" \
  eval '[ $rc = 0 ] && has "full handshake: the saved session was not resumed" "$out"'
attach Cp12
ok_if "expired ticket key: the new ticket resumes" has "session resumed" "$out"

# --- secrecy ------------------------------------------------------------------------------------------------------
"$M2M_BIN" enrol list --db "$DB" --all >list.out
leaks=0
for k in "${generated[@]}"; do
  [ ${#k} = 64 ] || { fail "a generated key file did not hold 32 octets as hex"; continue; }
  for f in all.out "$LOG" list.out *.state; do
    if grep -qi "$k" "$f"; then fail "a generated key appears in $f"; leaks=1; fi
  done
done
[ $leaks = 0 ] && pass "no generated key (${#generated[@]} of them) in any output, the Registrar log, enrol list or a state file"
ok_if "enrol list shows the generated keys as current" grep -q "Ck12 .*psk .*current" list.out
finish
