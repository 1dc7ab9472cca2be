#!/usr/bin/env bash
# Build the pinned dependency set (toolchain/pins) statically for one target.
#
#   toolchain/build-deps.sh TARGET       TARGET: host | aarch64-linux-gnu | arm-linux-gnueabihf
#
# Sources come from Debian's source packages (`apt-get source`, through the
# deb-src entries toolchain/deps.sh adds), are checked against the SHA-256
# recorded in toolchain/pins, and are cached in build/deps/src. The result goes
# to build/deps/TARGET/{include,lib}, with SOURCES (package, version, tarball
# SHA-256) and bundled.h (the same, for `posagent --version --verbose`).
# Idempotent: a set already built from the same pins and this script is kept.
# Needs no root: toolchain/deps.sh installs the compilers and tools first.
set -euo pipefail

target=${1:?usage: build-deps.sh TARGET}
top=$(cd "$(dirname "$0")/.." && pwd)
pins="$top/toolchain/pins"
srcdir="$top/build/deps/src"
prefix="$top/build/deps/$target"
work="$top/build/deps/$target-work"
stamp="$prefix/.ok"

die() { echo "deps[$target]: $*" >&2; exit 1; }
say() { echo "deps[$target]: $*"; }

case "$target" in
host)                 triple=""; cc=gcc; ar=ar; ranlib=ranlib ;;
aarch64-linux-gnu|arm-linux-gnueabihf)
	triple=$target; cc=$target-gcc; ar=$target-ar; ranlib=$target-ranlib ;;
*) die "unknown TARGET (host, aarch64-linux-gnu, arm-linux-gnueabihf)" ;;
esac
command -v "$cc" >/dev/null || die "$cc not found: run 'make deps' (as root) first"

# The set is rebuilt when the pins or this script change.
want=$(cat "$pins" "$0" "$top/toolchain/mbedtls-posagent.h" "$top"/toolchain/patches/* | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

# Same bytes from the same sources wherever the tree sits: no build paths,
# no dates in the objects. Size matters on a terminal: sections per function
# so the final link drops what posagent never calls.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-1704067200}
export LC_ALL=C TZ=UTC
# No unwind tables: C libraries without exceptions or cancellation; they
# are a tenth of the binary otherwise.
base_cflags="-O2 -ffunction-sections -fdata-sections -fno-asynchronous-unwind-tables -fno-unwind-tables -ffile-prefix-map=$top=. -ffile-prefix-map=$work=deps"
# Size over speed where speed does not show: the TLS stack and curl run once
# per batch of events (keep-alive); SQLite, expat, zlib, libzip, libcsv and
# jansson are on the import path (make bench) and stay at -O2.
small_cflags="${base_cflags/-O2/-Os}"
export ZERO_AR_DATE=1

# --- fetch ------------------------------------------------------------------

# verify FILE SHA256: dies on a mismatch (never falls back over a bad hash).
verify() {
	local got
	got=$(sha256sum "$srcdir/$1" | cut -d' ' -f1)
	[ "$got" = "$2" ] || die "SHA-256 MISMATCH for $1: expected $2, got $got (toolchain/pins)"
}

# fetch PKG: tries each pinned candidate in order; prints "version" of the one
# used, leaves its files in $srcdir. A candidate whose files are gone from the
# archive (seen: an index listing a version whose .debian.tar.xz is a 404) is
# skipped; one whose file does not match its pin stops everything.
fetch() {
	local pkg=$1 line ver files f name sum ok
	mkdir -p "$srcdir"
	while read -r line; do
		set -- $line
		[ "$1" = "$pkg" ] || continue
		ver=$2; shift 2; files=("$@")
		ok=1
		[ -f "$srcdir/${pkg}_${ver#*:}.dsc" ] || ok=0
		for f in "${files[@]}"; do
			[ -f "$srcdir/${f%%:*}" ] || ok=0
		done
		if [ $ok -eq 0 ]; then
			(cd "$srcdir" && apt-get source -q --download-only "$pkg=$ver" \
				>"$srcdir/.fetch.log" 2>&1) || {
				say "$pkg $ver not downloadable ($(grep -m1 -o '[0-9]\{3\}  *Not Found' "$srcdir/.fetch.log" || echo 'not in the index')); trying the next pin" >&2
				continue
			}
		fi
		for f in "${files[@]}"; do
			name=${f%%:*}; sum=${f#*:}
			[ -f "$srcdir/$name" ] || die "$pkg $ver: $name missing after download"
			verify "$name" "$sum"
		done
		echo "$ver"
		return 0
	done < <(grep -v '^#' "$pins" | grep -v '^[[:space:]]*$')
	die "$pkg: no pinned version could be downloaded (see toolchain/pins; is the deb-src entry there? run 'make deps')"
}

# unpack PKG VERSION: Debian's patches applied, into $work/PKG.
unpack() {
	local pkg=$1 ver=$2 dsc
	dsc="$srcdir/${pkg}_${ver#*:}.dsc"
	rm -rf "$work/$pkg"
	dpkg-source -q -x --no-check "$dsc" "$work/$pkg" >/dev/null 2>"$work/$pkg.unpack.log" \
		|| { cat "$work/$pkg.unpack.log" >&2; die "$pkg: dpkg-source failed"; }
}

declare -A VER
record() {	# record PKG VERSION: a SOURCES line per pinned file
	local pkg=$1 ver=$2 f
	VER[$pkg]=$ver
	for f in $(grep -v '^#' "$pins" | awk -v p="$pkg" -v v="$ver" \
	    '$1==p && $2==v { for (i = 3; i <= NF; i++) print $i }'); do
		printf '%-9s %-22s %-48s %s\n' "$pkg" "$ver" "${f%%:*}" "${f#*:}" >>"$work/SOURCES"
	done
}

rm -rf "$work" "$prefix"
mkdir -p "$work" "$prefix/include" "$prefix/lib"
: >"$work/SOURCES"

# CMake cross file: the target's compiler, and nothing found outside our prefix.
cmake_tc="$work/toolchain.cmake"
{
	if [ -n "$triple" ]; then
		echo "set(CMAKE_SYSTEM_NAME Linux)"
		echo "set(CMAKE_SYSTEM_PROCESSOR ${triple%%-*})"
		echo "set(CMAKE_FIND_ROOT_PATH /usr/$triple $prefix)"
		echo "set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)"
		echo "set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)"
		echo "set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)"
	fi
	echo "set(CMAKE_C_COMPILER $cc)"
	echo "set(CMAKE_AR $(command -v "$ar"))"
	echo "set(CMAKE_RANLIB $(command -v "$ranlib"))"
} >"$cmake_tc"
cmake_configure() {	# cmake_configure SRC_SUBDIR ARGS...: static, into $prefix
	local src=$1; shift
	cmake -S "$src" -B "$src/_b" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$cmake_tc" \
		-DCMAKE_BUILD_TYPE=None -DCMAKE_C_FLAGS="$base_cflags" \
		-DCMAKE_INSTALL_PREFIX="$prefix" -DCMAKE_INSTALL_LIBDIR=lib \
		-DBUILD_SHARED_LIBS=OFF "$@" >"$src/_cmake.log" 2>&1 \
		|| { tail -30 "$src/_cmake.log" >&2; die "cmake failed in $src"; }
}
cmake_install() {	# cmake_install SRC_SUBDIR
	local src=$1
	ninja -C "$src/_b" install >"$src/_build.log" 2>&1 \
		|| { tail -30 "$src/_build.log" >&2; die "build failed in $src"; }
}
# cc_lib NAME OUTDIR SOURCES...: a static library from plain C files.
cmake_build() { cmake_configure "$@"; cmake_install "$1"; }
cc_lib() {
	local name=$1 out=$2; shift 2
	local objs=() s o
	for s in "$@"; do
		o="$out/$(basename "${s%.c}").o"
		$cc $base_cflags $CC_EXTRA -c "$s" -o "$o"
		objs+=("$o")
	done
	rm -f "$prefix/lib/lib$name.a"
	$ar rcD "$prefix/lib/lib$name.a" "${objs[@]}"
}

t0=$(date +%s)

# --- mbedTLS 3.6 LTS ------------------------------------------------------------
v=$(fetch mbedtls); record mbedtls "$v"; unpack mbedtls "$v"
say "mbedtls $v"
# The LTS config minus what a TLS client never uses (toolchain/mbedtls-posagent.h),
# appended to the config header itself so that mbedTLS, curl and posagent all
# compile against the same structures. The library's own Makefile: no Python
# needed (generated files ship in the tarball).
cat "$top/toolchain/mbedtls-posagent.h" >>"$work/mbedtls/include/mbedtls/mbedtls_config.h"
make -s -C "$work/mbedtls/library" -j"$(nproc)" CC="$cc" AR="$ar" \
	CFLAGS="$small_cflags -I../include" libmbedcrypto.a libmbedx509.a libmbedtls.a \
	>"$work/mbedtls.log" 2>&1 || { tail -30 "$work/mbedtls.log" >&2; die "mbedtls build failed"; }
cp "$work"/mbedtls/library/libmbed{crypto,x509,tls}.a "$prefix/lib/"
cp -r "$work/mbedtls/include/mbedtls" "$work/mbedtls/include/psa" "$prefix/include/"

# --- zlib (libzip's deflate) ----------------------------------------------------
v=$(fetch zlib); record zlib "$v"; unpack zlib "$v"
say "zlib $v"
CC_EXTRA="-DHAVE_UNISTD_H -DHAVE_STDARG_H -D_LARGEFILE64_SOURCE=1"
(cd "$work/zlib" && cc_lib z "$work/zlib" adler32.c crc32.c deflate.c infback.c \
	inffast.c inflate.c inftrees.c trees.c zutil.c compress.c uncompr.c \
	gzclose.c gzlib.c gzread.c gzwrite.c)
cp "$work/zlib/zlib.h" "$work/zlib/zconf.h" "$prefix/include/"

# --- libzip: no crypto backend, no bzip2/lzma/zstd ------------------------------
v=$(fetch libzip); record libzip "$v"; unpack libzip "$v"
say "libzip $v"
cmake_build "$work/libzip" -DENABLE_OPENSSL=OFF -DENABLE_GNUTLS=OFF \
	-DENABLE_MBEDTLS=OFF -DENABLE_COMMONCRYPTO=OFF -DENABLE_WINDOWS_CRYPTO=OFF \
	-DENABLE_BZIP2=OFF -DENABLE_LZMA=OFF -DENABLE_ZSTD=OFF \
	-DBUILD_TOOLS=OFF -DBUILD_REGRESS=OFF -DBUILD_OSSFUZZ=OFF \
	-DBUILD_EXAMPLES=OFF -DBUILD_DOC=OFF -DLIBZIP_DO_INSTALL=ON \
	-DZLIB_INCLUDE_DIR="$prefix/include" -DZLIB_LIBRARY="$prefix/lib/libz.a"

# --- SQLite ---------------------------------------------------------------------
v=$(fetch sqlite3); record sqlite3 "$v"; unpack sqlite3 "$v"
say "sqlite3 $v"
# The amalgamation is generated with the build machine's compiler and tclsh
# (it is target-independent), then compiled for the target. Options follow
# Debian's (debian/rules) where posagent can tell the difference: secure
# delete, URI file names, threadsafe; no loadable extensions (no dlopen).
# Left out, for size (all on SQLite's list of options that work with the
# amalgamation): JSON SQL functions, deprecated and shared-cache APIs,
# progress callbacks, column decltypes, memory statistics - posagent uses
# none of them (tests/unit would fail to link or run otherwise).
(cd "$work/sqlite3" && ./configure -q --disable-tcl >"$work/sqlite3.log" 2>&1 && \
	make sqlite3.c >>"$work/sqlite3.log" 2>&1) \
	|| { tail -30 "$work/sqlite3.log" >&2; die "sqlite3 amalgamation failed"; }
CC_EXTRA="-DSQLITE_THREADSAFE=1 -DSQLITE_SECURE_DELETE -DSQLITE_USE_URI=1 \
 -DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_LIKE_DOESNT_MATCH_BLOBS \
 -DSQLITE_MAX_SCHEMA_RETRY=25 -DSQLITE_MAX_VARIABLE_NUMBER=250000 \
 -DSQLITE_OMIT_JSON -DSQLITE_OMIT_DEPRECATED -DSQLITE_OMIT_SHARED_CACHE \
 -DSQLITE_OMIT_PROGRESS_CALLBACK -DSQLITE_OMIT_DECLTYPE -DSQLITE_DEFAULT_MEMSTATUS=0 \
 -DHAVE_USLEEP=1 -DHAVE_FDATASYNC=1 -DHAVE_LOCALTIME_R=1"
(cd "$work/sqlite3" && cc_lib sqlite3 "$work/sqlite3" sqlite3.c)
cp "$work/sqlite3/sqlite3.h" "$work/sqlite3/sqlite3ext.h" "$prefix/include/"

# --- jansson --------------------------------------------------------------------
v=$(fetch jansson); record jansson "$v"; unpack jansson "$v"
say "jansson $v"
cmake_build "$work/jansson" -DJANSSON_BUILD_DOCS=OFF -DJANSSON_EXAMPLES=OFF \
	-DJANSSON_WITHOUT_TESTS=ON -DJANSSON_BUILD_SHARED_LIBS=OFF

# --- libcsv ---------------------------------------------------------------------
v=$(fetch libcsv); record libcsv "$v"; unpack libcsv "$v"
say "libcsv $v"
CC_EXTRA=""
(cd "$work/libcsv" && cc_lib csv "$work/libcsv" libcsv.c)
cp "$work/libcsv/csv.h" "$prefix/include/"

# --- expat ----------------------------------------------------------------------
v=$(fetch expat); record expat "$v"; unpack expat "$v"
say "expat $v"
cmake_configure "$work/expat/expat" -DEXPAT_BUILD_TOOLS=OFF -DEXPAT_BUILD_EXAMPLES=OFF \
	-DEXPAT_BUILD_TESTS=OFF -DEXPAT_SHARED_LIBS=OFF -DEXPAT_BUILD_DOCS=OFF \
	-DEXPAT_BUILD_PKGCONFIG=OFF -DEXPAT_BUILD_FUZZERS=OFF
# Debian's CVE patches test `#if XML_DTD == 1` (autotools defines 1); CMake's
# header defines the macros empty.
sed -i 's/^#define XML_DTD$/#define XML_DTD 1/; s/^#define XML_NS$/#define XML_NS 1/' \
	"$work/expat/expat/_b/expat_config.h"
cmake_install "$work/expat/expat"

# --- inih -----------------------------------------------------------------------
v=$(fetch libinih); record libinih "$v"; unpack libinih "$v"
say "libinih $v"
# Upstream defaults (the ABI of Debian 12's libinih): handler without line
# numbers, 200-byte lines on the stack. Debian's meson build forces
# INI_HANDLER_LINENO=1 for 59; compiling ini.c directly keeps the old ABI.
CC_EXTRA=""
(cd "$work/libinih" && cc_lib inih "$work/libinih" ini.c)
cp "$work/libinih/ini.h" "$prefix/include/"

# --- curl: HTTP/HTTPS only, on that mbedTLS -------------------------------------
v=$(fetch curl); record curl "$v"; unpack curl "$v"
# Our own fixes on top of Debian's patches (each explains itself).
for p in "$top"/toolchain/patches/curl-*.patch; do
	patch -s -p1 -d "$work/curl" <"$p" || die "curl: $(basename "$p") does not apply"
done
say "curl $v (configure takes a minute)"
hostopt=()
[ -n "$triple" ] && hostopt=(--host="$triple")
(cd "$work/curl" && CC="$cc" AR="$ar" RANLIB="$ranlib" CFLAGS="$small_cflags" \
	CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" PKG_CONFIG=false \
	./configure "${hostopt[@]}" --prefix="$prefix" --disable-shared --enable-static \
	--with-mbedtls="$prefix" --without-openssl --without-gnutls \
	--without-wolfssl --without-rustls \
	--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
	--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
	--disable-smb --disable-smtp --disable-gopher --disable-mqtt --disable-ipfs \
	--disable-websockets --disable-manual --disable-docs --disable-ntlm \
	--disable-alt-svc --disable-hsts --disable-cookies --disable-netrc \
	--disable-aws --disable-kerberos-auth --disable-negotiate-auth \
	--disable-progress-meter --disable-sspi --disable-tls-srp \
	--disable-digest-auth --disable-mime --disable-form-api --disable-doh \
	--disable-bindlocal \
	--without-libpsl --without-brotli --without-zstd --without-nghttp2 \
	--without-ngtcp2 --without-nghttp3 --without-libidn2 --without-librtmp \
	--without-libssh2 --without-libssh --without-zlib --without-ca-bundle \
	--without-ca-path --without-ca-fallback --without-libgsasl \
	--enable-symbol-hiding --disable-threaded-resolver --disable-unix-sockets \
	>"$work/curl.log" 2>&1) || { tail -30 "$work/curl.log" >&2; die "curl configure failed"; }
make -C "$work/curl/lib" -j"$(nproc)" >>"$work/curl.log" 2>&1 \
	|| { tail -30 "$work/curl.log" >&2; die "curl build failed"; }
cp "$work/curl/lib/.libs/libcurl.a" "$prefix/lib/"
mkdir -p "$prefix/include/curl"
cp "$work"/curl/include/curl/*.h "$prefix/include/curl/"

# --- cmocka: only for cross-built unit tests --------------------------------------
if [ -n "$triple" ]; then
	v=$(fetch cmocka); record cmocka "$v"; unpack cmocka "$v"
	say "cmocka $v (tests only)"
	cmake_build "$work/cmocka" -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF \
		-DUNIT_TESTING=OFF -DPICKY_DEVELOPER=OFF
	# cmocka 1.1.5 names its static archive libcmocka-static.a.
	[ -f "$prefix/lib/libcmocka-static.a" ] && mv "$prefix/lib/libcmocka-static.a" "$prefix/lib/libcmocka.a"
	rm -f "$prefix"/lib/libcmocka.so*
fi

# --- what went in ---------------------------------------------------------------
{
	echo "# posagent $target: bundled source packages (Debian), version, tarball, SHA-256"
	cat "$work/SOURCES"
} >"$prefix/SOURCES"
{
	echo "/* generated by toolchain/build-deps.sh: the Debian source packages bundled */"
	echo "#define PA_BUNDLED_TARGET \"$target\""
	echo "#define PA_BUNDLED_PKGS \\"
	for p in mbedtls curl libzip zlib sqlite3 jansson libcsv expat libinih; do
		echo "	\"$p\", \"${VER[$p]}\", \\"
	done
	echo "	NULL, NULL"
} >"$prefix/include/pa_bundled.h"
rm -rf "$prefix/lib/pkgconfig" "$prefix/lib/cmake" "$prefix/share" "$prefix/bin"
echo "$want" >"$stamp"
say "ready in ${prefix#$top/} ($(( $(date +%s) - t0 )) s)"
