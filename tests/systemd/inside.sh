#!/bin/sh
# Runs inside the booted container (tests/systemd/check.sh) as a oneshot
# unit once systemd reached multi-user.target: installs the .deb under a
# live systemd and drives posagent.service the way a technician would.
# Every step appends "ok|FAIL name: detail" to /out/steps; the container
# powers off at the end whatever happened.
# Arguments: the .deb inside the container, the KKT emulator's URL.
set -u
DEB=$1
KKT=$2
OUT=/out
CONF=/etc/posagent/posagent.conf
DATA=/var/lib/posagent
: >"$OUT/steps"

ok()   { echo "ok   $*" >>"$OUT/steps"; }
fail() { echo "FAIL $*" >>"$OUT/steps"; }
prop() { systemctl show -P "$1" posagent.service; }
as_posagent() { runuser -u posagent -- /usr/bin/posagent "$@"; }

finish() {
	journalctl -b --no-pager -o short-precise >"$OUT/journal.txt" 2>&1
	journalctl -u posagent.service --no-pager -o verbose \
		>"$OUT/journal-posagent.txt" 2>&1
	systemctl poweroff
	exit 0
}

# 1. Install with systemd running: the shipped config has no [agent] id,
#    so postinst enables the unit but must not start it.
if dpkg -i "$DEB" >"$OUT/dpkg-install.txt" 2>&1; then
	ok "dpkg -i under systemd"
else
	fail "dpkg -i: $(tail -3 "$OUT/dpkg-install.txt")"; finish
fi
[ "$(systemctl is-enabled posagent.service)" = enabled ] &&
	ok "unit enabled by postinst" || fail "unit not enabled"
[ "$(prop ActiveState)" = inactive ] &&
	grep -q "not starting the service" "$OUT/dpkg-install.txt" &&
	ok "not started on the unconfigured conffile" ||
	fail "state after install: $(prop ActiveState)"

# 2. The technician's config: the emulator as the ATOL adapter, no HQ.
sed -i -e 's/^#id = *$/id = store-0042-pos1/' \
	-e 's/^#backend = .*$/backend = atol/' \
	-e "s|^url = http://127.0.0.1:16732\$|url = $KKT|" "$CONF"
if as_posagent config check --online >"$OUT/config-check.txt" 2>&1; then
	ok "config check --online as posagent"
else
	fail "config check: $(tail -3 "$OUT/config-check.txt")"; finish
fi

# 3. Start: Type=notify, so `start` returns once the daemon sent READY=1.
#    A shorter watchdog than the shipped 60 s, to see it hold for several
#    periods in a few seconds.
mkdir -p /etc/systemd/system/posagent.service.d
printf '[Service]\nWatchdogSec=4\n' \
	>/etc/systemd/system/posagent.service.d/watchdog.conf
systemctl daemon-reload
t0=$(date +%s%N)
if systemctl start posagent.service 2>"$OUT/start.txt"; then
	t1=$(date +%s%N)
	ok "systemctl start: active/$(prop SubState) after $(( (t1 - t0) / 1000000 )) ms," \
		"status \"$(prop StatusText)\""
else
	fail "start: $(cat "$OUT/start.txt"); $(systemctl status --no-pager \
		posagent.service 2>&1 | tail -15)"; finish
fi
pid=$(prop MainPID)
wd1=$(prop WatchdogTimestampMonotonic)

# 4. The sandbox at work: an inbox file becomes a done job (the service
#    writes only its state directory, through ProtectSystem=strict).
as_posagent profile add /usr/share/doc/posagent/examples/essilor.json \
	>/dev/null 2>&1 && ok "profile add" || fail "profile add"
# Written beside the inbox, then renamed into it: the daemon never sees
# half a file.
install -o posagent -g posagent -m 0640 \
	/usr/share/doc/posagent/examples/essilor_2026-11.csv "$DATA/essilor.part"
mv "$DATA/essilor.part" "$DATA/inbox/essilor_2026-11.csv"
state=none
for i in $(seq 1 60); do
	state=$(as_posagent --json job list 2>/dev/null |
		sed -n 's/.*"state": *"\([a-z]*\)".*/\1/p' | head -1)
	[ "$state" = done ] && break
	sleep 0.5
done
[ "$state" = done ] && ok "inbox file imported by the service (job done)" ||
	fail "inbox import: job state '$state'"

# 5. The watchdog holds: several 4 s periods pass, the daemon keeps
#    pinging (systemd's timestamp of the last WATCHDOG=1 moves), same
#    process, no restart.
sleep 13
wd2=$(prop WatchdogTimestampMonotonic)
if [ "$(prop ActiveState)" = active ] && [ "$(prop MainPID)" = "$pid" ] &&
   [ "$(prop NRestarts)" = 0 ] && [ "$wd2" -gt "$wd1" ]; then
	ok "watchdog holds over 13 s at WatchdogSec=4 (last ping moved" \
		"$(( (wd2 - wd1) / 1000 )) ms)"
else
	fail "watchdog: $(prop ActiveState) pid $(prop MainPID) (was $pid)" \
		"restarts $(prop NRestarts) wd $wd1 -> $wd2"
fi
journalctl -u posagent.service --no-pager | grep -qi "watchdog timeout" &&
	fail "journal: watchdog timeout" || ok "no watchdog timeout in the journal"

# 6. The live sandbox's score (the unit as loaded, not the file).
systemd-analyze security --no-pager posagent.service >"$OUT/security.txt" 2>&1
ok "security: $(grep -o 'Overall exposure level.*' "$OUT/security.txt")"

# 7. The service's lines reach the journal (their priorities: step 9 and
#    tests/integration/test_ops.py).
journalctl -u posagent.service -p info --no-pager -o cat |
	grep -q . && ok "journal has posagent's lines" || fail "journal empty"

# 8. Stop: SIGTERM, a clean exit inside TimeoutStopSec.
t0=$(date +%s%N)
systemctl stop posagent.service
t1=$(date +%s%N)
if [ "$(prop ActiveState)" = inactive ] && [ "$(prop Result)" = success ] &&
   [ "$(prop ExecMainStatus)" = 0 ]; then
	ok "systemctl stop: clean (Result=success, status 0) in" \
		"$(( (t1 - t0) / 1000000 )) ms"
else
	fail "stop: $(prop ActiveState) Result=$(prop Result)" \
		"status=$(prop ExecMainStatus)"
fi

# 9. A broken config is not restarted every 5 s (RestartPreventExitStatus=78).
echo "bogus_key = 1" >>"$CONF"
systemctl start posagent.service 2>/dev/null
for i in $(seq 1 40); do
	s=$(prop ActiveState)
	[ "$s" = failed ] || [ "$s" = inactive ] && break
	sleep 0.25
done
if [ "$(prop ExecMainStatus)" = 78 ] && [ "$(prop NRestarts)" = 0 ]; then
	ok "a broken config exits 78 and is not restarted ($(prop ActiveState))"
else
	fail "broken config: $(prop ActiveState) status $(prop ExecMainStatus)" \
		"restarts $(prop NRestarts)"
fi
# ... and the reason is in the journal as an error (journalctl -p err).
journalctl -u posagent.service -p err --no-pager -o cat |
	grep -q "unknown setting \[status\] bogus_key" &&
	ok "the config error is logged at priority err" ||
	fail "the config error is not at priority err"
finish
