#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages m2mattach needs to build, test and benchmark; with an argument, also what one
# more target needs: `deb` for `make deb` (debhelper, lintian, devscripts), `docs` for `make docs` (plantuml),
# `fuzz` for `make fuzz` (clang and its libFuzzer runtime), `check` for `make check` (clang's scan-build),
# `coverage` for `make coverage` (lcov), `bench` for `make bench` and `make plots` (gnuplot). `make test` needs none
# of them; it runs cppcheck (check.static), so cppcheck is in the default list.
# Runs `apt-get update` once, and only when something is missing.
set -euo pipefail
# libpq-dev: the PostgreSQL store back-end; postgresql: the server binaries (initdb, pg_ctl) the tests start a
# throw-away cluster with (tests/pg/cluster.sh) -- the package's own cluster service is not needed.
pkgs=(build-essential cmake pkg-config libssl-dev openssl libevent-dev libsqlite3-dev sqlite3
      libcjson-dev libinih-dev libcmocka-dev libcoap3-dev gnutls-bin libcoap3-bin curl procps python3 python3-cryptography
      libpq-dev postgresql util-linux cppcheck)
case "${1:-}" in
  "") ;;
  deb) pkgs+=(debhelper lintian devscripts fakeroot dpkg-dev) ;;
  docs) pkgs+=(plantuml) ;;
  fuzz) pkgs+=(clang libclang-rt-14-dev) ;;
  check) pkgs+=(clang clang-tools) ;;
  coverage) pkgs+=(lcov) ;;
  bench) pkgs+=(gnuplot-nox) ;;
  *) echo "usage: $0 [deb|docs|fuzz|check|coverage|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root or install them yourself" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
