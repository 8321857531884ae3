#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A host name with an IPv6 and an IPv4 address, the broker listening on only one of them: the daemon's
# first TCP connect goes to the other and is refused; the next attempt must use the other family, not
# repeat the same address forever. The daemon runs in a mount namespace of its own with an /etc/hosts
# and an /etc/gai.conf made for the test.
. "$(dirname "$0")/lib.sh"

need unshare mount getent
[ "$(id -u)" -eq 0 ] || skip "needs root (a mount namespace for the test's /etc/hosts)"
# Making mounts private needs / to be a mount point: not so in a chroot.
unshare --mount --propagation private true 2>/dev/null ||
	skip "cannot make a private mount namespace here (a chroot whose / is no mount point?)"

printf '::1 localhost\n127.0.0.1 localhost\n' >"$T/hosts"
: >"$T/gai-default.conf"
# RFC 6724 puts ::1 first; this precedence table puts IPv4 (as ::ffff:0:0/96) above everything.
printf 'precedence ::ffff:0:0/96 100\nprecedence ::1/128 50\nprecedence ::/0 40\n' >"$T/gai-ipv4.conf"
# with-hosts GAI_CONF COMMAND...: the test's /etc/hosts and GAI_CONF as /etc/gai.conf, then COMMAND.
printf '%s\n' '#!/bin/sh' \
	"mount --bind '$T/hosts' /etc/hosts || exit 1" \
	'[ -e /etc/gai.conf ] || : >/etc/gai.conf' \
	'mount --bind "$1" /etc/gai.conf || exit 1' \
	'shift' \
	'exec "$@"' >"$T/with-hosts"
chmod +x "$T/with-hosts"
ns() { unshare --mount --propagation private "$T/with-hosts" "$@"; }

first=$(ns "$T/gai-default.conf" getent ahosts localhost | head -n 1 | cut -d' ' -f1)
[ "$first" = ::1 ] || fail "the test's /etc/hosts should make localhost resolve to ::1 first, not \"$first\""
first=$(ns "$T/gai-ipv4.conf" getent ahosts localhost | head -n 1 | cut -d' ' -f1)
[ "$first" = 127.0.0.1 ] || fail "the test's /etc/gai.conf should make localhost resolve to 127.0.0.1 first, not \"$first\""

# try FIRST GAI_CONF BROKER_ADDR OTHER: localhost resolves to FIRST first, the broker listens on OTHER only.
try() {
	local first=$1 gai=$2 addr=$3 other=$4
	rm -f "$T/daemon.log" "$T/broker.log" "$T/ali-linkd.conf"
	BROKER_ADDR=$addr broker_start
	DAEMON_HOST=localhost daemon_config
	DAEMON_WRAPPER="unshare --mount --propagation private $T/with-hosts $gai" daemon_start
	wait_for "$T/daemon.log" "^Connection to localhost:$BROKER_PORT failed: cannot connect to localhost:$BROKER_PORT: Connection refused; retrying in" 10 ||
		fail "$first first: the first attempt did not fail as expected"
	wait_for "$T/daemon.log" "Connecting to localhost:$BROKER_PORT over $other: the last TCP connect over $first failed" 10 ||
		fail "$first first: the next attempt did not switch to $other"
	DAEMON_HOST=localhost daemon_wait_connected 15
	wait_for "$T/broker.log" "alink-auth: accepted" 5 || fail "$first first: no login over $other"
	[ "$(daemon_stop TERM)" = 0 ] || fail "exit status after SIGTERM"
	broker_stop
	pass "localhost names $first first, the broker listens on $addr only: refused once, then connected over $other"
}

try IPv6 "$T/gai-default.conf" 127.0.0.1 IPv4
try IPv4 "$T/gai-ipv4.conf" ::1 IPv6

# A name with IPv4 addresses only and nobody listening: one attempt finds no IPv6 address to try; after
# that each attempt resolves the name once, not twice.
printf '127.0.0.1 localhost\n' >"$T/hosts"
rm -f "$T/daemon.log" "$T/ali-linkd.conf"
BROKER_PORT=$("$TESTS_BUILD/free-port")
DAEMON_HOST=localhost daemon_config
DAEMON_WRAPPER="unshare --mount --propagation private $T/with-hosts $T/gai-default.conf" daemon_start
wait_for_count "$T/daemon.log" "^Connection to localhost:$BROKER_PORT failed" 4 30 || fail "fewer than 4 attempts"
n=$(count_lines "$T/daemon.log" "^No localhost address to try")
[ "$n" = 1 ] || fail "expected the missing family to be tried once (one \"No localhost address to try\" line), got $n"
[ "$(daemon_stop TERM)" = 0 ] || fail "exit status after SIGTERM"
pass "IPv4 only, nobody listening: the missing IPv6 family is looked for once, not on every attempt"
