# SPDX-License-Identifier: Apache-2.0
# Interop: gnutls-cli (a TLS stack that shares no code with OpenSSL) registers AEs over TLS 1.2 and 1.3 PSK.
# TLS 1.2 ECDHE-PSK-AES128-CBC-SHA256 is covered by openssl_psk.sh only: Debian 12's gnutls-cli 3.7.9 crashes
# (SIGSEGV, client side, after the handshake) when it negotiates that suite.
source "$M2M_SOURCE/tests/lib.sh"
start_registrar

i=0
for prio in "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA256" \
            "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK" \
            "NORMAL:-VERS-ALL:+VERS-TLS1.3:+PSK:+ECDHE-PSK"; do
  i=$((i + 1))
  id="Cgnutls$i"; key=$(openssl rand -hex 16)
  enrol "$id" "$key"
  out=$( (ae_create_request "$id" Rinterop; sleep 1) |
         timeout 15 gnutls-cli --pskusername "$(keyid "$id" "$key")" --pskkey "$key" --priority "$prio" \
           -p "$PORT" 127.0.0.1 2>&1 || true)
  desc=$(grep -o 'Description: .*' <<<"$out" || true)
  if grep -q '^HTTP/1.1 201' <<<"$out" && grep -q '^X-M2M-RSC: 2001' <<<"$out"; then
    pass "gnutls-cli $desc registered $id"
  else
    fail "gnutls-cli $prio: $out"
  fi
done

# Negative: a wrong key fails the handshake.
id=Cgnutlsneg; key=$(openssl rand -hex 16); enrol "$id" "$key"
out=$( (ae_create_request "$id" Rinterop; sleep 0.5) |
       timeout 15 gnutls-cli --pskusername "$(keyid "$id" "$key")" --pskkey "$(openssl rand -hex 16)" \
         --priority "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+PSK" -p "$PORT" 127.0.0.1 2>&1 || true)
if grep -q 'HTTP/1.1' <<<"$out"; then fail "wrong key accepted: $out"; else pass "wrong key refused"; fi
finish
