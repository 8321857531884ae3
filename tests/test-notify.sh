#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd contract, through a notification socket of our own: READY=1 once running (not waiting for
# the cloud), STATUS= on every connection change, watchdog pings from the loop, RELOADING=1 ... READY=1
# on SIGHUP (a broken file is not applied), STOPPING=1 on SIGTERM.
. "$(dirname "$0")/lib.sh"

"$TESTS_BUILD/notify-listen" "$T/notify.sock" >"$T/notify.out" &
_BG_PIDS+=($!)
wait_for "$T/notify.out" "^# listening" 5 || fail "notify-listen did not start"

broker_start
daemon_config
export NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=2000000
daemon_start
unset NOTIFY_SOCKET WATCHDOG_USEC

wait_for "$T/notify.out" "^READY=1$" 5 || fail "no READY=1"
wait_for "$T/notify.out" "^STATUS=connected to 127\.0\.0\.1:$BROKER_PORT$" 10 || fail "no STATUS=connected"
grep -qx "STATUS=connecting to 127.0.0.1:$BROKER_PORT" "$T/notify.out" || fail "no STATUS=connecting"
wait_for_count "$T/notify.out" "^WATCHDOG=1$" 2 5 || fail "no watchdog pings (WATCHDOG_USEC=2 s)"
pass "READY=1, STATUS=connected, watchdog pings"

port=$BROKER_PORT
broker_stop KILL
wait_for "$T/notify.out" "^STATUS=reconnecting in [0-9]+ s: (the server closed the connection|cannot connect to 127\.0\.0\.1:$port: Connection refused)$" 10 ||
	fail "no STATUS=reconnecting with the reason"
pass "STATUS=reconnecting with the reason"

# SIGHUP with a broken file: reloading, the problems logged, the old configuration kept, READY=1 again.
cp "$T/ali-linkd.conf" "$T/good.conf"
printf '[mqtt]\nkeepalive = 1\n' >>"$T/ali-linkd.conf"
kill -HUP "$DAEMON_PID"
wait_for "$T/notify.out" "^RELOADING=1$" 5 || fail "no RELOADING=1"
wait_for_count "$T/notify.out" "^READY=1$" 2 5 || fail "no READY=1 after the reload"
wait_for "$T/daemon.log" "Keeping the running configuration" 5 || fail "a broken file was not refused"
grep -q "ali-linkd.conf:[0-9]*: invalid keepalive \"1\"" "$T/daemon.log" || fail "the problem was not logged with its line"
daemon_alive || fail "the daemon died on a broken reload"
pass "SIGHUP with a broken file keeps the running configuration"

# SIGHUP with a good, changed file: reconnect with the new settings.
broker_start server "$port"
cp "$T/good.conf" "$T/ali-linkd.conf"
sed -i 's/^keepalive = .*/keepalive = 45/' "$T/ali-linkd.conf"
kill -HUP "$DAEMON_PID"
wait_for_count "$T/notify.out" "^READY=1$" 3 5 || fail "no READY=1 after the second reload"
wait_for "$T/daemon.log" "Connection settings changed: reconnecting" 5 || fail "changed settings not applied"
wait_for "$T/broker.log" "New client connected .* k45, u'$DN&$PK'" 15 || fail "did not reconnect with keepalive 45"
pass "SIGHUP with changed settings reconnects"

[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
grep -qx "STOPPING=1" "$T/notify.out" || fail "no STOPPING=1"
pass "STOPPING=1"
