#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Reloading: SIGHUP (applied or refused, once or a storm of 200) refreshes STATUS= and publishes nothing;
# aliLinkctl reload into a valid file without a device triple applies it, exits 0 and says that the
# daemon now waits for the triple; moving state_directory is refused; the full file again reconnects.
. "$(dirname "$0")/lib.sh"

OTA_INFORM_TOPIC=/ota/device/inform/$PK/$DN
OTA_GET_TOPIC=/sys/$PK/$DN/thing/ota/firmware/get

"$TESTS_BUILD/notify-listen" "$T/notify.sock" >"$T/notify.out" &
_BG_PIDS+=($!)
wait_for "$T/notify.out" "^# listening" 5 || fail "notify-listen did not start"

broker_start
bus_start
daemon_config
export NOTIFY_SOCKET=$T/notify.sock
daemon_start
unset NOTIFY_SOCKET
daemon_wait_connected
wait_for "$T/notify.out" "^STATUS=connected to 127\.0\.0\.1:$BROKER_PORT$" 10 || fail "no STATUS=connected"

# Everything the device sends on its own, from here on.
cloud_listen sent --sub "$TOPIC_POST" --sub "$TOPIC_SET_REPLY" --sub "$OTA_INFORM_TOPIC" --sub "$OTA_GET_TOPIC"

# An unchanged file, then a broken one: both end with READY=1 and the STATUS= of the running session.
kill -HUP "$DAEMON_PID"
wait_for_count "$T/notify.out" "^READY=1$" 2 5 || fail "no READY=1 after SIGHUP"
cp "$T/ali-linkd.conf" "$T/good.conf"
printf '[mqtt]\nkeepalive = 1\n' >>"$T/ali-linkd.conf"
kill -HUP "$DAEMON_PID"
wait_for_count "$T/notify.out" "^READY=1$" 3 5 || fail "no READY=1 after the refused SIGHUP"
wait_for "$T/daemon.log" "Keeping the running configuration" 5 || fail "the broken file was not refused"
[ "$(grep -A2 "^STATUS=reloading " "$T/notify.out" | grep -c -x "STATUS=connected to 127.0.0.1:$BROKER_PORT")" = 2 ] ||
	fail "a reload does not end with the session's STATUS=: $(cat "$T/notify.out")"
cp "$T/good.conf" "$T/ali-linkd.conf"

# A storm of SIGHUPs with an unchanged file: each reload repeats STATUS= only.
for _ in $(seq 200); do kill -HUP "$DAEMON_PID"; done
wait_for_count "$T/notify.out" "^READY=1$" 4 10 || fail "no READY=1 after the SIGHUP storm"

# A marker the cloud causes: its set_reply and post come after anything the reloads could have sent.
set_property '{"id":"4711","version":"1.0","params":{"LightSwitch":1}}'
wait_for "$T/sent.out" "^$TOPIC_SET_REPLY .*\"id\":\"4711\"" 10 || fail "no set_reply for the marker"
wait_for "$T/sent.out" "^$TOPIC_POST " 10 || fail "no post after the marker"
[ "$(grep -c . "$T/sent.out")" = 3 ] && [ "$(sed -n 2p "$T/sent.out" | cut -d' ' -f1)" = "$TOPIC_SET_REPLY" ] ||
	fail "the reloads published something: $(cat "$T/sent.out")"
pass "SIGHUP, applied or refused, refreshes STATUS= and publishes nothing"

# Moving the state directory under a running daemon would strand its queue: refused, it needs a restart.
sed "s|^state_directory = .*|state_directory = $T/elsewhere|" "$T/good.conf" >"$T/ali-linkd.conf"
rc=0
ctl reload >"$T/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "running configuration was kept" "$T/out" || fail "reload moving state_directory: $rc $(cat "$T/out")"
wait_for "$T/daemon.log" "state_directory changed from $T/state to $T/elsewhere, which takes a restart" 5 ||
	fail "the refusal does not say why"
[ ! -e "$T/elsewhere" ] || fail "the new state directory was created"
cp "$T/good.conf" "$T/ali-linkd.conf"
pass "reload refuses to move state_directory"

# A valid file without the device triple: applied, exit 0, and the CLI says the daemon now idles.
grep -vE "^(product_key|device_name|device_secret_file) =" "$T/good.conf" >"$T/ali-linkd.conf"
rc=0
ctl reload >"$T/out" 2>&1 || rc=$?
[ $rc = 0 ] || fail "reload into an unconfigured file: exit $rc: $(cat "$T/out")"
grep -q "not configured" "$T/out" || fail "reload into an unconfigured file does not say so: $(cat "$T/out")"
ctl status --json | grep -qF '"state":"unconfigured"' || fail "not unconfigured after the reload: $(ctl status --json)"
wait_for "$T/notify.out" "^STATUS=not configured: set product_key, device_name and device_secret" 5 ||
	fail "no STATUS= for the unconfigured daemon"
pass "reload into a valid unconfigured file exits 0 and says so"

# And back: the full file reconnects.
cp "$T/good.conf" "$T/ali-linkd.conf"
ctl reload >"$T/out" 2>&1 || fail "reload of the full file: $(cat "$T/out")"
wait_for_count "$T/daemon.log" "Connected to 127\.0\.0\.1:$BROKER_PORT" 2 15 || fail "no reconnect after the full file"
pass "reload of the full file reconnects"

[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
