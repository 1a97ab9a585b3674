# SPDX-License-Identifier: Apache-2.0
# The version is written once (project(VERSION) in CMakeLists.txt): m2mattach --version prints it, the shared
# libraries carry it in their file names and their major version in the SONAME, and debian/changelog and the newest
# release of CHANGELOG.md name the same one (issue 15).
source "$M2M_SOURCE/tests/lib.sh"
: "${M2M_BUILD:?M2M_BUILD: the build tree}"
ok_if() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

project=$(sed -n 's/^project(m2mattach VERSION \([0-9.]*\).*/\1/p' "$M2M_SOURCE/CMakeLists.txt")
[ -n "$project" ] || { fail "no VERSION in project() of CMakeLists.txt"; finish; }
out=$("$M2M_BIN" --version)
ok_if "m2mattach --version prints 'm2mattach $project' ($out)" [ "$out" = "m2mattach $project" ]
ok_if "m2mattach version says the same" [ "$("$M2M_BIN" version)" = "$out" ]
ok_if "--version needs no other argument and exits 0" "$M2M_BIN" --version
grep -q "^#define M2M_VERSION \"$project\"$" "$M2M_BUILD/include/m2mattach/version.h" &&
  pass "m2mattach/version.h says $project" || fail "version.h does not say $project"
for l in registree registrar; do
  ok_if "libm2mattach-$l.so.$project exists" [ -e "$M2M_BUILD/libm2mattach-$l.so.$project" ]
  ok_if "libm2mattach-$l SONAME is .so.${project%%.*}" \
    eval 'readelf -d "$M2M_BUILD/libm2mattach-$l.so.$project" | grep -q "SONAME.*\[libm2mattach-$l.so.${project%%.*}\]"'
  ok_if "m2mattach-$l.pc says Version: $project" grep -qx "Version: $project" "$M2M_BUILD/m2mattach-$l.pc"
done
deb=$(sed -n '1s/^m2mattach (\([^)]*\)).*/\1/p' "$M2M_SOURCE/debian/changelog")
ok_if "debian/changelog's newest entry is $project (it says ${deb%-*})" [ "${deb%-*}" = "$project" ]
newest=$(grep -m1 -oE '^## \[[0-9]+\.[0-9]+\.[0-9]+\]' "$M2M_SOURCE/CHANGELOG.md" | tr -d '#[] ')
ok_if "CHANGELOG.md's newest release is $project (it says $newest)" [ "$newest" = "$project" ]
finish
