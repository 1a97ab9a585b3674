# SPDX-License-Identifier: Apache-2.0
# The man page and the bash completion know every option the commands' --help texts name, so that an option added
# to a command without its documentation fails here rather than surprising a user (issue 15).
source "$M2M_SOURCE/tests/lib.sh"
man=$M2M_SOURCE/dist/man/m2mattach.1
completion=$M2M_SOURCE/dist/bash-completion/m2mattach
helps=""
for c in registrar "registrar init" "registrar serve" enrol briefing attach request keyid pki "pki root" "pki registrar" \
         "pki device" "pki pubkey-hash" bsf demo; do
  # shellcheck disable=SC2086 # the command words split on purpose
  helps+=$("$M2M_BIN" $c --help 2>&1 || true)$'\n'
done
options=$(grep -oE -- '--[a-z][a-z0-9-]+' <<<"$helps" | sort -u)
[ "$(wc -l <<<"$options")" -gt 50 ] || fail "only $(wc -l <<<"$options") options found in the --help texts"
for o in $options; do
  [ "$o" = --help ] && continue
  grep -qF -- "${o//-/\\-}" "$man" || fail "m2mattach(1) does not mention $o"
  grep -qwF -- "$o" "$completion" || fail "the bash completion does not offer $o"
done
[ "$FAILS" -eq 0 ] && pass "m2mattach(1) and the completion name all $(wc -l <<<"$options") options of the --help texts"
finish
