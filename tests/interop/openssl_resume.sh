# SPDX-License-Identifier: Apache-2.0
# Interop: `openssl s_client -sess_out` then `-sess_in` resumes against the Registrar (TLS 1.2 and 1.3 tickets,
# PSK and client certificate), the binding comes back from the ticket, and the Registrar counts it as resumed.
source "$M2M_SOURCE/tests/lib.sh"
cd "$WORK"

openssl_pki dev
"$M2M_BIN" registrar init --db "$DB" --cse-id /in-cse --cse-name cse-base --cert registrar.crt --key registrar.key >/dev/null
key=$(openssl rand -hex 16); enrol Cpsk "$key"; kid=$(keyid Cpsk "$key")
"$M2M_BIN" enrol cert --db "$DB" --registree-id Ccert --pubkey-hash "$("$M2M_BIN" pki pubkey-hash dev.crt | grep -o '[0-9a-f]\{64\}')" >/dev/null
start_registrar --admin 0
ADMIN=$(sed -n 's/^listening admin port \([0-9]*\)$/\1/p' "$WORK/serve.out")

get() { printf 'GET /~/in-cse HTTP/1.1\r\nHost: x\r\nX-M2M-RI: r\r\nX-M2M-Origin: %s\r\nConnection: close\r\n\r\n' "$1"; }
# s_client stays until the response and (TLS 1.3) the ticket have arrived, then quits on EOF of its input.
session() { # id version sess-args... ; prints "Reused"/"New" and the RSC
  local id=$1 v=$2; shift 2
  (get "$id"; sleep 0.6) | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" "$v" "$@" -ign_eof 2>/dev/null |
    grep -E '^(Reused|New),|X-M2M-RSC' || true
}
metric() { curl -s "http://127.0.0.1:$ADMIN/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

for v in -tls1_2 -tls1_3; do
  rm -f p.sess c.sess
  psk=(-psk_identity "$kid" -psk "$key"); [ "$v" = -tls1_2 ] && psk+=(-cipher PSK)
  before=$(metric 'm2m_handshakes_total{mechanism="psk",kind="resumed"}')
  first=$(session Cpsk "$v" "${psk[@]}" -sess_out p.sess)
  again=$(session Cpsk "$v" "${psk[@]}" -sess_in p.sess)
  after=$(metric 'm2m_handshakes_total{mechanism="psk",kind="resumed"}')
  # s_client prints "Reused" for any TLS 1.3 PSK handshake, external PSK included: the Registrar's count tells.
  if grep -q '^Reused' <<<"$again" && grep -q 'X-M2M-RSC: 4004\|X-M2M-RSC: 2000\|X-M2M-RSC: 4106' <<<"$again" &&
     [ "$after" = $((before + 1)) ] && { [ "$v" = -tls1_3 ] || grep -q '^New' <<<"$first"; }; then
    pass "psk $v: resumed with -sess_in (Registrar counted $before -> $after resumed)"
  else fail "psk $v: first '$first' then '$again' (resumed $before -> $after)"; fi
  cert=(-cert dev.crt -key dev.key -CAfile root.crt)
  first=$(session Ccert "$v" "${cert[@]}" -sess_out c.sess)
  again=$(session Ccert "$v" "${cert[@]}" -sess_in c.sess)
  if grep -q '^New' <<<"$first" && grep -q '^Reused' <<<"$again"; then pass "cert $v: resumed with -sess_in"
  else fail "cert $v: first '$first' then '$again'"; fi
done
[ "$(metric 'm2m_handshakes_total{mechanism="psk",kind="resumed"}')" = 2 ] &&
  [ "$(metric 'm2m_handshakes_total{mechanism="cert",kind="resumed"}')" = 2 ] && pass "/metrics counted 2+2 resumed" ||
  fail "metrics: $(curl -s "http://127.0.0.1:$ADMIN/metrics" | grep handshakes_total)"
[ "$(grep -c 'handshake=resumed' "$LOG")" = 4 ] && pass "4 log lines say handshake=resumed" || fail "resumed log lines"

# a resumed session of a revoked Registree is refused, and so is its full handshake
"$M2M_BIN" enrol revoke --db "$DB" --registree-id Cpsk >/dev/null
out=$(session Cpsk -tls1_2 -psk_identity "$kid" -psk "$key" -cipher PSK -sess_in p.sess)
grep -q 'Reused\|X-M2M-RSC: 2000' <<<"$out" && fail "revoked Registree resumed: $out" || pass "revoked: no resumption"
finish
