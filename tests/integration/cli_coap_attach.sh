#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Registree over CoAP/DTLS end to end: `m2mattach attach` and `request` with poa = coaps://... against the real
# Registrar's --coaps listener. psk (registration, re-attachment resuming the DTLS session, requests, x.y.8 key
# generation over DTLS and re-attachment with the generated key), cert (mutual, resumed), token (registration with
# tkns and the key generated in the same attachment); refused: a wrong key, a Registrar certificate without the
# CSE-ID the details file names, a root that did not issue it. Then through a UDP relay that drops and reorders
# datagrams (tests/tools/udp_relay.c), with short [coap] timers so the retransmissions come quickly: the
# attachment and a request still get through, no sleep involved.
# Skipped (77) when the Registrar has no --coaps. M2M_REGISTREE_BIN may name another binary for the Registree side.
set -euo pipefail
source "$M2M_SOURCE/tests/lib.sh"
RTEE=${M2M_REGISTREE_BIN:-$M2M_BIN}

serve_help=$("$M2M_BIN" registrar serve --help 2>&1 || true)
if [[ "$serve_help" != *--coaps* ]]; then
  echo "the Registrar has no --coaps listener here; skipped"
  exit 77
fi

cd "$WORK"
openssl_pki cam
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other-root.key -out other-root.crt \
  -days 2 -subj "/CN=Another Root" -addext "basicConstraints=critical,CA:TRUE" 2>/dev/null
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key \
  >/dev/null
# --coaps-max-sessions 1000000 over two workers: as many libcoap endpoints (sockets) as a worker may have, 128 each
start_registrar --coaps 127.0.0.1:0 --coaps-max-sessions 1000000
COAPS_PORT=${COAPS_PORT:-$(sed -n 's/^listening coaps port \([0-9]*\)$/\1/p' "$WORK/serve.out")}
[ -n "$COAPS_PORT" ] || { echo "no coaps port" >&2; exit 1; }

has() { case "$2" in *"$1"*) return 0 ;; *) return 1 ;; esac; }

# --threads 2 (start_registrar): two CoAPS workers, each with UDP sockets on the one port (one per 512 of its share
# of the sessions, at most 128: libcoap walks an endpoint's sessions at every new handshake), all the Registrar's
# (its /proc/PID/fd sockets, by inode, against /proc/net/udp's local port). The devices below spread over them.
udp_on_port() { # port pid: how many of pid's UDP sockets are bound to port
  local hex inodes
  hex=$(printf '%04X' "$1")
  inodes=$(find "/proc/$2/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | sed 's/socket:\[\(.*\)\]/\1/')
  awk -v p=":$hex" -v ins=" $(echo $inodes) " 'NR > 1 && substr($2, length($2) - 4) == p && index(ins, " " $10 " ")' \
    /proc/net/udp /proc/net/udp6 | wc -l
}
[ "$(udp_on_port "$COAPS_PORT" "$REG_PID")" = 256 ] && pass "two CoAPS workers, 128 sockets each, share the port (SO_REUSEPORT)" ||
  fail "UDP sockets of the Registrar on $COAPS_PORT: $(udp_on_port "$COAPS_PORT" "$REG_PID")"

# details NAME ID MECHANISM-LINES [EXTRA-SECTIONS] [PORT]: NAME.ini for Registree ID
details() {
  cat >"$1.ini" <<EOF
[registrar]
poa = coaps://127.0.0.1:${5:-$COAPS_PORT}
cse-id = /in-cse
root-cert = root.crt
[registree]
id = $2
app-id = Rcoap
[credentials]
$3
${4:-}
EOF
  chmod 600 "$1.ini"
}

# ---- psk ----
(umask 077; openssl rand -hex 16 >s1.key; openssl rand -hex 16 >wrong.key)
enrol_file Csensor1 s1.key
details s1 Csensor1 "mechanism = psk
key-file = s1.key"
out=$("$RTEE" attach --details s1.ini 2>&1) && has "registered as Csensor1 (DTLSv1.2" "$out" \
  && pass "psk: initial attachment over CoAP/DTLS" || fail "psk attach: $out"
out=$("$RTEE" attach --details s1.ini 2>&1) && has "session resumed" "$out" && has "no registration needed" "$out" \
  && pass "psk: re-attachment resumes the DTLS session (x.y.4)" || fail "psk re-attach: $out"
out=$("$RTEE" request --details s1.ini -X POST /~/in-cse/Csensor1 --ty 3 --data '{"m2m:cnt":{"rn":"temp"}}' 2>&1) \
  && has "RSC 2001 CREATED (CoAP 2.01)" "$out" && pass "request: CREATE <container> (Uri-Path ~, TY)" \
  || fail "request create: $out"
out=$("$RTEE" request --details s1.ini -X GET /cse-base/Csensor1/temp 2>&1) && has "RSC 2000 OK (CoAP 2.05)" "$out" \
  && has '"rn":	"temp"' "$out" && pass "request: RETRIEVE, CSE-relative" || fail "request get: $out"
out=$("$RTEE" request --details s1.ini -X GET /cse-base/Csensor1/temp --from Cmallory 2>&1 || true) \
  && has "RSC 4106" "$out" && has "(CoAP 4.03)" "$out" && pass "a spoofed From: 4106 in oneM2M-RSC, CoAP 4.03" \
  || fail "spoofed from: $out"
# block-wise both ways: a 3000-octet <contentInstance> goes up in Block1 blocks (libcoap's client), and both the
# CREATE's answer and a RETRIEVE come back in Block2 blocks the Registrar keeps by path (coap_block2.c)
big=$(head -c 3000 /dev/zero | tr '\0' 'x')
out=$("$RTEE" request --details s1.ini -X POST /~/in-cse/Csensor1/temp --ty 4 --data "{\"m2m:cin\":{\"rn\":\"big\",\"con\":\"$big\"}}" 2>&1) \
  && has "RSC 2001 CREATED" "$out" && has "$big\"" "$out" \
  && pass "block-wise: a 3000-octet CREATE, its whole answer fetched in Block2 blocks" || fail "big create: $out"
out=$("$RTEE" request --details s1.ini -X GET /~/in-cse/Csensor1/temp/big 2>&1) && has "RSC 2000 OK" "$out" \
  && has "\"$big\"" "$out" && pass "block-wise: its RETRIEVE whole" || fail "big retrieve: $out"
out=$("$RTEE" attach --details s1.ini --rekey 2>&1) && has "key generated: Kca_ID" "$out" \
  && pass "x.y.8 over DTLS (same exporter label)" || fail "rekey: $out"
out=$("$RTEE" attach --details s1.ini --no-resume 2>&1) && has "psk with generated key" "$out" \
  && pass "re-attachment with the generated key" || fail "generated key: $out"

# a wrong key: its key ID is no enrolled identity
details wrong Csensor1 "mechanism = psk
key-file = wrong.key"
rc=0; out=$("$RTEE" attach --details wrong.ini 2>&1) || rc=$?
[ $rc = 1 ] && has "unknown psk identity" "$out" && pass "a wrong key is refused" || fail "wrong key ($rc): $out"

# ---- [coap] content-format = cbor: bodies in CBOR both ways; the CLI still takes and prints JSON ----
(umask 077; openssl rand -hex 16 >cb.key)
enrol_file Ccbor1 cb.key
details cb Ccbor1 "mechanism = psk
key-file = cb.key" "[coap]
content-format = cbor"
out=$("$RTEE" attach --details cb.ini 2>&1) && has "registered as Ccbor1 (DTLSv1.2" "$out" \
  && pass "cbor: registration with a CBOR body, the CBOR answer read" || fail "cbor attach: $out"
out=$("$RTEE" request --details cb.ini -X POST /~/in-cse/Ccbor1 --ty 3 --data '{"m2m:cnt":{"rn":"c","mni":3}}' 2>&1) \
  && has "RSC 2001 CREATED (CoAP 2.01)" "$out" && has '"mni":	3' "$out" \
  && pass "cbor: CREATE <container>, its representation printed as JSON" || fail "cbor request: $out"

# ---- cert (x.y.6) ----
"$M2M_BIN" enrol cert --db "$DB" --registree-id Ccam1 --pubkey-hash "$("$M2M_BIN" pki pubkey-hash cam.crt)" >/dev/null
details cam Ccam1 "mechanism = cert
cert-file = cam.crt
key-file = cam.key"
out=$("$RTEE" attach --details cam.ini 2>&1) && has "registered as Ccam1 (DTLSv1.2 ECDHE-ECDSA" "$out" \
  && has "verified against root" "$out" && pass "cert: initial attachment" || fail "cert attach: $out"
out=$("$RTEE" attach --details cam.ini 2>&1) && has "session resumed" "$out" \
  && pass "cert: re-attachment resumes" || fail "cert re-attach: $out"
# the Registrar's certificate must carry the CSE-ID the details file names, and chain to its root
sed -i 's|^cse-id = /in-cse|cse-id = /other-cse|' cam.ini
rc=0; out=$("$RTEE" attach --details cam.ini 2>&1) || rc=$?
[ $rc = 1 ] && has "does not carry CSE-ID /other-cse" "$out" && pass "a Registrar without the CSE-ID is refused" \
  || fail "wrong CSE-ID ($rc): $out"
sed -i 's|^cse-id = /other-cse|cse-id = /in-cse|; s|^root-cert = root.crt|root-cert = other-root.crt|' cam.ini
rc=0; out=$("$RTEE" attach --details cam.ini --no-resume 2>&1) || rc=$?
[ $rc = 1 ] && has "does not verify to root-cert" "$out" && pass "a Registrar from another root is refused" \
  || fail "wrong root ($rc): $out"

# ---- token (x.y.7) ----
token=$("$M2M_BIN" enrol token --db "$DB" --registree-id Ctok1 | sed -n 's/^token //p')
details tok Ctok1 "mechanism = token
token = $token"
out=$("$RTEE" attach --details tok.ini --rekey 2>&1) && has "registered as Ctok1" "$out" \
  && has "key generated" "$out" && pass "token: registration with tkns, key generated in the same attachment" \
  || fail "token: $out"
out=$("$RTEE" attach --details tok.ini 2>&1) && has "psk with generated key" "$out" \
  && pass "token: back in with the generated key" || fail "token re-attach: $out"

# ---- a lossy link: a relay that drops and reorders datagrams ----
if [ -n "${M2M_UDP_RELAY:-}" ] && [ -x "$M2M_UDP_RELAY" ]; then
  relay() { # relay NAME ARGS...: a relay in front of the CoAPS port; RELAY_PORT, RELAY_PID
    : >"$WORK/$1.out" # exists before the background job opens it: the loop below reads it at once (lib.sh too)
    "$M2M_UDP_RELAY" --to "$COAPS_PORT" "${@:2}" >"$WORK/$1.out" 2>&1 &
    RELAY_PID=$!
    RELAY_PORT=
    for _ in $(seq 1 100); do
      RELAY_PORT=$(sed -n 's/^relay port \([0-9]*\)$/\1/p' "$WORK/$1.out")
      [ -n "$RELAY_PORT" ] && return 0
      sleep 0.02
    done
    return 1
  }
  (umask 077; openssl rand -hex 16 >lossy.key)
  enrol_file Clossy1 lossy.key
  # not every 3rd: libcoap sends a DTLS flight as one datagram per record, and the client's last flight has three
  # (ClientKeyExchange, ChangeCipherSpec, Finished): every retransmission would lose the same ClientKeyExchange
  relay lossy --drop-every 4 --reorder-every 5
  # the Registrar's own DTLS timer (OpenSSL's: 1 s, doubling) brings back what it lost: allow for it
  details lossy Clossy1 "mechanism = psk
key-file = lossy.key" "[coap]
handshake-timer = 0.1
ack-timeout = 0.2
max-retransmit = 8
[tls]
timeout = 30
deadline = 60" "$RELAY_PORT"
  # one invocation, one client port: handshake, registration and the request all through the relay
  out=$("$RTEE" request --details lossy.ini -X GET /~/in-cse/Clossy1 2>&1) && has "RSC 2000 OK" "$out" \
    && pass "through a relay that drops every 4th and reorders every 5th datagram" || fail "lossy: $out"
  kill "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null || true
  relay dup --dup
  sed -i "s|^poa = .*|poa = coaps://127.0.0.1:$RELAY_PORT|" lossy.ini
  out=$("$RTEE" request --details lossy.ini -X GET /~/in-cse/Clossy1 --raw 2>&1) && has "RSC 2000 OK" "$out" \
    && pass "through a relay that repeats every datagram (replays ignored)" || fail "dup: $out"
  kill "$RELAY_PID" 2>/dev/null; wait "$RELAY_PID" 2>/dev/null || true
else
  echo "no UDP relay (M2M_UDP_RELAY): the lossy-link part is not run"
fi

grep -q 'binding=coap' "$LOG" && pass "the Registrar logged the attachments with binding=coap" || fail "no binding=coap"

# IPv6: the workers' shared sockets take libcoap's place on ::1 too (dual-stack options as libcoap sets them)
if python3 -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))' 2>/dev/null; then
  stop_registrar
  start_registrar --coaps ::1:0 --coaps-max-sessions 8192
  (umask 077; openssl rand -hex 16 >v6.key)
  enrol_file Csix v6.key
  details v6 Csix "mechanism = psk
key-file = v6.key"
  sed -i "s|^poa = .*|poa = coaps://[::1]:$COAPS_PORT|" v6.ini
  out=$("$RTEE" attach --details v6.ini 2>&1) && has "registered as Csix (DTLSv1.2" "$out" &&
    [ "$(udp_on_port "$COAPS_PORT" "$REG_PID")" = 16 ] && pass "over IPv6 ([::1]), two workers, 4096 sessions each: eight sockets each" ||
    fail "IPv6: $out (sockets: $(udp_on_port "$COAPS_PORT" "$REG_PID"))"
else
  echo "no IPv6 loopback here: the IPv6 case is not run"
fi
finish
