#!/usr/bin/env bash
# make systemd-check: the amd64 .deb under a live systemd (issue #13).
#
#   tests/systemd/check.sh build/deb/posagent_VERSION_amd64.deb
#
# The build and CI machines do not run systemd as PID 1, so the hardened
# unit is started in a container that does: a minimal Debian 12 tree
# (debootstrap, cached in build/systemd-check/root) booted with
# `systemd-nspawn -b`, sharing the host's network so that the bundled KKT
# emulator, started here on loopback, is the service's ATOL adapter.
# tests/systemd/inside.sh runs in the container as a oneshot unit and
# writes its results to build/systemd-check/out. Needs root, debootstrap
# and systemd-nspawn (systemd-container); not part of `make test` (about a
# minute with the tree cached, 3 minutes to build it).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=$(realpath "$1")
work=$top/build/systemd-check
root=$work/root
out=$work/out

[ "$(id -u)" -eq 0 ] || { echo "systemd-check: needs root" >&2; exit 2; }
for t in debootstrap systemd-nspawn; do
	command -v $t >/dev/null || {
		echo "systemd-check: $t missing (apt-get install debootstrap systemd-container)" >&2
		exit 2
	}
done

mkdir -p "$work"
if [ ! -f "$root/.ok" ]; then
	echo "systemd-check: building a Debian 12 tree with systemd in $root"
	rm -rf "$root"
	debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,adduser \
		bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
		{ tail -20 "$work/debootstrap.log"; exit 1; }
	touch "$root/.ok"
fi

# A fresh container each run: the package and everything it made go.
rm -rf "$work/run" "$out"
mkdir -p "$out" "$work/run"
echo "systemd-check: copying the tree"
cp -a "$root" "$work/run/root"
r=$work/run/root
cp "$deb" "$r/root/posagent.deb"
cp "$top/tests/systemd/inside.sh" "$r/root/inside.sh"

# The KKT emulator on loopback, ready when its port file appears.
python3=/usr/bin/python3
"$python3" "$top/tests/peers/kkt_peer.py" --port-file "$work/run/kkt.port" \
	>"$out/kkt_peer.log" 2>&1 &
kkt_pid=$!
trap 'kill $kkt_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
	[ -s "$work/run/kkt.port" ] && break
	kill -0 $kkt_pid 2>/dev/null || { cat "$out/kkt_peer.log"; exit 1; }
	sleep 0.1
done
kkt_url=http://127.0.0.1:$(cat "$work/run/kkt.port")

cat >"$r/etc/systemd/system/posagent-check.service" <<EOF
[Unit]
Description=posagent systemd check (tests/systemd/inside.sh)
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/sh /root/inside.sh /root/posagent.deb $kkt_url
StandardOutput=file:/out/inside.log
StandardError=inherit
[Install]
WantedBy=multi-user.target
EOF
ln -sf /etc/systemd/system/posagent-check.service \
	"$r/etc/systemd/system/multi-user.target.wants/posagent-check.service"

# --keep-unit --register=no: no systemd (and no D-Bus) on the host to ask
# for a scope or to register with machined. A 10-minute bound in case
# the container never powers off.
echo "systemd-check: booting the container (systemd as its PID 1)"
timeout 600 systemd-nspawn --keep-unit --register=no -q --console=pipe \
	--bind="$out:/out" -b -D "$r" >"$out/boot.log" 2>&1 || true

[ -f "$out/steps" ] || { echo "systemd-check: no result; see $out/boot.log" >&2
	tail -20 "$out/boot.log" >&2; exit 1; }
cat "$out/steps"
rm -rf "$work/run"
if grep -q '^FAIL' "$out/steps"; then
	echo "systemd-check: FAILED (logs in $out)" >&2
	exit 1
fi
echo "systemd-check: passed (logs in $out)"
