#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The broker is killed and restarted: the daemon notices, backs off, reconnects, subscribes again, and
# answers the next property set.
. "$(dirname "$0")/lib.sh"

broker_start
daemon_config
daemon_start
daemon_wait_connected

port=$BROKER_PORT
broker_stop KILL
wait_for "$T/daemon.log" "^Disconnected from 127\.0\.0\.1:$port: (the server closed the connection|connection lost)" 10 ||
	fail "the daemon did not notice the broker going away"
wait_for "$T/daemon.log" "^Connection to 127\.0\.0\.1:$port failed: cannot connect to 127\.0\.0\.1:$port: Connection refused; retrying in" 10 ||
	fail "no clear reconnect failure"
pass "disconnect noticed"

mv "$T/broker.log" "$T/broker-1.log"
broker_start server "$port"
wait_for_count "$T/daemon.log" "^Connected to 127\.0\.0\.1:$port" 2 30 || fail "the daemon did not reconnect"
wait_for "$T/broker.log" "alink-auth: accepted" 5 || fail "no login after restart"
for t in "/sys/$PK/$DN/thing/service/property/set" "/$PK/$DN/user/data"; do
	grep -qF " $t" "$T/broker.log" || fail "not subscribed again to $t"
done
pass "reconnected and resubscribed"

cloud --sub "$TOPIC_SET_REPLY" --pub "$TOPIC_SET" '{"id":"100","params":{"LightSwitch":1}}' \
	--expect "$TOPIC_SET_REPLY" --timeout 10 >"$T/cloud.out" 2>"$T/cloud.err" || fail "no answer after reconnect"
grep -qF '{"id":"100","code":200,"data":{}}' "$T/cloud.out" || fail "wrong reply after reconnect"
pass "property set answered after reconnect"

[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
assert_no_secrets
