# SPDX-License-Identifier: Apache-2.0
# Shared helpers for the shell tests: a real Registrar on 127.0.0.1 with a store in a temporary directory.
# Usage: source "$M2M_SOURCE/tests/lib.sh"; start_registrar; ...; (cleanup runs on exit)
set -euo pipefail

M2M_BIN=${M2M_BIN:-m2mattach}
WORK=$(mktemp -d /tmp/m2m-sh-XXXXXX)
DB=$WORK/registrar.db
LOG=$WORK/registrar.log
REG_PID=
PORT=
COAPS_PORT=
FAILS=0

cleanup() {
  local rc=$?
  if [ -n "$REG_PID" ]; then kill "$REG_PID" 2>/dev/null || true; wait "$REG_PID" 2>/dev/null || true; fi
  if [ "$FAILS" -ne 0 ] || [ "$rc" -ne 0 ]; then
    echo "--- registrar log ---" >&2; tail -n 30 "$LOG" >&2 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# The Registrar's clock (util/clock.h): clock_advance N moves it N seconds on, so tests never sleep for time to pass.
CLOCK_OFFSET=0
clock_advance() { CLOCK_OFFSET=$((CLOCK_OFFSET + $1)); printf '%s\n' "$CLOCK_OFFSET" >"$WORK/clock"; }

# start_registrar [extra serve args...]
start_registrar() {
  [ -f "$DB" ] || "$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null
  : >"$WORK/serve.out" # exists before the background job opens it: the loop below reads it at once
  M2M_INSECURE_TEST_CLOCK_FILE="$WORK/clock" \
    "$M2M_BIN" registrar serve --db "$DB" --https 127.0.0.1:0 --threads 2 "$@" >"$WORK/serve.out" 2>>"$LOG" &
  REG_PID=$!
  for _ in $(seq 1 100); do
    PORT=$(sed -n 's/^listening https port \([0-9]*\)$/\1/p' "$WORK/serve.out")
    # with --coaps the next line (printed and flushed together) names the CoAPS port
    COAPS_PORT=$(sed -n 's/^listening coaps port \([0-9]*\)$/\1/p' "$WORK/serve.out")
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  echo "registrar did not start" >&2; return 1
}

stop_registrar() {
  kill -TERM "$REG_PID"; wait "$REG_PID" || true; REG_PID=
}

# Keys never go into an argv (ps shows it to everyone): from a file, or through a pipe from printf (a builtin).
# key_kind ID: kcc for a CSE-ID (/name), else kca
key_kind() { if [ "${1:0:1}" = / ]; then echo kcc; else echo kca; fi; }
# enrol ID HEXKEY / enrol_file ID KEYFILE: enrols a PSK Registree
enrol() { printf '%s\n' "$2" | "$M2M_BIN" enrol psk --db "$DB" --registree-id "$1" --key - >/dev/null; }
enrol_file() { "$M2M_BIN" enrol psk --db "$DB" --registree-id "$1" --key-file "$2" >/dev/null; }
# keyid ID HEXKEY / keyid_file ID KEYFILE: the key ID (psk_identity) of the key for that Registree ID
keyid() { printf '%s\n' "$2" | "$M2M_BIN" keyid "--$(key_kind "$1")" -; }
keyid_file() { "$M2M_BIN" keyid "--$(key_kind "$1")-file" "$2"; }

# ae_create_request ORIGIN APP-ID: a complete registration request as raw HTTP/1.1 bytes.
ae_create_request() {
  local body="{\"m2m:ae\":{\"api\":\"$2\",\"rr\":false,\"srv\":[\"3\"]}}"
  printf 'POST /~/in-cse HTTP/1.1\r\nHost: 127.0.0.1\r\nX-M2M-Origin: %s\r\nX-M2M-RI: req-1\r\nX-M2M-RVI: 3\r\nContent-Type: application/json;ty=2\r\nAccept: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "${#body}" "$body"
}

# openssl_pki: with the openssl CLI (a tool independent of ours), in the current directory: root.crt/.key (a CA)
# and registrar.crt/.key (DNS in-cse.m2m.localhost, URI /in-cse, serverAuth) issued by it; then one self-signed
# P-256 device certificate NAME.crt/.key per further argument.
openssl_pki() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.crt -days 2 \
    -subj "/CN=Registrar Root" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout registrar.key -out registrar.csr \
    -subj "/CN=in-cse.m2m.localhost" 2>/dev/null
  printf 'subjectAltName=DNS:in-cse.m2m.localhost,URI:/in-cse\nextendedKeyUsage=serverAuth\n' >registrar.ext
  openssl x509 -req -in registrar.csr -CA root.crt -CAkey root.key -CAcreateserial -days 1 -extfile registrar.ext \
    -out registrar.crt 2>/dev/null
  local d
  for d in "$@"; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d.key" -out "$d.crt" -days 1 \
      -subj "/CN=$d" 2>/dev/null
  done
}

finish() {
  if [ "$FAILS" -ne 0 ]; then echo "$FAILS check(s) failed"; exit 1; fi
  echo "all checks passed"
}
