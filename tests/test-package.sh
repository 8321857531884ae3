#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The Debian package, installed and run under a real systemd.
#
# Builds the .deb (dpkg-buildpackage -b from "make distdir"), debootstraps a minimal Debian root of this
# machine's release from the archive its apt sources name (cached under the build tree, backports enabled
# on Debian 12), boots it with systemd-nspawn sharing the host's network, so the test broker on 127.0.0.1
# is reachable, and installs the package there with apt-get. Then, in the container: the files, owners and
# modes; --check-config on the shipped file; the unit's "not configured" status; the device triple with
# the secret as a credential from a drop-in; enable --now, connected, a cloud property set answered;
# reload with a broken and with a good file; a clean stop; SIGKILL and SIGSTOP (watchdog) restarts; the
# journal's story without the secret; the firmware installation hand-off through polkit; systemd-analyze
# verify and security; and purge leaving nothing behind. On the host: lintian, and man --warnings on
# every installed page.
#
# aliLinkctl status over the container's real system bus (the shipped D-Bus policy: anyone reads, only root
# and ali-link act), and a firmware update end to end: a push from the cloud, the image downloaded from
# nginx on the host and verified by the daemon, handed to ali-linkd-install@ID.service, the hook run as
# root, progress 100 and the new version reported.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

[ "$(id -u)" -eq 0 ] || skip "needs root: debootstrap and systemd-nspawn"
need dpkg-buildpackage dpkg-deb debootstrap systemd-nspawn journalctl nsenter setpriv flock lintian man sha256sum
[ -x "$TESTS_BUILD/notify-listen" ] || fail "tests/notify-listen is not built (make check builds it)"

START=$(date +%s)
step() { log "== $(($(date +%s) - START)) s: $*"; }

RELEASE=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
ARCHIVE=$("$top_srcdir/tools/debian-archive" "$RELEASE") || skip "no Debian archive for \"$RELEASE\" in the apt sources"
INCLUDE=systemd,systemd-sysv,dbus
CACHE=$top_builddir/tests/debootstrap-cache
CACHE_KEY="$RELEASE minbase $INCLUDE $ARCHIVE backports 1"
ROOT=$T/root
NSPAWN_PID=
LEADER=

# --- the container ---

# The debootstrapped root, made once per build tree and key; runs sharing a build tree take turns.
cache_root() {
	mkdir -p "${CACHE%/*}"
	exec {cache_lock}>"$CACHE.lock"
	flock -w 1200 "$cache_lock" || fail "$CACHE is locked by another run"
	if [ -f "$CACHE/key" ] && [ "$(cat "$CACHE/key")" = "$CACHE_KEY" ]; then
		log "using the $RELEASE root cached in $CACHE"
		return 0
	fi
	rm -rf "$CACHE" "$CACHE.new"
	mkdir -p "$CACHE.new"
	timeout 900 debootstrap --variant=minbase --include="$INCLUDE" "$RELEASE" "$CACHE.new/root" "$ARCHIVE" \
		>"$T/debootstrap.log" 2>&1 || fail "debootstrap $RELEASE $ARCHIVE failed: $(tail -n 20 "$T/debootstrap.log")"
	if [ "$RELEASE" = bookworm ]; then
		# libgpiod 2 comes from bookworm-backports.
		echo "deb $ARCHIVE bookworm-backports main" >"$CACHE.new/root/etc/apt/sources.list.d/backports.list"
	fi
	rm -f "$CACHE.new/root/var/cache/apt/archives/"*.deb
	mkdir -p "$CACHE.new/archives/partial" # the downloaded packages, kept for the next run
	echo "$CACHE_KEY" >"$CACHE.new/key"
	mv "$CACHE.new" "$CACHE"
}

# Run a command in the booted container, with a clean environment.
inside() {
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 SYSTEMD_PAGER= SYSTEMD_COLORS=0 \
		nsenter --target="$LEADER" --all -- "$@" </dev/null
}
# ... as the daemon's user, or as nobody.
as_ali_link() { inside setpriv --reuid=ali-link --regid=ali-link --init-groups -- "$@"; }
as_nobody() { inside setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

container_boot() {
	"$TESTS_BUILD/notify-listen" "$T/nspawn.sock" >"$T/nspawn.notify" &
	_BG_PIDS+=($!)
	wait_for "$T/nspawn.notify" '^# listening' 5 || fail "notify-listen did not start"
	NOTIFY_SOCKET=$T/nspawn.sock systemd-nspawn --quiet --directory="$ROOT" --machine="ali-linkd-test-$$" \
		--boot --notify-ready=yes --console=read-only --register=no --keep-unit --link-journal=no \
		--bind-ro="$T/deb:/srv/ali-linkd" --bind="$CACHE/archives:/var/cache/apt/archives" \
		>"$T/console.log" 2>&1 &
	NSPAWN_PID=$!
	wait_for "$T/nspawn.notify" '^READY=1$' 90 || fail "the container did not boot: $(tail -n 20 "$T/console.log")"
	LEADER=$(sed -n 's/^X_NSPAWN_LEADER_PID=//p' "$T/nspawn.notify" | head -n 1)
	[ -n "$LEADER" ] || fail "systemd-nspawn did not say which process is the container's init"
	# What the container logs about the daemon (its lines and systemd's about its unit), and what the
	# firmware installer's root side says, for wait_for: the journal is persistent, so the host can follow.
	journalctl --directory="$ROOT/var/log/journal" --follow --lines=all --output=short-precise \
		--unit=ali-linkd.service >"$T/journal.log" 2>&1 &
	_BG_PIDS+=($!)
	journalctl --directory="$ROOT/var/log/journal" --follow --lines=all --output=short-precise \
		SYSLOG_IDENTIFIER=ali-linkd-install >"$T/install.log" 2>&1 &
	_BG_PIDS+=($!)
}

# Power the container off (nspawn turns SIGTERM into a clean shutdown); kill it if that hangs. Runs on
# every exit path.
container_stop() {
	[ -n "$NSPAWN_PID" ] || return 0
	kill -TERM "$NSPAWN_PID" 2>/dev/null || true
	if ! timeout 30 tail --pid="$NSPAWN_PID" -f /dev/null 2>/dev/null; then
		log "the container did not power off within 30 s: killing it"
		[ -z "$LEADER" ] || kill -KILL "$LEADER" 2>/dev/null || true
		kill -KILL "$NSPAWN_PID" 2>/dev/null || true
	fi
	wait "$NSPAWN_PID" 2>/dev/null || true
	NSPAWN_PID=
}

_package_cleanup() {
	local rc=$? f
	set +e
	container_stop
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		[ ! -d "$ROOT/var/log/journal" ] ||
			journalctl --directory="$ROOT/var/log/journal" --output=short-precise >"$T/journal-all.log" 2>&1
		for f in "$T"/journal.log "$T"/apt.log "$T"/build.log; do
			[ -s "$f" ] && { log "----- ${f##*/} (last 40 lines) -----"; tail -n 40 "$f" >&2; }
		done
	fi
	nginx_stop
	(exit $rc)
	_cleanup
}
trap _package_cleanup EXIT

# --- helpers for the checks inside the container ---
J=$T/journal.log
unit_prop() { inside systemctl show --property="$1" --value "${2:-ali-linkd.service}"; }
mainpid() { unit_prop MainPID; }
# systemd (at debug level) logs every notification it received from the service; seeing the line means
# StatusText= already holds it. notified TEXT: how many such lines so far; wait_notify TEXT N: until N.
notify_re() { echo "ali-linkd\.service: Got notification message from PID [0-9]+ \((.*, )?$1(, .*)?\)"; }
notified() { count_lines "$J" "$(notify_re "$1")"; }
wait_notify() {
	wait_for_count "$J" "$(notify_re "$1")" "${2:-1}" 15 || fail "systemd did not receive $1 from ali-linkd"
}
expect_file() { # PATH MODE OWNER:GROUP
	local got
	got=$(inside stat -c '%a %U:%G' "$1") || fail "$1 is not installed"
	[ "$got" = "$2 $3" ] || fail "$1 is $got, expected $2 $3"
}
installed_path() { # the one installed file ending in /NAME
	local p
	p=$(inside dpkg -L ali-linkd | grep -E "/$1\$") || fail "the package has no $1"
	[ "$(echo "$p" | wc -l)" = 1 ] || fail "the package has several $1: $p"
	echo "$p"
}

# --- build the package while the root is bootstrapped ---
step "building the package (make distdir, dpkg-buildpackage -b) and preparing the $RELEASE root"
mkdir -p "$T/pkg" "$T/deb"
(
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$top_builddir" distdir distdir="$T/pkg/src" &&
		cd "$T/pkg/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" DEB_BUILD_PROFILES=nocheck \
		timeout 1200 dpkg-buildpackage -b -us -uc
) >"$T/build.log" 2>&1 &
build_pid=$!
_BG_PIDS+=($build_pid)
cache_root
cp -a "$CACHE/root" "$ROOT"
mkdir -p "$ROOT/var/log/journal"
exec {cache_lock}>&- # only the downloaded packages stay shared, and apt locks those itself
wait "$build_pid" || fail "building the package failed: $(tail -n 30 "$T/build.log")"
deb=$(echo "$T"/pkg/ali-linkd_*.deb)
[ -f "$deb" ] || fail "dpkg-buildpackage made no ali-linkd_*.deb"
cp "$deb" "$T/deb/"
pass "built ${deb##*/}"

# lintian runs on the host while the container works.
lintian --fail-on error,warning --display-info "$T"/pkg/ali-linkd_*.changes >"$T/lintian.out" 2>&1 &
lintian_pid=$!
_BG_PIDS+=($lintian_pid)

step "booting the container"
broker_start
container_boot
pass "$RELEASE booted under systemd-nspawn: $(inside systemctl --version | head -n 1)"

step "installing with apt-get install ./${deb##*/}"
inside timeout 600 apt-get update -q >"$T/apt.log" 2>&1 || fail "apt-get update failed: $(tail -n 20 "$T/apt.log")"
inside timeout 600 env DEBIAN_FRONTEND=noninteractive sh -c 'cd /srv/ali-linkd && apt-get install -y -q ./ali-linkd_*.deb' \
	>>"$T/apt.log" 2>&1 || fail "apt-get install failed: $(tail -n 30 "$T/apt.log")"
pass "installed"

# --- what got installed ---
unitdir=$(dirname "$(installed_path ali-linkd.service)")
expect_file /usr/sbin/ali-linkd 755 root:root
expect_file /etc/ali-linkd.conf 640 root:ali-link
expect_file "$unitdir/ali-linkd.service" 644 root:root
expect_file "$unitdir/ali-linkd-install@.service" 644 root:root
expect_file /usr/lib/sysusers.d/ali-linkd.conf 644 root:root
expect_file "$(installed_path rules.d/60-ali-linkd.rules)" 644 root:root
expect_file /usr/share/polkit-1/rules.d/ali-linkd.rules 644 root:root
expect_file "$(installed_path ali-linkd/ali-linkd-install)" 755 root:root
expect_file "$(installed_path ali-linkd/ali-linkd-fetch)" 755 root:root
expect_file /usr/share/man/man8/ali-linkd.8.gz 644 root:root
expect_file /usr/share/man/man5/ali-linkd.conf.5.gz 644 root:root
expect_file /usr/bin/aliLinkctl 755 root:root
expect_file /usr/share/man/man1/aliLinkctl.1.gz 644 root:root
expect_file "$(installed_path completions/aliLinkctl)" 644 root:root
expect_file /usr/share/dbus-1/system.d/org.alilinkd1.conf 644 root:root
expect_file /usr/share/ali-linkd/tsl/rgb-light.json 644 root:root
for f in README.md.gz changelog.gz copyright examples/install-hook-copy examples/install-hook-rauc \
	examples/install-hook-swupdate; do
	expect_file "/usr/share/doc/ali-linkd/$f" 644 root:root
done
cmp -s "$top_srcdir/etc/ali-linkd.conf" "$ROOT/etc/ali-linkd.conf" || fail "/etc/ali-linkd.conf is not the shipped file"
inside dpkg-query --showformat='${Conffiles}\n' --show ali-linkd | grep -q '^ /etc/ali-linkd.conf ' ||
	fail "/etc/ali-linkd.conf is not a conffile"
[ "$(inside dpkg-statoverride --list /etc/ali-linkd.conf)" = "root ali-link 640 /etc/ali-linkd.conf" ] ||
	fail "no statoverride for /etc/ali-linkd.conf"
IFS=: read -r _ _ uid gid _ home shell <<<"$(inside getent passwd ali-link)" || fail "no user ali-link"
[ "$uid" -lt 1000 ] && [ "$shell" = /usr/sbin/nologin ] || fail "ali-link is not a system user: uid $uid, shell $shell"
[ "$(inside getent group ali-link | cut -d: -f3)" = "$gid" ] || fail "no group ali-link"
[ "$(inside systemctl is-enabled ali-linkd.service)" = disabled ] || fail "the unit is enabled on install"
[ "$(inside systemctl is-active ali-linkd.service)" = inactive ] || fail "the unit was started on install"
pass "files, owners and modes; conffile 0640 root:ali-link; system user ali-link (uid $uid); unit disabled, not started"

# --- the shipped configuration ---
cat >"$T/expected" <<-EOF
	/etc/ali-linkd.conf: [device] product_key is not set
	/etc/ali-linkd.conf: [device] device_name is not set
	/etc/ali-linkd.conf: [device] the device secret is not set: give device_secret_file, device_secret, or the systemd credential "device-secret"
	/etc/ali-linkd.conf: the device is not configured yet
EOF
if inside ali-linkd --check-config >"$T/check.out" 2>&1; then fail "--check-config passed the shipped file"; fi
diff -u "$T/expected" "$T/check.out" || fail "--check-config on the shipped file"
if as_ali_link ali-linkd --check-config >"$T/check.out" 2>&1; then fail "--check-config passed the shipped file"; fi
diff -u "$T/expected" "$T/check.out" || fail "--check-config as ali-link (can it read the file?)"
pass "--check-config on the shipped file names exactly what is missing (as root and as ali-link)"

# --- the installed units, checked by systemd itself ---
inside systemd-analyze verify --man=no "$unitdir/ali-linkd.service" >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify ali-linkd.service: $(cat "$T/verify.out")"
[ ! -s "$T/verify.out" ] || fail "systemd-analyze verify ali-linkd.service: $(cat "$T/verify.out")"
inside systemd-analyze verify --man=no ali-linkd-install@check.service >"$T/verify.out" 2>&1 ||
	fail "systemd-analyze verify ali-linkd-install@.service: $(cat "$T/verify.out")"
[ ! -s "$T/verify.out" ] || fail "systemd-analyze verify ali-linkd-install@.service: $(cat "$T/verify.out")"
inside systemd-analyze security --offline=true --threshold=20 "$unitdir/ali-linkd.service" >"$T/security.out" 2>&1 ||
	fail "systemd-analyze security: $(tail -n 5 "$T/security.out")"
score=$(sed -nE 's/.*Overall exposure level for ali-linkd.service: ([0-9.]+).*/\1/p' "$T/security.out")
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "exposure level \"$score\" is above 2.0"
pass "systemd-analyze verify: clean; security --offline=true: $score"

# --- not configured: it starts, says what to set, and waits ---
inside systemctl log-level debug
inside systemctl start ali-linkd.service || fail "the unconfigured unit did not start"
status=$(unit_prop StatusText)
[ "$status" = "not configured: set product_key, device_name and device_secret in /etc/ali-linkd.conf" ] ||
	fail "StatusText of the unconfigured unit: \"$status\""
wait_for "$J" "ali-linkd\[[0-9]+\]: Not configured: set product_key, device_name and device_secret in /etc/ali-linkd.conf" 10 ||
	fail "no 'Not configured' in the journal"
[ "$(inside systemctl is-active ali-linkd.service)" = active ] || fail "the unconfigured daemon did not stay up"
inside systemctl stop ali-linkd.service
pass "unconfigured: StatusText=\"$status\", running idle"

# --- configured: the device triple, the secret as a credential ---
step "configuring the device; systemctl enable --now"
install -d -m 0755 "$ROOT/etc/ali-linkd"
install -m 0644 "$T/pki/ca.crt" "$ROOT/etc/ali-linkd/test-ca.crt"
install -m 0600 /dev/null "$ROOT/etc/ali-linkd/device-secret"
printf '%s\n' "$SECRET" >"$ROOT/etc/ali-linkd/device-secret"
write_config() { # KEEPALIVE [HOST]: in place, so the file keeps its owner and mode
	cat >"$ROOT/etc/ali-linkd.conf" <<-EOF
		[device]
		product_key = $PK
		device_name = $DN

		[mqtt]
		host = ${2:-127.0.0.1}
		port = $BROKER_PORT
		ca_file = /etc/ali-linkd/test-ca.crt
		keepalive = $1
		user_topics = data
	EOF
}
write_config 60
mkdir -p "$ROOT/etc/systemd/system/ali-linkd.service.d"
printf '[Service]\nLoadCredential=device-secret:/etc/ali-linkd/device-secret\n' \
	>"$ROOT/etc/systemd/system/ali-linkd.service.d/credential.conf"
printf '[Service]\nWatchdogSec=3s\n' >"$ROOT/etc/systemd/system/ali-linkd.service.d/test-watchdog.conf"
expect_file /etc/ali-linkd.conf 640 root:ali-link
inside env CREDENTIALS_DIRECTORY=/etc/ali-linkd ali-linkd --check-config >"$T/check.out" 2>&1 ||
	fail "--check-config with the credential: $(cat "$T/check.out")"
grep -qxF "/etc/ali-linkd.conf: OK (device $PK/$DN, endpoint 127.0.0.1:$BROKER_PORT)" "$T/check.out" ||
	fail "--check-config said: $(cat "$T/check.out")"
inside systemctl daemon-reload
inside systemctl enable --now ali-linkd.service >"$T/enable.out" 2>&1 || fail "enable --now: $(cat "$T/enable.out")"
[ "$(inside systemctl is-active ali-linkd.service)" = active ] || fail "not active after enable --now"
[ "$(inside systemctl is-enabled ali-linkd.service)" = enabled ] || fail "not enabled after enable --now"
wait_for "$J" "ali-linkd\[[0-9]+\]: Connected to 127\.0\.0\.1:$BROKER_PORT" 20 || fail "the daemon did not connect"
wait_notify "STATUS=connected to 127\.0\.0\.1:$BROKER_PORT"
status=$(unit_prop StatusText)
[ "$status" = "connected to 127.0.0.1:$BROKER_PORT" ] || fail "StatusText: \"$status\""
[ "$(unit_prop WatchdogUSec)" = 3s ] || fail "the test's WatchdogSec=3s drop-in is not in effect"
pid=$(mainpid)
[ "$(inside stat -c %U "/proc/$pid")" = ali-link ] || fail "the daemon does not run as ali-link"
inside cat "/proc/$pid/environ" "/proc/$pid/cmdline" | tr '\0' '\n' >"$T/process.out"
grep -qF -e "$SECRET" -e "$PASSWORD_SHA256" "$T/process.out" && fail "the secret is in the daemon's environment or argv"
grep -q '^CREDENTIALS_DIRECTORY=' "$T/process.out" || fail "no CREDENTIALS_DIRECTORY: the credential was not passed"
pass "enable --now: active, StatusText=\"$status\", secret from the credential only"

# aliLinkctl over the container's system bus, with the shipped policy.
inside aliLinkctl status --json >"$T/status.json" 2>&1 || fail "aliLinkctl status: $(cat "$T/status.json")"
for want in '"connected":true' '"state":"connected"' "\"endpoint\":\"127.0.0.1:$BROKER_PORT\"" "\"device_name\":\"$DN\""; do
	grep -qF "$want" "$T/status.json" || fail "aliLinkctl status --json lacks $want: $(cat "$T/status.json")"
done
inside aliLinkctl status | grep -q "^ali-linkd: connected to 127.0.0.1:$BROKER_PORT since" || fail "aliLinkctl status"
as_nobody aliLinkctl status >/dev/null 2>&1 || fail "nobody cannot read the status"
rc=0
as_nobody aliLinkctl publish user/data x >"$T/ctl.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "access denied" "$T/ctl.out" || fail "nobody could publish: $rc $(cat "$T/ctl.out")"
as_ali_link aliLinkctl publish user/data '{"from":"ali-link"}' >"$T/ctl.out" 2>&1 || fail "ali-link cannot publish: $(cat "$T/ctl.out")"
pass "aliLinkctl status over the system bus: connected; nobody reads but may not publish, ali-link may"

set_ok() { # ID JSON-PARAMS: the cloud sets, the daemon must answer 200
	set_property "{\"id\":\"$1\",\"params\":$2,\"version\":\"1.0\"}"
	[ "$(reply)" = "{\"id\":\"$1\",\"code\":200,\"data\":{}}" ] || fail "reply to property set $1: $(cat "$T/cloud.out")"
}
set_ok 601 '{"LightSwitch":1,"RGBColor":{"Red":10,"Green":20,"Blue":30}}'
wait_for "$J" "ali-linkd\[[0-9]+\]: LED \(simulated\): on, colour #0a141e \(10,20,30\)" 5 || fail "the set was not applied"
pass "a cloud property set is answered with 200 and applied"

# --- reload ---
step "systemctl reload with a broken, then a good configuration"
write_config 1
ready=$(notified "READY=1")
inside systemctl reload ali-linkd.service || fail "systemctl reload failed"
wait_for "$J" "ali-linkd\[[0-9]+\]: Keeping the running configuration: /etc/ali-linkd.conf has problems" 10 ||
	fail "the broken file was not refused"
grep -qE "ali-linkd\[[0-9]+\]: /etc/ali-linkd.conf:[0-9]+: invalid keepalive \"1\"" "$J" || fail "the problem was not logged"
wait_notify "READY=1" $((ready + 1))
[ "$(inside systemctl is-active ali-linkd.service)" = active ] && [ "$(mainpid)" = "$pid" ] ||
	fail "the daemon did not survive a broken reload"
set_ok 602 '{"LightSwitch":0}'
pass "broken file: refused with its line, still running on the old one and answering"
# The broker by name this time: name resolution inside the sandbox (debootstrap leaves no /etc/hosts).
echo "127.0.0.1 localhost" >"$ROOT/etc/hosts"
write_config 45 localhost
inside systemctl reload ali-linkd.service || fail "systemctl reload failed"
wait_for "$J" "ali-linkd\[[0-9]+\]: Connection settings changed: reconnecting" 10 || fail "the good file was not applied"
wait_for "$T/broker.log" "New client connected .* k45, u'$DN&$PK'" 15 || fail "no reconnect with keepalive 45"
wait_for "$J" "ali-linkd\[[0-9]+\]: Connected to localhost:$BROKER_PORT" 15 || fail "did not connect to localhost"
[ "$(mainpid)" = "$pid" ] || fail "the daemon restarted instead of reloading"
pass "good file: applied in place, reconnected to localhost with keepalive 45"

# --- stop, then crashes and hangs ---
inside systemctl stop ali-linkd.service
wait_for "$J" "ali-linkd\[$pid\]: Received Terminated, stopping" 10 || fail "no clean stop in the journal"
wait_for "$J" "ali-linkd\.service: Deactivated successfully" 10 || fail "systemd saw no clean stop"
[ "$(unit_prop Result)" = success ] && [ "$(unit_prop ExecMainStatus)" = 0 ] ||
	fail "stop: Result=$(unit_prop Result), ExecMainStatus=$(unit_prop ExecMainStatus)"
pass "systemctl stop: exit 0, Result=success"

step "SIGKILL and SIGSTOP"
inside systemctl start ali-linkd.service
wait_for_count "$J" "ali-linkd\[[0-9]+\]: Connected to localhost:$BROKER_PORT" 2 20 || fail "did not connect after start"
pid=$(mainpid)
inside systemctl kill --signal=SIGKILL ali-linkd.service
wait_for "$J" "ali-linkd\.service: Main process exited, code=killed, status=9/KILL" 10 || fail "SIGKILL not seen"
wait_for "$J" "ali-linkd\.service: Scheduled restart job, restart counter is at 1\." 15 || fail "no restart after SIGKILL"
wait_for_count "$J" "ali-linkd\[[0-9]+\]: Connected to localhost:$BROKER_PORT" 3 20 || fail "did not connect after the restart"
[ "$(unit_prop NRestarts)" = 1 ] && [ "$(mainpid)" != "$pid" ] || fail "SIGKILL: NRestarts=$(unit_prop NRestarts)"
pass "SIGKILL: restarted by systemd"
pid=$(mainpid)
inside systemctl kill --signal=SIGSTOP ali-linkd.service
wait_for "$J" "ali-linkd\.service: Watchdog timeout \(limit 3s\)!" 15 || fail "the watchdog did not fire"
wait_for "$J" "ali-linkd\.service: Failed with result 'watchdog'" 15 || fail "no watchdog failure"
wait_for "$J" "ali-linkd\.service: Scheduled restart job, restart counter is at 2\." 15 || fail "no restart after the watchdog"
wait_for_count "$J" "ali-linkd\[[0-9]+\]: Connected to localhost:$BROKER_PORT" 4 20 || fail "did not connect after the restart"
[ "$(unit_prop NRestarts)" = 2 ] && [ "$(mainpid)" != "$pid" ] || fail "watchdog: NRestarts=$(unit_prop NRestarts)"
set_ok 603 '{"LightSwitch":1}'
pass "SIGSTOP: the watchdog (WatchdogSec=3s drop-in) aborted it and systemd restarted it; answering again"

# --- firmware installation hand-off ---
step "firmware installation: ali-linkd-install@.service through polkit"
cat >"$ROOT/etc/ali-linkd/install-hook" <<-'EOF'
	#!/bin/sh
	{ echo "args $#: $1"; echo "file $ALI_LINKD_OTA_FILE"; echo "version $ALI_LINKD_OTA_VERSION";
	  echo "module $ALI_LINKD_OTA_MODULE"; echo "uid $(id -u)"; sha256sum <"$1"; } >/root/hook.out
	exit 100
EOF
chmod 0755 "$ROOT/etc/ali-linkd/install-hook"
request() { # ID SIZE SIGN: a request as the daemon leaves it, owned by ali-link
	local d=$ROOT/var/lib/ali-linkd/install/$1
	mkdir -p "$d"
	cp "$T/fw.img" "$d/image"
	printf 'ALI_LINKD_OTA_VERSION=2.0.1\nALI_LINKD_OTA_MODULE=default\nALI_LINKD_OTA_SIZE=%s\nALI_LINKD_OTA_SIGN_METHOD=SHA256\nALI_LINKD_OTA_SIGN=%s\n' \
		"$2" "$3" >"$d/manifest"
	inside chown -R ali-link:ali-link /var/lib/ali-linkd/install
}
head -c 200000 /dev/urandom >"$T/fw.img"
fw_sha=$(sha256sum <"$T/fw.img" | cut -d' ' -f1)
request fw-1 200000 "$fw_sha"
as_ali_link systemctl start ali-linkd-install@fw-1.service >"$T/install.out" 2>&1 ||
	fail "ali-link could not start ali-linkd-install@fw-1.service: $(cat "$T/install.out")"
[ "$(unit_prop Result ali-linkd-install@fw-1.service)" = success ] &&
	[ "$(unit_prop ExecMainStatus ali-linkd-install@fw-1.service)" = 100 ] &&
	[ "$(unit_prop ActiveState ali-linkd-install@fw-1.service)" = active ] || fail "ali-linkd-install@fw-1: $(inside systemctl status ali-linkd-install@fw-1.service)"
printf '%s\n' "args 1: /var/lib/ali-linkd-install/fw-1.img" "file /var/lib/ali-linkd-install/fw-1.img" \
	"version 2.0.1" "module default" "uid 0" "$fw_sha  -" >"$T/expected"
diff -u "$T/expected" "$ROOT/root/hook.out" || fail "what the hook got"
[ ! -e "$ROOT/var/lib/ali-linkd-install/fw-1.img" ] || fail "the root-only copy was left behind"
wait_for "$T/install.log" "ali-linkd-install\[[0-9]+\]: ali-linkd-install: firmware 2.0.1 installed; a reboot is pending" 5 ||
	fail "the installation is not in the journal"
pass "ali-link starts ali-linkd-install@fw-1: the hook ran as root on a verified copy, exit 100 kept as the result"

rm -f "$ROOT/root/hook.out"
request fw-2 200000 "$(printf '%064d' 0)"
as_ali_link systemctl start ali-linkd-install@fw-2.service >"$T/install.out" 2>&1 && fail "a wrong digest was installed"
[ "$(unit_prop Result ali-linkd-install@fw-2.service)" = exit-code ] || fail "fw-2: $(unit_prop Result ali-linkd-install@fw-2.service)"
wait_for "$T/install.log" "the image's SHA256 digest is $fw_sha, the manifest says 0000" 5 || fail "the digest mismatch is not logged"
request fw-3 200000 "$fw_sha"
ln -sf /etc/shadow "$ROOT/var/lib/ali-linkd/install/fw-3/image"
as_ali_link systemctl start ali-linkd-install@fw-3.service >"$T/install.out" 2>&1 && fail "a link to /etc/shadow was followed"
wait_for "$T/install.log" "ali-linkd-install: cannot read /var/lib/ali-linkd/install/fw-3/image as ali-link" 5 ||
	fail "the planted link is not refused as such"
[ ! -e "$ROOT/root/hook.out" ] || fail "the hook ran on a refused request"
pass "a wrong digest and a planted link are refused; the hook never runs"

denied() { # WHO VERB UNIT: polkit must say no
	"as_$1" systemctl "$2" "$3" >"$T/install.out" 2>&1 && fail "$1 may $2 $3"
	grep -qE "Access denied|Interactive authentication required" "$T/install.out" ||
		fail "$1 $2 $3 failed, but not for lack of authorisation: $(cat "$T/install.out")"
}
denied nobody start ali-linkd-install@fw-1x.service
[ "$(unit_prop ActiveState ali-linkd-install@fw-1x.service)" = inactive ] || fail "nobody's request ran"
denied ali_link stop ali-linkd.service
denied ali_link restart ali-linkd-install@fw-1.service
denied ali_link start systemd-journald.service
denied ali_link start "ali-linkd-install@..service"
[ "$(inside systemctl is-active ali-linkd.service)" = active ] || fail "ali-linkd.service is no longer running"
pass "polkit: nobody else may start it, and ali-link may do nothing else"

# --- a firmware update end to end, through the hand-off ---
step "firmware update: push, download, verify, ali-linkd-install@ID.service, progress 100"
nginx_start
make_image fw-2.bin 300000
fw2_sha=$(sha256sum <"$T/www/fw-2.bin" | cut -d' ' -f1)
printf '%s\n' '#!/bin/sh' \
	'{ echo "version $ALI_LINKD_OTA_VERSION"; echo "uid $(id -u)"; sha256sum <"$1"; } >/root/hook.out' \
	'echo "$ALI_LINKD_OTA_VERSION" >/etc/ali-linkd/firmware-version' 'exit 0' >"$ROOT/etc/ali-linkd/install-hook"
echo 1.0.0 >"$ROOT/etc/ali-linkd/firmware-version"
write_config 60 localhost
printf '\n[ota]\nversion_file = /etc/ali-linkd/firmware-version\ninstall_unit = ali-linkd-install\nca_file = /etc/ali-linkd/test-ca.crt\n' \
	>>"$ROOT/etc/ali-linkd.conf"
n=$(count_lines "$J" "ali-linkd\[[0-9]+\]: (Configuration reloaded|Connection settings changed)")
inside systemctl reload ali-linkd.service || fail "reload with the [ota] section"
wait_for_count "$J" "ali-linkd\[[0-9]+\]: (Configuration reloaded|Connection settings changed)" $((n + 1)) 20 ||
	fail "the [ota] section was not loaded"
ota_listen
ota_push "$URL_BASE/fw-2.bin" 300000 2.0.0 SHA256 "$fw2_sha"
wait_step 100 60 || fail "no progress 100: $(steps | tr '\n' ' '); $(grep -E 'ali-linkd(-install)?\[' "$J" | tail -n 5)"
wait_inform 2.0.0 1 20 || fail "the new version was not reported"
printf '%s\n' "version 2.0.0" "uid 0" "$fw2_sha  -" | diff -u - "$ROOT/root/hook.out" || fail "what the hook got"
# The journal follower writing $J may lag behind the cloud's view: wait for it.
wait_for "$J" "ali-linkd-install@fw-2\.0\.0-[0-9]+\.service" 20 || fail "the installer unit does not appear in the journal"
unit=$(grep -oE "ali-linkd-install@fw-2\.0\.0-[0-9]+\.service" "$J" | head -n 1)
[ "$(unit_prop Result "$unit")" = success ] && [ "$(unit_prop ExecMainStatus "$unit")" = 0 ] ||
	fail "$unit: $(unit_prop Result "$unit")"
! ls "$ROOT/var/lib/ali-linkd/install" 2>/dev/null | grep -q '^fw-2\.0\.0-' || fail "the request directory was left behind"
grep -q '^GET /fw-2.bin .* status=200 sent=300000$' "$T/nginx-access.log" || fail "nginx did not serve the image: $(cat "$T/nginx-access.log")"
pass "firmware 2.0.0: downloaded over HTTPS, verified, installed by $unit as root, progress 100, version reported"

# --- the journal's story ---
inside journalctl --unit=ali-linkd.service --output=cat --no-pager >"$T/unit-journal.log"
prev=0
for line in "Not configured: set product_key" "Device $PK/$DN, endpoint 127.0.0.1:$BROKER_PORT" \
	"Connected to 127.0.0.1:$BROKER_PORT" "Property set 601 from the cloud" \
	"Keeping the running configuration" "Connection settings changed: reconnecting" "Received Terminated, stopping" \
	"Connected to localhost:$BROKER_PORT" "Main process exited, code=killed, status=9/KILL" "Watchdog timeout" \
	"Connected to localhost:$BROKER_PORT"; do
	n=$(grep -nF -- "$line" "$T/unit-journal.log" | cut -d: -f1 | awk -v p="$prev" '$1 > p { print; exit }')
	[ -n "$n" ] || fail "journalctl -u ali-linkd: \"$line\" missing or out of order"
	prev=$n
done
inside journalctl --output=export --no-pager >"$T/journal-export.log"
assert_no_secrets
pass "journalctl -u ali-linkd tells the story in order; no secret anywhere in the journal"

# --- lintian and the man pages (host) ---
wait "$lintian_pid" || fail "lintian: $(cat "$T/lintian.out")"
grep -E '^[EW]: ' "$T/lintian.out" && fail "lintian reports errors or warnings"
mkdir "$T/deb-root"
dpkg-deb -x "$deb" "$T/deb-root"
pages=0
for page in "$T"/deb-root/usr/share/man/man*/*; do
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" >/dev/null 2>"$T/man.err" || fail "man ${page##*/}"
	[ ! -s "$T/man.err" ] || fail "man --warnings ${page##*/}: $(cat "$T/man.err")"
	pages=$((pages + 1))
done
[ "$pages" -ge 2 ] || fail "only $pages man pages in the package"
pass "lintian: no errors or warnings ($(grep -c '^[IPX]: ' "$T/lintian.out" || true) info/pedantic); man --warnings: $pages pages clean"

# --- remove keeps, purge removes ---
step "apt-get remove, then purge"
inside timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q ali-linkd >>"$T/apt.log" 2>&1 || fail "apt-get remove"
for f in /etc/ali-linkd.conf /etc/ali-linkd/device-secret /var/lib/ali-linkd; do
	inside test -e "$f" || fail "apt-get remove deleted $f"
done
inside test ! -e /usr/sbin/ali-linkd || fail "apt-get remove left the daemon"
inside timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q ali-linkd >>"$T/apt.log" 2>&1 || fail "apt-get purge"
if inside dpkg-query --show ali-linkd >/dev/null 2>&1; then fail "ali-linkd is still known to dpkg"; fi
inside find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /srv/ali-linkd \
	-o -path /var/cache/apt/archives \) -prune -o \( -name '*ali-link*' -o -name '*alilinkd*' \) -print >"$T/left.out"
[ ! -s "$T/left.out" ] || fail "left behind after purge: $(cat "$T/left.out")"
[ -z "$(inside dpkg-statoverride --list /etc/ali-linkd.conf)" ] || fail "the statoverride is left behind"
inside getent passwd ali-link >/dev/null || fail "the system user ali-link was removed (Debian keeps system users)"
pass "remove keeps the configuration and state; purge leaves no file behind (the system user ali-link stays, as Debian does)"

container_stop
pass "done in $(($(date +%s) - START)) s"
