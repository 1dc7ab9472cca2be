#!/usr/bin/env bash
# Bootstrap everything the build needs on Debian 12, then the pinned set:
#
#   toolchain/deps.sh [TARGET]
#
#  1. the Debian 12 packages the build and tests use (compilers, the aarch64
#     and armhf cross compilers with their libc, qemu-user-static, cmake,
#     ninja, tcl for SQLite's amalgamation, cmocka, pytest), when missing;
#  2. deb-src entries: Debian 12 and Debian 13 ("trixie") sources. Trixie is
#     a source for `apt-get source` only: no binary entry is added, and an
#     apt preference pins its releases to -1 so no trixie binary can ever be
#     installed on the build machine;
#  3. toolchain/build-deps.sh for the host and for TARGET (if another).
# Idempotent: a second run only checks. Steps 1-2 need root.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-host}

# posagent links none of the system -dev libraries any more (it links the
# pinned set in build/deps/<target>); they stay for the HQ server build
# (hq/hq.mk links system libraries) and for tools.
pkgs=(build-essential pkg-config clang libclang-rt-14-dev
      libsqlite3-dev sqlite3 libjansson-dev libcsv-dev libzip-dev libexpat1-dev
      libinih-dev libcmocka-dev libmbedtls-dev python3-pytest openssl
      dpkg-dev ca-certificates cmake ninja-build tcl
      gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      gcc-arm-linux-gnueabihf libc6-dev-armhf-cross
      qemu-user-static
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

# Every apt-get waits for dpkg's lock (up to 10 min) instead of failing at
# once: unattended-upgrades, or a second `make deps TARGET=...`, may hold it.
apt_updated=0
apt_update() {
	[ $apt_updated -eq 1 ] && return 0
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q
	apt_updated=1
}

if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	apt_update
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
fi

need_update=0
# Debian 12 ships sources as deb822; add a deb-src twin of the main archive once.
srcfile=/etc/apt/sources.list.d/posagent-src.sources
if ! grep -lsE '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources 2>/dev/null | \
     xargs -r grep -qsE '^Suites:.*bookworm' && \
   ! grep -qs '^deb-src.* bookworm ' /etc/apt/sources.list; then
	echo "deps: adding a deb-src entry for Debian 12 ($srcfile)"
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
	need_update=1
fi

# Debian 13 sources: mbedTLS 3.6 LTS, curl 8.14 and libzip 1.11 (toolchain/README.md).
trixie=/etc/apt/sources.list.d/posagent-trixie-src.sources
pref=/etc/apt/preferences.d/posagent-no-trixie-binaries
if [ ! -f "$pref" ]; then
	as_root tee "$pref" >/dev/null <<'PREF'
# posagent's toolchain/deps.sh: Debian 13 is for `apt-get source` only.
Package: *
Pin: release n=trixie
Pin-Priority: -1

Package: *
Pin: release n=trixie-updates
Pin-Priority: -1

Package: *
Pin: release n=trixie-security
Pin-Priority: -1
PREF
fi
if [ ! -f "$trixie" ]; then
	echo "deps: adding a deb-src entry for Debian 13 sources ($trixie)"
	as_root tee "$trixie" >/dev/null <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie trixie-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: trixie-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	need_update=1
fi
# A source index older than the sources files (or none yet): refresh it.
if [ $need_update -eq 1 ] || ! apt-cache showsrc mbedtls 2>/dev/null | grep -q '^Version: 3\.6'; then
	apt_updated=0
	apt_update
fi

# The tests of a cross target run under qemu-user with Debian's own libc6
# for that architecture as the sysroot: the cross toolchain's libc has no
# gconv modules, and iconv (CP1251) needs them, as on a real terminal.
# Downloaded (`apt-get download`, the signed index) and unpacked into
# build/deps/TARGET-sysroot, never installed: the foreign architecture is
# named for these two apt calls only, not added to dpkg. Its control files
# go to TARGET-sysroot/DEBIAN: the cross .deb's dpkg-shlibdeps reads libc6's
# symbols there (debian/rules) to compute the package's libc6 dependency.
qemu_sysroot() {
	local t=$1 arch dir=$top/build/deps/$1-sysroot deb
	case "$t" in
	aarch64-linux-gnu) arch=arm64 ;;
	arm-linux-gnueabihf) arch=armhf ;;
	*) return 0 ;;
	esac
	[ -f "$dir/.ok" ] && [ -f "$dir/DEBIAN/symbols" ] && return 0
	local archopt=(-o APT::Architectures::=amd64 -o "APT::Architectures::=$arch")
	echo "deps: fetching Debian's libc6:$arch for the qemu sysroot"
	# A mirror mid-sync can fail one index (seen: bookworm-security armhf);
	# the download below says whether what we need is there.
	as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -q "${archopt[@]}" \
		>/dev/null 2>&1 || true
	mkdir -p "$top/build/deps/src"
	(cd "$top/build/deps/src" && as_root apt-get -o DPkg::Lock::Timeout=600 download -q "${archopt[@]}" \
		"libc6:$arch" >/dev/null 2>&1) || {
		echo "deps: cannot download libc6:$arch (needed to run $t tests)" >&2
		exit 1
	}
	deb=$(ls -t "$top/build/deps/src"/libc6_*_"$arch".deb | head -1)
	rm -rf "$dir"
	mkdir -p "$dir"
	dpkg-deb -x "$deb" "$dir"
	dpkg-deb -e "$deb" "$dir/DEBIAN"
	basename "$deb" >"$dir/.ok"
}

bash "$top/toolchain/build-deps.sh" host
if [ "$target" != host ]; then
	bash "$top/toolchain/build-deps.sh" "$target"
	qemu_sysroot "$target"
fi
