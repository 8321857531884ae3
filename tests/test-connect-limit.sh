#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The platform allows 5 connection attempts a minute per device, whatever asks: D-Bus Reconnect calls and
# reloads that build a new session share one attempt history, and the attempt past the limit waits.
. "$(dirname "$0")/lib.sh"

broker_start
bus_start
daemon_config
daemon_start
daemon_wait_connected

connects() { count_lines "$T/broker.log" "New client connected .* u'$DN&$PK'"; }
[ "$(connects)" = 1 ] || fail "expected one connect at start, saw $(connects)"

# Eight Reconnect calls at once: four more connects, then the limit.
for _ in $(seq 8); do
	busctl --address="$TEST_BUS_ADDRESS" call org.alilinkd1 /org/alilinkd1 org.alilinkd1.Manager Reconnect ||
		fail "Reconnect"
done
wait_for "$T/daemon.log" "At most 5 connection attempts a minute are allowed for this device; connecting in" 10 ||
	fail "Reconnect was not limited"
wait_for_count "$T/broker.log" "New client connected .* u'$DN&$PK'" 5 10 || fail "fewer than 5 connects: $(connects)"
[ "$(connects)" = 5 ] || fail "Reconnect: $(connects) connects within a minute"
ctl status --json | grep -qF '"state":"backoff"' || fail "not waiting: $(ctl status --json)"
pass "Reconnect: 5 attempts a minute, then a wait"

# A reload with new connection settings builds a new session: it inherits the history.
sed -i 's/^keepalive = .*/keepalive = 45/' "$T/ali-linkd.conf"
n=$(count_lines "$T/daemon.log" "At most 5 connection attempts a minute")
kill -HUP "$DAEMON_PID"
wait_for "$T/daemon.log" "Connection settings changed: reconnecting" 5 || fail "the reload did not apply"
wait_for_count "$T/daemon.log" "At most 5 connection attempts a minute" $((n + 1)) 10 || fail "the new session was not limited"
[ "$(connects)" = 5 ] || fail "reload: $(connects) connects within a minute"
pass "a reload's new session shares the attempt history"

[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
