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
  if [ -n "${BSF_PID:-}" ]; then kill "$BSF_PID" 2>/dev/null || true; wait "$BSF_PID" 2>/dev/null || true; fi
  if [ "$FAILS" -ne 0 ] || [ "$rc" -ne 0 ]; then
    echo "--- registrar log ---" >&2; tail -n 30 "$LOG" >&2 2>/dev/null || true
    [ -f "$WORK/bsf.log" ] && { echo "--- bsf log ---" >&2; tail -n 30 "$WORK/bsf.log" >&2; }
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# The Registrar's clock (util/clock.h): clock_advance N moves it N seconds on, so tests never sleep for time to pass.
CLOCK_OFFSET=0
clock_advance() { CLOCK_OFFSET=$((CLOCK_OFFSET + $1)); printf '%s\n' "$CLOCK_OFFSET" >"$WORK/clock"; }

# start_registrar [extra serve args...]  (DB_INITIALISED=1: $DB is a store made already, e.g. a PostgreSQL one)
start_registrar() {
  [ -f "$DB" ] || [ -n "${DB_INITIALISED:-}" ] ||
    "$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base >/dev/null
  : >"$WORK/serve.out" # exists before the background job opens it: the loop below reads it at once
  # the test clock (a stat of its file at every reading) unless M2M_NO_TEST_CLOCK=1: benchmarks run without it
  local clock="M2M_INSECURE_TEST_CLOCK_FILE=$WORK/clock"
  [ -z "${M2M_NO_TEST_CLOCK:-}" ] || clock="M2M_NO_TEST_CLOCK=1"
  env "$clock" "$M2M_BIN" registrar serve --db "$DB" --https 127.0.0.1:0 --threads 2 "$@" >"$WORK/serve.out" 2>>"$LOG" &
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

# ---- GBA (x.y.5) ----
# gba_pki: in the current directory, with the openssl CLI: gba-root.crt/.key (a lab CA), bsf.crt/.key (the BSF's
# Zn certificate, subjectAltName IP 127.0.0.1) and naf.crt/.key (the Registrar's Zn client certificate, DNS
# $NAF_FQDN), both issued by gba-root.
NAF_FQDN=cse.m2m.localhost
gba_pki() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout gba-root.key -out gba-root.crt \
    -days 2 -subj "/CN=GBA Lab Root" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  local n san
  for n in bsf naf; do
    if [ $n = bsf ]; then san="IP:127.0.0.1"; else san="DNS:$NAF_FQDN"; fi
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $n.key -out $n.csr -subj "/CN=$n" 2>/dev/null
    printf 'subjectAltName=%s\n' "$san" >$n.ext
    openssl x509 -req -in $n.csr -CA gba-root.crt -CAkey gba-root.key -CAcreateserial -days 1 -extfile $n.ext \
      -out $n.crt 2>/dev/null
  done
}

BSF_PID=
BSF_DB=$WORK/bsf.db
BSF_LOG=$WORK/bsf.log
UB_PORT=
ZN_PORT=
# The 3GPP test USIM of Milenage set 1 (TS 35.208), as the independent UE (tests/tools/gba_ref.py) uses it.
GBA_IMPI=001010000000001@ims.mnc001.mcc001.3gppnetwork.org
GBA_IMPI2=001010000000002@ims.mnc001.mcc001.3gppnetwork.org
GBA_K=465b5ce8b199b49faa5f0a2ee238a6bc
GBA_OPC=cd63cb71954a9f4e48a5994e37a02baf

# start_bsf [extra serve args...]: a BSF on 127.0.0.1 (Ub plain HTTP, Zn mutual TLS) with two test subscribers
# (the same USIM keys under two IMPIs), on the same test clock as the Registrar (clock_advance moves both).
start_bsf() {
  (cd "$WORK" && [ -f gba-root.crt ] || gba_pki)
  if [ ! -f "$BSF_DB" ]; then
    "$M2M_BIN" bsf init --db "$BSF_DB" --domain bsf.m2m.localhost >/dev/null
    (umask 077; printf '%s\n' "$GBA_K" >"$WORK/usim.k"; printf '%s\n' "$GBA_OPC" >"$WORK/usim.opc")
    local i
    for i in "$GBA_IMPI" "$GBA_IMPI2"; do
      "$M2M_BIN" bsf subscriber add --db "$BSF_DB" --impi "$i" --k-file "$WORK/usim.k" --opc-file "$WORK/usim.opc" \
        >/dev/null
    done
  fi
  : >"$WORK/bsf.out"
  M2M_INSECURE_TEST_CLOCK_FILE="$WORK/clock" "$M2M_BIN" bsf serve --db "$BSF_DB" --ub 127.0.0.1:0 --zn 127.0.0.1:0 --zn-cert "$WORK/bsf.crt" \
    --zn-key "$WORK/bsf.key" --zn-client-root "$WORK/gba-root.crt" "$@" >"$WORK/bsf.out" 2>>"$BSF_LOG" &
  BSF_PID=$!
  for _ in $(seq 1 100); do
    UB_PORT=$(sed -n 's/^listening ub port \([0-9]*\)$/\1/p' "$WORK/bsf.out")
    ZN_PORT=$(sed -n 's/^listening zn port \([0-9]*\)$/\1/p' "$WORK/bsf.out")
    [ -n "$UB_PORT" ] && [ -n "$ZN_PORT" ] && return 0
    sleep 0.05
  done
  echo "bsf did not start" >&2; cat "$BSF_LOG" >&2; return 1
}

stop_bsf() {
  [ -n "$BSF_PID" ] && { kill -TERM "$BSF_PID"; wait "$BSF_PID" || true; BSF_PID=; }
}

# The serve options that make the Registrar the NAF of that BSF.
gba_serve_args() {
  echo --bsf "https://127.0.0.1:$ZN_PORT" --bsf-root "$WORK/gba-root.crt" --naf-cert "$WORK/naf.crt" \
    --naf-key "$WORK/naf.key" --naf-fqdn "$NAF_FQDN"
}

# gba_ue ARGS...: the independent UE (Python, tests/tools/gba_ue.py) against the BSF on $UB_PORT.
gba_ue() {
  python3 "$M2M_SOURCE/tests/tools/gba_ue.py" --bsf "http://127.0.0.1:$UB_PORT" --impi "$GBA_IMPI" \
    --k-file "$WORK/usim.k" --opc-file "$WORK/usim.opc" "$@"
}
