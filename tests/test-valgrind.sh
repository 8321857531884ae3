#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon's main integration flow under valgrind's memcheck: sign in, answer good and bad property sets,
# serve D-Bus calls, survive a broker restart, stop on SIGTERM. No memory errors, no "definitely lost"
# blocks. (Not run in sanitizer builds: the two do not mix.)
. "$(dirname "$0")/lib.sh"
need valgrind

bus_start
broker_start
daemon_config
DAEMON_WRAPPER="valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --log-file=$T/valgrind.log" \
	daemon_start
daemon_wait_connected 60

SET_TIMEOUT=30 # everything is slower under valgrind
set_property '{"id":"1","params":{"LightSwitch":1,"RGBColor":{"Red":255,"Green":0,"Blue":128}}}'
grep -qF '"code":200' "$T/cloud.out" || fail "set 1"
set_property '{"id":"2","params":{"RGBColor":{"Red":300}}}'
grep -qF '"code":460' "$T/cloud.out" || fail "set 2"
set_property '{"id":"3","params":{'
grep -qF '"code":400' "$T/cloud.out" || fail "set 3"
set_property '{"id":"4","params":{"Nope":1}}'
grep -qF '"code":460' "$T/cloud.out" || fail "set 4"
ctl status --json >/dev/null || fail "status"
ctl led 0,255,0 || fail "led"
rc=0
ctl publish /x/y/user/z q >/dev/null 2>&1 || rc=$?
[ $rc = 1 ] || fail "foreign topic accepted"
pass "property sets and D-Bus calls under valgrind"

port=$BROKER_PORT
broker_stop KILL
wait_for "$T/daemon.log" "^Disconnected from" 30 || fail "disconnect not noticed"
broker_start server "$port"
wait_for_count "$T/daemon.log" "^Connected to 127\.0\.0\.1:$port" 2 60 || fail "no reconnect"
set_property '{"id":"5","params":{"LightSwitch":0}}'
grep -qF '"code":200' "$T/cloud.out" || fail "set after reconnect"
pass "reconnect under valgrind"

rc=$(daemon_stop TERM 60)
[ "$rc" = 0 ] || fail "exit status $rc under valgrind (99 = memcheck errors): $(grep -E 'ERROR SUMMARY|definitely' "$T/valgrind.log")"
grep -qE "ERROR SUMMARY: 0 errors" "$T/valgrind.log" || fail "memcheck errors: $(grep 'ERROR SUMMARY' "$T/valgrind.log")"
if grep -qE "definitely lost: [1-9]" "$T/valgrind.log"; then
	fail "definitely lost blocks: $(grep -A20 'definitely lost in' "$T/valgrind.log" | head -40)"
fi
pass "valgrind: $(grep -E 'ERROR SUMMARY' "$T/valgrind.log" | sed 's/^==[0-9]*== //'); $(grep -E 'definitely lost|All heap blocks' "$T/valgrind.log" | sed 's/^==[0-9]*== *//' | head -1)"
assert_no_secrets
