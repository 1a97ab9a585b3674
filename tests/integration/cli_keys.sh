# SPDX-License-Identifier: Apache-2.0
# Keys never on the command line (issue 7): `keyid` and `enrol psk` read a key from a file or one line of standard
# input and give the known-answer key IDs; a literal key still works but warns exactly once; a bad key file is
# named in the error and none of its characters are shown; keys appear neither in `enrol list` nor in the
# Registrar's log.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"
umask 077
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null

# The known-answer vectors, from the same place the unit tests take them.
VECTORS=$M2M_SOURCE/../shared/vectors/key-id.txt
[ -f "$VECTORS" ] || VECTORS=$M2M_SOURCE/tests/vectors/key-id.txt
vector() { # SECTION FIELD -> value
  awk -v s="[$1]" -v f="$2" '$0 == s { on = 1; next } /^\[/ { on = 0 } on && $1 == f && $2 == "=" { print $3 }' "$VECTORS"
}
WARNING='warning: a key on the command line is visible to other users in ps and shell history'
# run ARGS...: runs m2mattach; $out = stdout, $err = stderr, $rc = status (stdin as given to run)
run() { rc=0; out=$("$M2M_BIN" "$@" 2>stderr.out) || rc=$?; err=$(cat stderr.out); }
ok_if() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what (rc=$rc, stdout: $out, stderr: $err)"; fi; }
warnings() { grep -c -- "$WARNING" stderr.out || true; }

# --- keyid: file, standard input, literal -----------------------------------------------------------------------
checked=0
for section in Kcc-128 Kcc-256 Kca-128 Kca-256; do
  kind=${section%%-*}; opt=$(tr 'A-Z' 'a-z' <<<"$kind")
  key=$(vector "$section" "$kind"); want=$(vector "$section" "${kind}_ID")
  [ -n "$key" ] && [ ${#want} = 32 ] || { fail "vector $section not found in $VECTORS"; continue; }
  printf '%s\n' "$key" >"$section.key"
  run keyid "--$opt-file" "$section.key"
  ok_if "keyid --$opt-file gives the $section known answer" eval '[ $rc = 0 ] && [ "$out" = "$want" ] && [ -z "$err" ]'
  rc=0; out=$(printf '%s\n' "$key" | "$M2M_BIN" keyid "--$opt" - 2>stderr.out) || rc=$?; err=$(cat stderr.out)
  ok_if "keyid --$opt - (standard input) gives the $section known answer" \
    eval '[ $rc = 0 ] && [ "$out" = "$want" ] && [ -z "$err" ]'
  run keyid "--$opt" "$key"
  ok_if "keyid --$opt HEX still gives the $section answer, with exactly one warning on stderr" \
    eval '[ $rc = 0 ] && [ "$out" = "$want" ] && [ "$(warnings)" = 1 ] && [ "$(wc -l <stderr.out)" = 1 ] &&
          grep -q -- "use --$opt-file FILE or --$opt -" stderr.out && ! grep -q warning <<<"$out"'
  checked=$((checked + 1))
done
ok_if "all four key-ID vectors checked" eval '[ $checked = 4 ]'

key=$(vector Kca-256 Kca); want=$(vector Kca-256 Kca_ID)
# white space around the key: CRLF, spaces, tabs, no final newline
printf ' \t%s \r\n\n' "$key" >spaced.key
run keyid --kca-file spaced.key
ok_if "keyid --kca-file: white space around the key is ignored" eval '[ $rc = 0 ] && [ "$out" = "$want" ]'
rc=0; out=$(printf '%s' "$key" | "$M2M_BIN" keyid --kca - 2>stderr.out) || rc=$?; err=$(cat stderr.out)
ok_if "keyid --kca -: a line without a final newline" eval '[ $rc = 0 ] && [ "$out" = "$want" ]'
rc=0; out=$(printf '%s\nsomething else\n' "$key" | "$M2M_BIN" keyid --kca - 2>stderr.out) || rc=$?
ok_if "keyid --kca -: only the first line is the key" eval '[ $rc = 0 ] && [ "$out" = "$want" ]'
run keyid --kca-file Kca-256.key --kcc-file Kcc-256.key
ok_if "keyid: two keys at once is a usage error" eval '[ $rc = 2 ] && [ -z "$out" ]'
run keyid --help
ok_if "keyid --help documents --kca-file and --kca -" \
  eval '[ $rc = 0 ] && grep -q -- "--kcc-file FILE | --kca-file FILE | --kcc - | --kca -" <<<"$out"'

# --- errors name the file and show nothing of the key ------------------------------------------------------------
# A key of distinctive characters, broken in different ways. The message, with the file's path taken out, must hold
# none of the letters or digit runs of the key.
secret=0123456789abcdef0123456789ABCDEF
printf '%s\n' "${secret:0:20}QJ${secret:22}" >nonhex.key   # two non-hex characters at 21 and 22
printf '%s\n' "${secret:0:31}" >odd.key
printf '%s%s\n' "$secret" "$secret$secret" >long.key             # 48 octets: fine for keyid ...
printf '%s\n' "$secret$secret$secret$secret$secret" >toolong.key # 80 octets: more than any key
: >empty.key
printf ' \n\t\n' >blank.key
printf '%s\0%s\n' "${secret:0:16}" "${secret:16}" >nul.key
leaks() { # MESSAGE PATH: 0 (true) when the message shows any part of the key
  local m=${1//$2/}
  grep -q -e 'Q' -e 'J' -e 'ABCDEF' -e 'abcdef' -e '0123' -e '4567' -e '89' <<<"$m"
}
for f in nonhex odd toolong empty blank nul missing; do
  path=$WORK/$f.key
  run keyid --kca-file "$path"
  ok_if "keyid --kca-file $f.key: refused, the error names the file and shows no key characters" \
    eval '[ $rc = 1 ] && [ -z "$out" ] && grep -qF -- "--kca-file $path" <<<"$err" && ! leaks "$err" "$path"'
  run enrol psk --db "$DB" --registree-id Cbad --key-file "$path"
  ok_if "enrol psk --key-file $f.key: refused, the error names the file and shows no key characters" \
    eval '[ $rc = 1 ] && grep -qF -- "--key-file $path" <<<"$err" && ! leaks "$err" "$path"'
done
run keyid --kca-file "$WORK/nonhex.key"
ok_if "a non-hex key: the error gives the position of the first bad character" \
  eval 'grep -q "character 21 is not hex" <<<"$err"'
ok_if "a 48-octet key file is fine for keyid" eval '[ "$("$M2M_BIN" keyid --kca-file long.key 2>&1 | wc -c)" = 33 ]'
rc=0; out=$(printf '%s\n' "${secret:0:20}QJ${secret:22}" | "$M2M_BIN" keyid --kcc - 2>stderr.out) || rc=$?
err=$(cat stderr.out)
ok_if "keyid --kcc - with a non-hex line: refused, no key characters shown" \
  eval '[ $rc = 1 ] && grep -q "standard input" <<<"$err" && ! leaks "$err" "$WORK"'
rc=0; out=$("$M2M_BIN" keyid --kcc - </dev/null 2>stderr.out) || rc=$?; err=$(cat stderr.out)
ok_if "keyid --kcc - with nothing on standard input: refused" eval '[ $rc = 1 ] && grep -q "standard input" <<<"$err"'
run keyid --kca "${secret:0:20}QJ${secret:22}"
ok_if "keyid --kca with a literal non-hex key: refused after the one warning, nothing of the key shown" \
  eval '[ $rc = 1 ] && [ "$(warnings)" = 1 ] && ! leaks "$err" "$WORK"'

# --- enrol psk: file, standard input, literal; and what the Registrar shows ---------------------------------------
(umask 077; openssl rand -hex 32 >file.key; openssl rand -hex 32 >stdin.key; openssl rand -hex 16 >literal.key)
run enrol psk --db "$DB" --registree-id Cfile --key-file file.key
ok_if "enrol psk --key-file: enrolled with the key ID keyid computes, no warning" \
  eval '[ $rc = 0 ] && [ "$out" = "enrolled Cfile (psk, Kca_ID $(keyid_file Cfile file.key))" ] && [ -z "$err" ]'
rc=0; out=$("$M2M_BIN" enrol psk --db "$DB" --registree-id /mn-stdin --key - <stdin.key 2>stderr.out) || rc=$?
err=$(cat stderr.out)
ok_if "enrol psk --key - (standard input): enrolled with the Kcc_ID, no warning" \
  eval '[ $rc = 0 ] && [ "$out" = "enrolled /mn-stdin (psk, Kcc_ID $(keyid_file /mn-stdin stdin.key))" ] && [ -z "$err" ]'
run enrol psk --db "$DB" --registree-id Cliteral --key "$(cat literal.key)"
ok_if "enrol psk --key HEX still enrols, with exactly one warning naming --key-file FILE or --key -" \
  eval '[ $rc = 0 ] && [ "$out" = "enrolled Cliteral (psk, Kca_ID $(keyid_file Cliteral literal.key))" ] &&
        [ "$(warnings)" = 1 ] && [ "$(wc -l <stderr.out)" = 1 ] &&
        grep -qF -- "$WARNING; use --key-file FILE or --key -" stderr.out'
run enrol psk --db "$DB" --registree-id Ctwo --key-file file.key --key -
ok_if "enrol psk: two key sources is a usage error" eval '[ $rc = 2 ]'
run enrol psk --db "$DB" --registree-id Cnone
ok_if "enrol psk: no key source is a usage error that names the options" \
  eval '[ $rc = 2 ] && grep -q -- "--key-file FILE, --key -" <<<"$err"'
run enrol --help
ok_if "enrol --help documents --key-file FILE | --key -" eval 'grep -q -- "--key-file FILE | --key -" <<<"$out"'

# The enrolled keys work (a real attachment with each), and then appear nowhere the Registrar or the operator looks.
start_registrar
for id in Cfile Cliteral; do
  printf '[registrar]\npoa = https://127.0.0.1:%s\ncse-id = /in-cse\n[registree]\nid = %s\napp-id = Rkeys\n[credentials]\nmechanism = psk\nkey-file = %s.key\n' \
    "$PORT" "$id" "${id#C}" >"$id.ini"
  rc=0; out=$("$M2M_BIN" attach --details "$id.ini" 2>&1) || rc=$?
  ok_if "$id attaches with the key enrolled from ${id#C} input" eval '[ $rc = 0 ] && grep -q "registered as $id" <<<"$out"'
done
stop_registrar
"$M2M_BIN" enrol list --db "$DB" --all >list.out
ok_if "enrol list shows the enrolments, and none from a refused key file" \
  eval 'grep -q "^Cfile " list.out && grep -q "^/mn-stdin " list.out && ! grep -q "^Cbad " list.out'
for f in file stdin literal; do
  k=$(cat $f.key)
  ok_if "the $f key is not in enrol list, the Registrar log or any command output" \
    eval '! grep -qi -- "$k" list.out && ! grep -qi -- "$k" "$LOG" && ! grep -qi -- "$k" "$WORK/serve.out"'
done
finish
