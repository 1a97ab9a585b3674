# SPDX-License-Identifier: Apache-2.0
# `registrar serve` fails loudly when the certificate paths `registrar init --cert --key` recorded in the store
# cannot be read (issue 7): a non-zero exit and a message naming the path, never a start with TLS-PSK only.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
openssl_pki
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key \
  --chain root.crt >/dev/null
ok_if() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what (rc=$rc: $out)"; fi; }
# serve [ARGS...]: runs serve for at most 2 s; $rc is 124 when it started and ran, its exit status otherwise
serve() {
  rc=0; out=$(timeout 2 "$M2M_BIN" registrar serve --db "$DB" --https 127.0.0.1:0 --threads 1 "$@" 2>&1) || rc=$?
}
started_with_cert() { [ $rc = 124 ] && grep -q "listening on https://.* (TLS-PSK and certificates)" <<<"$out"; }
refused_naming() { # PATH: refused before listening, the message names the recorded file
  [ $rc = 1 ] && ! grep -q listening <<<"$out" && grep -qF "$1" <<<"$out" && grep -q "recorded in" <<<"$out"
}

serve
ok_if "with the recorded files in place, serve starts with the certificate" started_with_cert

for f in registrar.crt registrar.key root.crt; do
  mv "$f" "$f.away"
  serve
  ok_if "recorded $f missing: serve refuses to start, naming $WORK/$f" \
    eval 'refused_naming "$WORK/$f" && grep -q "No such file" <<<"$out"'
  mv "$f.away" "$f"
done

if [ "$(id -u)" != 0 ]; then # root reads any file: this check could not fail there
  chmod 000 registrar.key
  serve
  ok_if "recorded key unreadable: serve refuses to start, naming it" \
    eval 'refused_naming "$WORK/registrar.key" && grep -q "Permission denied" <<<"$out"'
  chmod 600 registrar.key
fi

# Paths given to serve win over recorded ones: the operator's way out, and no check of what they replace.
mv registrar.crt moved.crt
serve --cert moved.crt --key registrar.key
ok_if "--cert and --key on the command line replace the recorded (missing) ones" started_with_cert
mv moved.crt registrar.crt

# A recorded path too long to use is an error, not a truncated path.
long=$WORK/$(printf 'd%.0s' $(seq 1 1100))/registrar.crt
sqlite3 "$DB" "UPDATE meta SET v = '$long' WHERE k = 'tls_cert'"
serve
ok_if "a recorded path longer than serve can hold: refused with a clear message" \
  eval '[ $rc = 1 ] && grep -q "setting tls_cert is [0-9]* characters long" <<<"$out"'
sqlite3 "$DB" "UPDATE meta SET v = '$WORK/registrar.crt' WHERE k = 'tls_cert'"

serve
ok_if "files back in place: serve starts with the certificate again" started_with_cert
finish
