# SPDX-License-Identifier: Apache-2.0
# Interop: curl (OpenSSL underneath, but its own TLS set-up, verification and HTTP) registers an AE over mutual TLS
# with an enrolled device key, verifying the Registrar against the Registrar root; an unenrolled key is refused.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

openssl_pki device stranger
hash=$(openssl x509 -in device.crt -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | cut -c1-64)

"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key >/dev/null
"$M2M_BIN" enrol cert --db "$DB" --registree-id Ccurl --pubkey-hash "$hash" >/dev/null
start_registrar

register() { # cert key -> response headers and body
  curl -sS -i --max-time 10 --cacert root.crt --cert "$1" --key "$2" \
    --resolve "in-cse.m2m.localhost:$PORT:127.0.0.1" "https://in-cse.m2m.localhost:$PORT/~/in-cse" \
    -H 'X-M2M-Origin: Ccurl' -H 'X-M2M-RI: curl-1' -H 'X-M2M-RVI: 3' -H 'Content-Type: application/json;ty=2' \
    -d '{"m2m:ae":{"api":"Rcurl","rr":false,"srv":["3"]}}' 2>&1 || true
}
out=$(register device.crt device.key)
if grep -q '^HTTP/1.1 201' <<<"$out" && grep -qi '^X-M2M-RSC: 2001' <<<"$out" && grep -q '"aei":"Ccurl"' <<<"$out"; then
  pass "curl --cert registered Ccurl over mutual TLS"
else
  fail "curl mutual TLS: $out"
fi
out=$(curl -sS --max-time 10 --tls-max 1.2 --ciphers ECDHE-ECDSA-AES128-SHA256 --cacert root.crt --cert device.crt \
  --key device.key --resolve "in-cse.m2m.localhost:$PORT:127.0.0.1" "https://in-cse.m2m.localhost:$PORT/~/in-cse/Ccurl" \
  -H 'X-M2M-Origin: Ccurl' -H 'X-M2M-RI: curl-2' -w '\n%{http_code}' 2>&1 || true)
grep -q '"aei":"Ccurl"' <<<"$out" && pass "curl TLS 1.2 ECDHE-ECDSA-AES128-SHA256 (oneM2M mandatory) retrieves it" ||
  fail "TLS 1.2 mandatory suite: $out"
# CBOR bodies (TS-0009: application/cbor, application/vnd.onem2m-res+cbor): a container in CBOR, answered in what
# Accept asks for; its CBOR answer decodes to the same representation curl gets in JSON
printf '\xa1\x67m2m:cnt\xa1\x62rn\x62cb' >cnt.cbor
out=$(curl -sS --max-time 10 --cacert root.crt --cert device.crt --key device.key \
  --resolve "in-cse.m2m.localhost:$PORT:127.0.0.1" "https://in-cse.m2m.localhost:$PORT/~/in-cse/Ccurl" \
  -H 'X-M2M-Origin: Ccurl' -H 'X-M2M-RI: curl-3' -H 'Content-Type: application/cbor;ty=3' \
  -H 'Accept: application/vnd.onem2m-res+cbor' --data-binary @cnt.cbor -o cnt.answer -D - 2>&1 || true)
if grep -qi '^X-M2M-RSC: 2001' <<<"$out" && grep -qi '^Content-Type: application/vnd.onem2m-res+cbor' <<<"$out" &&
   [ "$(head -c 9 cnt.answer | od -An -tx1 | tr -d ' \n')" = "a1676d326d3a636e74" ]; then
  pass "curl: a container in CBOR, answered in vnd.onem2m-res+cbor"
else fail "CBOR over HTTPS: $out"; fi
out=$(curl -sS -i --max-time 10 --cacert root.crt --cert device.crt --key device.key \
  --resolve "in-cse.m2m.localhost:$PORT:127.0.0.1" "https://in-cse.m2m.localhost:$PORT/~/in-cse/Ccurl/cb" \
  -H 'X-M2M-Origin: Ccurl' -H 'X-M2M-RI: curl-4' -H 'Accept: text/xml' 2>&1 || true)
grep -qi '^X-M2M-RSC: 5207' <<<"$out" && pass "curl: an Accept no format served matches: 5207" ||
  fail "Accept text/xml: $out"
out=$(register stranger.crt stranger.key)
grep -q '^HTTP/1.1' <<<"$out" && fail "unenrolled key got an HTTP answer: $out" || pass "unenrolled key refused: $(tail -1 <<<"$out")"
# curl refuses a Registrar whose name is not in its certificate (a check the Registree does by CSE-ID instead)
out=$(curl -sS --max-time 10 --cacert stranger.crt --cert device.crt --key device.key \
  --resolve "in-cse.m2m.localhost:$PORT:127.0.0.1" "https://in-cse.m2m.localhost:$PORT/~/in-cse/Ccurl" 2>&1 || true)
grep -q '^HTTP' <<<"$out" && fail "untrusted Registrar accepted by curl" || pass "Registrar not under the trusted root: curl refuses"
finish
