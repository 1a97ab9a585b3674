# SPDX-License-Identifier: Apache-2.0
# `make install` as a device maker meets it (issue 15): install the build into a DESTDIR, then build a device
# program against the installed libm2mattach-registree with nothing but pkg-config (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR pointing into the DESTDIR). It must link without libevent or SQLite, shared and static,
# and run. The Registrar library, the binary, the man pages, the completion and the unit are checked too.
source "$M2M_SOURCE/tests/lib.sh"
: "${M2M_BUILD:?M2M_BUILD: the build tree to install}"
cd "$WORK"
DEST=$WORK/dest
ok_if() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

DESTDIR=$DEST cmake --install "$M2M_BUILD" >install.log 2>&1 || { cat install.log >&2; fail "cmake --install"; finish; }
PREFIX=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$M2M_BUILD/CMakeCache.txt")
pc=$(find "$DEST" -name m2mattach-registree.pc)
LIBDIR=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH=$LIBDIR/pkgconfig PKG_CONFIG_SYSROOT_DIR=$DEST
export LD_LIBRARY_PATH=$LIBDIR
VERSION=$("$M2M_BIN" --version | cut -d' ' -f2)
CC="cc ${M2M_CC_FLAGS:-}" # the sanitizers' runtime when the libraries were built with it (make test-asan)

for f in bin/m2mattach include/m2mattach/registree.h include/m2mattach/registrar.h include/m2mattach/keyid.h \
         include/m2mattach/error.h include/m2mattach/version.h share/man/man1/m2mattach.1 \
         share/man/man5/m2mattach-details.5 share/bash-completion/completions/m2mattach \
         lib/systemd/system/m2mattach-registrar.service lib/sysusers.d/m2mattach.conf; do
  [ -e "$DEST$PREFIX/$f" ] || fail "not installed: $PREFIX/$f"
done
for l in registree registrar; do
  for f in "lib$l.a" "lib$l.so" "lib$l.so.0" "lib$l.so.$VERSION"; do
    f=${f/lib$l/libm2mattach-$l}
    [ -e "$LIBDIR/$f" ] || fail "not installed: $f"
  done
done
pass "installed: binary, libraries (shared and static), headers, pkg-config files, man pages, completion, unit"
ok_if "the installed binary says version $VERSION" [ "$("$DEST$PREFIX/bin/m2mattach" --version)" = "m2mattach $VERSION" ]
ok_if "pkg-config knows m2mattach-registree $VERSION" [ "$(pkg-config --modversion m2mattach-registree)" = "$VERSION" ]

# The device: compiled and linked with pkg-config's flags only.
cflags=$(pkg-config --cflags m2mattach-registree)
libs=$(pkg-config --libs m2mattach-registree)
ok_if "pkg-config points into the DESTDIR ($cflags $libs)" grep -q -- "-I$DEST" <<<"$cflags"
$CC -std=c11 -Wall -Wextra -Werror -o device "$M2M_SOURCE/tests/install/device.c" $cflags $libs 2>cc.err ||
  { cat cc.err >&2; fail "the device program does not build against the installed library"; }

needed=$(readelf -d device | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
ok_if "device NEEDs libm2mattach-registree.so.0 ($needed)" grep -q 'libm2mattach-registree\.so\.0' <<<"$needed"
libneeded=$(readelf -d "$LIBDIR/libm2mattach-registree.so.0" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "libm2mattach-registree.so.0 NEEDs: $libneeded"
ok_if "libm2mattach-registree NEEDs neither libevent nor SQLite" eval '! grep -Eq "libevent|sqlite" <<<"$libneeded"'
ok_if "its SONAME is libm2mattach-registree.so.0" \
  eval 'readelf -d "$LIBDIR/libm2mattach-registree.so.0" | grep -q "SONAME.*\[libm2mattach-registree.so.0\]"'
loaded=$(ldd ./device)
ok_if "at run time the device loads the installed library, and no libevent or SQLite" \
  eval 'grep -q "$LIBDIR/libm2mattach-registree.so.0" <<<"$loaded" && ! grep -Eq "libevent|sqlite" <<<"$loaded"'

printf '%s\n' 000102030405060708090a0b0c0d0e0f >device.key
chmod 600 device.key
cat >device.ini <<'INI'
[registrar]
poa = https://127.0.0.1:8443
cse-id = /in-cse
[registree]
id = Cdevice
app-id = Rdevice
[credentials]
mechanism = psk
key-file = device.key
INI
out=$(./device device.ini 2>&1) || fail "the device program failed: $out"
# seed a.b, vector Kca-128 (tests/vectors/key-id.txt)
ok_if "the device computes Kca_ID through the public API" grep -q '^Kca_ID 4400daace2d2fde429e97c895ef9e17f$' <<<"$out"
ok_if "the device loads a details file" grep -q '^registrar /in-cse$' <<<"$out"
ok_if "library and headers agree on the version" grep -q "^version $VERSION$" <<<"$out"

# Static: the archive and the private dependencies pkg-config --static names; no libm2mattach at run time.
slibs=$(pkg-config --static --libs m2mattach-registree | sed 's/-lm2mattach-registree/-l:libm2mattach-registree.a/')
$CC -std=c11 -o device-static "$M2M_SOURCE/tests/install/device.c" $cflags $slibs 2>cc.err ||
  { cat cc.err >&2; fail "the device program does not link statically"; }
ok_if "the static device needs no libm2mattach, libevent or SQLite at run time and runs" \
  eval '! readelf -d device-static | grep -Eq "libm2mattach|libevent|sqlite" && ./device-static device.ini | grep -q "^Kca_ID 4400da"'

# Only the API leaves the shared objects: what they export is what the headers declare.
for l in registree registrar; do
  # (coap_option_filter_get, coap_io_prepare_epoll: libcoap's, overridden by registrar/coap_options.c and
  # registrar/coap_sweep.c on purpose)
  exported=$(nm -D --defined-only "$LIBDIR/libm2mattach-$l.so.0" | awk '$2 == "T" {print $3}' | sed 's/@.*//' |
    grep -vx -e coap_option_filter_get -e coap_io_prepare_epoll | sort)
  declared=$(cat "$DEST$PREFIX"/include/m2mattach/{error,keyid,version,$l}.h |
    grep -oE '\bm2m_[a-z0-9_]+\(' | tr -d '(' | sort -u)
  ok_if "libm2mattach-$l exports exactly the functions its headers declare" [ "$exported" = "$declared" ] ||
    diff <(echo "$exported") <(echo "$declared") >&2 || true
  nm -D --defined-only "$LIBDIR/libm2mattach-$l.so.0" | awk '$2 == "T"' | grep -vq "@@M2MATTACH_${l^^}_" &&
    fail "libm2mattach-$l: a symbol without the version node"
done

# The Registrar library from the same installation.
$CC -std=c11 -Wall -Werror -o operator "$M2M_SOURCE/tests/install/operator.c" \
  $(pkg-config --cflags --libs m2mattach-registrar) 2>cc.err || { cat cc.err >&2; fail "operator does not build"; }
./operator >operator.out 2>&1 || true
ok_if "a program on libm2mattach-registrar builds and runs" grep -q "^refused: invalid argument: " operator.out
ok_if "it starts HTTPS and CoAPS through the shared library (libcoap finds its option filter override)" \
  grep -qE "^serving https port [0-9]+ coaps port [0-9]+$" operator.out || cat operator.out >&2

# The documents: man renders both pages without a warning; the completion is valid bash and completes.
if command -v man >/dev/null; then
  for p in man1/m2mattach.1 man5/m2mattach-details.5; do
    w=$(MANWIDTH=100 man --warnings -l "$DEST$PREFIX/share/man/$p" 2>&1 >/dev/null)
    ok_if "man $p renders without warnings" [ -z "$w" ] || echo "$w" >&2
  done
  ok_if "m2mattach(1) has a section for every command" \
    eval 'for c in keyid "registrar init" "registrar serve" "enrol psk" attach request pki bsf demo; do
            MANWIDTH=200 man -l "$DEST$PREFIX/share/man/man1/m2mattach.1" 2>/dev/null | grep -q "^   m2mattach $c" || exit 1; done'
fi
completion=$DEST$PREFIX/share/bash-completion/completions/m2mattach
# bash-completion's helpers, reduced to what the function needs
complete_words() {
  bash -c '_init_completion() { cur=${COMP_WORDS[COMP_CWORD]}; prev=${COMP_WORDS[COMP_CWORD-1]};
             words=("${COMP_WORDS[@]}"); cword=$COMP_CWORD; }
           _filedir() { COMPREPLY=(FILE); }
           source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _m2mattach; echo "${COMPREPLY[*]}"' \
    "$completion" "$@"
}
ok_if "completion: commands" eval '[ "$(complete_words m2mattach re)" = "registrar request" ]'
ok_if "completion: registrar serve options" eval 'complete_words m2mattach registrar serve --ce | grep -q -- "--cert"'
ok_if "completion: a file for --details" eval '[ "$(complete_words m2mattach attach --details "")" = FILE ]'
finish
