# SPDX-License-Identifier: Apache-2.0
# Interop: the openssl CLI (an independent TLS-PSK client) registers AEs by sending raw HTTP over TLS 1.2 and 1.3.
source "$M2M_SOURCE/tests/lib.sh"
start_registrar

i=0
for version in -tls1_2 -tls1_3; do
  for cipher in PSK-AES128-CBC-SHA256 PSK-AES128-GCM-SHA256 ECDHE-PSK-AES128-CBC-SHA256; do
    [ "$version" = -tls1_3 ] && [ $i -gt 3 ] && break
    i=$((i + 1))
    id="Cossl$i"; key=$(openssl rand -hex 16)
    enrol "$id" "$key"
    opts=("$version"); [ "$version" = -tls1_2 ] && opts+=(-cipher "$cipher")
    out=$( (ae_create_request "$id" Rinterop; sleep 1) |
           timeout 15 openssl s_client -connect "127.0.0.1:$PORT" -psk_identity "$(keyid "$id" "$key")" -psk "$key" \
             "${opts[@]}" -quiet -ign_eof 2>"$WORK/ossl.err" || true)
    label="openssl s_client $version ${opts[*]:1}"
    if grep -q '^HTTP/1.1 201' <<<"$out" && grep -q '^X-M2M-RSC: 2001' <<<"$out" &&
       grep -q "\"aei\":\"$id\"" <<<"$out"; then pass "$label registered $id"; else fail "$label: $out $(cat "$WORK/ossl.err")"; fi
  done
done

# Negative: the same client with a wrong key, and with an unknown identity, gets no HTTP response at all.
id=Cosslneg; key=$(openssl rand -hex 16); enrol "$id" "$key"
for args in "-psk_identity $(keyid "$id" "$key") -psk $(openssl rand -hex 16)" \
            "-psk_identity 00000000000000000000000000000000 -psk $key"; do
  for version in -tls1_2 -tls1_3; do
    # shellcheck disable=SC2086
    out=$( (ae_create_request "$id" Rinterop; sleep 0.5) |
           timeout 15 openssl s_client -connect "127.0.0.1:$PORT" $args "$version" -quiet -ign_eof 2>&1 || true)
    if grep -q 'HTTP/1.1' <<<"$out"; then fail "refused key accepted ($version): $out"; else pass "refused ($version): $(grep -o 'alert [a-z ]*' <<<"$out" | head -1)"; fi
  done
done
[ "$(sqlite3 "$DB" "SELECT count(*) FROM resource WHERE reg_id = 'Cosslneg'")" = 0 ] || fail "refused client created a resource"
finish
