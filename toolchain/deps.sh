#!/usr/bin/env bash
# Bootstrap everything the build needs on Debian 12:
#  1. the -dev packages found through pkg-config (installed when missing);
#  2. libcurl built from Debian's own curl source against mbedTLS, static,
#     HTTP/HTTPS only, into build/deps (skipped when already there).
# Idempotent: a second run does nothing but check.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
prefix="$top/build/deps"
work="$top/build/deps-src"

pkgs=(build-essential pkg-config clang libclang-rt-14-dev
      libsqlite3-dev sqlite3 libjansson-dev libcsv-dev libzip-dev libexpat1-dev
      libinih-dev libcmocka-dev libmbedtls-dev python3-pytest openssl
      dpkg-dev ca-certificates
      libmicrohttpd-dev libgnutls28-dev libpq-dev postgresql xxd
      nginx-light                # posagent-hq behind nginx (its test)
      chromium chromium-driver   # the HQ dashboard's browser test (headless)
      libcurl4-openssl-dev       # bench/hq_load only: cheap client TLS handshakes
      debhelper fakeroot lintian scdoc man-db systemd adduser)  # make deb

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
		|| missing+=("$p")
done

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; else
		echo "deps: need root for: $*" >&2
		echo "deps: run it as root (or with sudo), then re-run make deps" >&2
		exit 1
	fi
}

apt_updated=0
apt_update() {
	[ $apt_updated -eq 1 ] && return 0
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
	apt_updated=1
}

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ -f "$prefix/lib/libcurl.a" ] && [ -f "$prefix/.curl-ok" ]; then
	exit 0
fi

# Debian 12 ships sources as deb822; add a deb-src twin of the main archive once.
srcfile=/etc/apt/sources.list.d/posagent-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && \
   ! grep -qs '^deb-src' /etc/apt/sources.list; then
	echo "deps: adding a deb-src entry ($srcfile)"
	as_root tee "$srcfile" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt_updated=0
fi
apt_update

rm -rf "$work"
mkdir -p "$work" "$prefix"
cd "$work"
echo "deps: fetching Debian's curl source"
apt-get source -q --download-only curl >/dev/null
dpkg-source -x --no-check curl_*.dsc curl-src >/dev/null
cd curl-src

echo "deps: configuring libcurl (mbedTLS, static, HTTP/HTTPS only)"
./configure --prefix="$prefix" --disable-shared --enable-static \
	--with-mbedtls --without-openssl --without-gnutls --without-nss \
	--without-wolfssl --without-rustls \
	--disable-ftp --disable-file --disable-ldap --disable-ldaps --disable-rtsp \
	--disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap \
	--disable-smb --disable-smtp --disable-gopher --disable-mqtt \
	--disable-manual --disable-docs --disable-ntlm --disable-ntlm-wb \
	--disable-alt-svc --disable-hsts --disable-cookies --disable-netrc \
	--without-libpsl --without-brotli --without-zstd --without-nghttp2 \
	--without-ngtcp2 --without-nghttp3 --without-libidn2 --without-librtmp \
	--without-libssh2 --without-libssh --without-zlib --without-ca-bundle \
	--without-ca-path --enable-symbol-hiding \
	>"$work/configure.log" 2>&1 || { tail -30 "$work/configure.log"; exit 1; }
echo "deps: building libcurl"
make -j"$(nproc)" -C lib >"$work/make.log" 2>&1 || { tail -30 "$work/make.log"; exit 1; }
make -C lib install >/dev/null
make -C include install >/dev/null
make install-pkgconfigDATA >/dev/null 2>&1 || cp libcurl.pc "$prefix/lib/pkgconfig/" 2>/dev/null || true
touch "$prefix/.curl-ok"
echo "deps: libcurl ready in $prefix"
