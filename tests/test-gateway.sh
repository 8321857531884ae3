#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Sub-devices end to end: the daemon as a gateway with four sub-devices from its configuration, against the
# test broker playing the platform (tests/alink-auth-plugin.c: topology, logins, per-sub-device topics,
# auto-subscription). Three come online (one bound already, two bound by topo/add); the one with a wrong
# secret (bound already, so its login says so) is parked with a clear log line that never shows the
# secret. A cloud property set to a
# sub-device reaches its binding and is answered and posted on the sub-device's own topics; a broker
# restart logs all in again and posts their snapshots; a 520 logs that one in again; disable parks it and
# enable brings it back; stopping logs them out.
. "$(dirname "$0")/lib.sh"

SUB=a1SubLamp01
subdevice_add "$SUB" lamp01 sub-secret-1 "$PK/$DN"
subdevice_add "$SUB" lamp02 sub-secret-2
subdevice_add "$SUB" lamp03 sub-secret-3
subdevice_add "$SUB" lamp04 the-platforms-secret-4 "$PK/$DN"
subdevice_add "$SUB" meter01 sub-secret-5
bus_start
broker_start
port=$BROKER_PORT
daemon_config
for i in 1 2 3 4; do
	secret=sub-secret-$i
	[ $i = 4 ] && secret=not-the-secret-4
	printf '%s\n' "$secret" >"$T/lamp0$i.secret"
	chmod 0600 "$T/lamp0$i.secret"
	cat >>"$T/ali-linkd.conf" <<-EOF

		[subdevice.lamp0$i]
		product_key = $SUB
		device_name = lamp0$i
		device_secret_file = $T/lamp0$i.secret
	EOF
	if [ $i = 3 ]; then
		# lamp03 is a thermostat, served by a local program (tests/thing-handler.py) over D-Bus.
		printf 'tsl = %s\n' "$top_srcdir/tests/data/thing/thermostat.json" >>"$T/ali-linkd.conf"
	else
		printf 'tsl = %s\n\n[subdevice.lamp0%s.binding.Brightness]\ntype = file\npath = %s\ncreate = yes\n' \
			"$top_srcdir/data/tsl/rgb-light.json" $i "$T/lamp0$i.brightness" >>"$T/ali-linkd.conf"
	fi
done

"$DAEMON" --check-config --config "$T/ali-linkd.conf" >"$T/check.out" 2>&1 || fail "--check-config: $(cat "$T/check.out")"
daemon_start
daemon_wait_connected

for i in 1 2 3; do
	wait_for "$T/broker.log" "alink-auth: login $SUB/lamp0$i for $PK/$DN: online" 15 || fail "lamp0$i did not come online"
done
wait_for "$T/broker.log" "alink-auth: topo/add $SUB/lamp02 for $PK/$DN: bound" 5 || fail "lamp02 was not bound"
! grep -q "topo/add $SUB/lamp01 for" "$T/broker.log" || fail "lamp01, bound already, was bound again"
wait_for "$T/daemon.log" "Sub-device $SUB/lamp04 is parked: the platform refused its signature \(6287\)" 15 ||
	fail "the wrong secret was not said: $(grep -i lamp04 "$T/daemon.log" | tail -n 5)"
! grep -q "alink-auth: login $SUB/lamp04 for $PK/$DN: online" "$T/broker.log" || fail "lamp04 came online"
grep -q "not-the-secret-4\|sub-secret-" "$T/daemon.log" && fail "a sub-device's secret is in the log"
ctl status | grep -qx " Sub-devices: 3 online of 4 (aliLinkctl devices)" || fail "status: $(ctl status)"
ctl devices >"$T/devices.out" || fail "aliLinkctl devices failed"
grep -qx "$PK/$DN online" "$T/devices.out" && grep -qx "$SUB/lamp01 online" "$T/devices.out" &&
	grep -qx "$SUB/lamp04 parked" "$T/devices.out" || fail "devices: $(cat "$T/devices.out")"
ctl devices --json | grep -qF "{\"product_key\":\"$SUB\",\"device_name\":\"lamp04\",\"state\":\"parked\"" ||
	fail "devices --json: $(ctl devices --json)"
pass "three sub-devices online (one bound already, two by topo/add), the wrong secret parked, no secret logged"

# A cloud property set to lamp01: its binding writes, the answer and the post come on lamp01's topics.
S1=/sys/$SUB/lamp01
cloud --sub "$S1/thing/service/property/set_reply" --sub "$S1/thing/event/property/post" \
	--pub "$S1/thing/service/property/set" '{"id":"41","params":{"Brightness":40}}' \
	--expect "$S1/thing/service/property/set_reply" --expect "$S1/thing/event/property/post" --timeout 10 \
	>"$T/set.out" 2>&1 || fail "no answer from lamp01: $(cat "$T/set.out")"
grep -qF "$S1/thing/service/property/set_reply {\"id\":\"41\",\"code\":200,\"data\":{}}" "$T/set.out" || fail "set_reply: $(cat "$T/set.out")"
grep -F "$S1/thing/event/property/post " "$T/set.out" | grep -qF '"Brightness":40' || fail "post: $(cat "$T/set.out")"
[ "$(cat "$T/lamp01.brightness")" = 40 ] || fail "the binding holds $(cat "$T/lamp01.brightness")"
[ ! -e "$T/lamp02.brightness" ] || fail "lamp02's binding was written"
# Checked against lamp01's own thing model.
cloud --sub "$S1/thing/service/property/set_reply" --pub "$S1/thing/service/property/set" '{"id":"42","params":{"Brightness":400}}' \
	--expect "$S1/thing/service/property/set_reply" --timeout 10 >"$T/set.out" 2>&1 || fail "no answer to a bad set"
grep -qF '"id":"42","code":460' "$T/set.out" || fail "bad set: $(cat "$T/set.out")"
pass "a sub-device's set: its binding, its reply and post on its own topics, its own thing model"

# A local program claims lamp03 (a sub-device is an org.alilinkd1.Device like the gateway's own) and
# answers a cloud set and a synchronous service; when it leaves, its claim goes.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import dbus, gi' 2>/dev/null || fail "python3-dbus and python3-gi are needed"
DBUS_SYSTEM_BUS_ADDRESS=$TEST_BUS_ADDRESS "$PYTHON" "$top_srcdir/tests/thing-handler.py" "$SUB" lamp03 \
	>"$T/handler.out" 2>"$T/handler.err" &
HANDLER_PID=$!
_BG_PIDS+=($HANDLER_PID)
wait_for "$T/handler.out" "^claimed /org/alilinkd1/device/" 10 || fail "the handler could not claim lamp03: $(cat "$T/handler.err")"
S3=/sys/$SUB/lamp03
cloud --sub "$S3/thing/service/property/set_reply" --sub "/ext/rrpc/9001$S3/thing/service/GetReport" \
	--pub "$S3/thing/service/property/set" '{"id":"51","params":{"Mode":2}}' \
	--pub "/ext/rrpc/9001$S3/thing/service/GetReport" '{"id":"52","params":{}}' \
	--count 3 --timeout 10 >"$T/handler-set.out" 2>&1 ||
	fail "lamp03 through its handler: $(cat "$T/handler-set.out")"
grep -qF "$S3/thing/service/property/set_reply {\"id\":\"51\",\"code\":200,\"data\":{}}" "$T/handler-set.out" ||
	fail "set through the handler: $(cat "$T/handler-set.out")"
grep -qF '{"id":"52","code":200,"data":{"Uptime":42,"Note":"all good"}}' "$T/handler-set.out" ||
	fail "sync service through the handler: $(cat "$T/handler-set.out")"
grep -q '^set {"Mode":2}$' "$T/handler.out" || fail "the handler saw: $(cat "$T/handler.out")"
kill "$HANDLER_PID"
wait "$HANDLER_PID" 2>/dev/null || true
wait_for "$T/daemon.log" "left the bus; its claim is dropped" 5 || fail "the claim was not dropped"
pass "a sub-device claimed over D-Bus: a set and a sync service answered by the handler; claim gone with it"

# A program adds a sub-device of its own over D-Bus (AddSubDevice, not persistent), claims it and answers a
# set; ListDevices shows it online; when the program exits it is logged out and forgotten.
DBUS_SYSTEM_BUS_ADDRESS=$TEST_BUS_ADDRESS "$PYTHON" "$top_srcdir/tests/thing-handler.py" "$SUB" meter01 \
	--add sub-secret-5 "$top_srcdir/tests/data/thing/thermostat.json" >"$T/meter.out" 2>"$T/meter.err" &
METER_PID=$!
_BG_PIDS+=($METER_PID)
wait_for "$T/meter.out" "^claimed /org/alilinkd1/device/" 10 || fail "AddSubDevice: $(cat "$T/meter.err")"
wait_for "$T/broker.log" "alink-auth: login $SUB/meter01 for $PK/$DN: online" 15 || fail "meter01 did not come online"
busctl --address="$TEST_BUS_ADDRESS" call org.alilinkd1 /org/alilinkd1 org.alilinkd1.Manager ListDevices >"$T/list.out" ||
	fail "ListDevices failed"
grep -q "\"$SUB\" \"meter01\" \"online\"" "$T/list.out" || fail "ListDevices: $(cat "$T/list.out")"
grep -q "\"$SUB\" \"lamp04\" \"parked\"" "$T/list.out" || fail "ListDevices does not show lamp04 parked: $(cat "$T/list.out")"
! grep -q "sub-secret-5" "$T/list.out" "$T/daemon.log" || fail "the added sub-device's secret shows"
SM=/sys/$SUB/meter01
cloud --sub "$SM/thing/service/property/set_reply" --pub "$SM/thing/service/property/set" '{"id":"61","params":{"Mode":1}}' \
	--expect "$SM/thing/service/property/set_reply" --timeout 10 >"$T/meter-set.out" 2>&1 || fail "meter01 set: $(cat "$T/meter-set.out")"
grep -qF '{"id":"61","code":200,"data":{}}' "$T/meter-set.out" || fail "meter01 set_reply: $(cat "$T/meter-set.out")"
kill "$METER_PID"
wait "$METER_PID" 2>/dev/null || true
wait_for "$T/broker.log" "alink-auth: batch_logout $SUB/meter01 for $PK/$DN: offline" 10 || fail "meter01 was not logged out"
busctl --address="$TEST_BUS_ADDRESS" call org.alilinkd1 /org/alilinkd1 org.alilinkd1.Manager ListDevices >"$T/list.out"
! grep -q meter01 "$T/list.out" || fail "meter01 is still listed: $(cat "$T/list.out")"
pass "AddSubDevice: a program's own sub-device online, served, and logged out when the program leaves"

# The broker restarts: all three logged in again, and lamp01's snapshot posted after its login.
posts_before=$(count_lines "$T/broker.log" "Received PUBLISH from $PK\.$DN.*'$S1/thing/event/property/post'")
broker_stop
broker_start server "$port"
for i in 1 2 3; do
	wait_for_count "$T/broker.log" "alink-auth: login $SUB/lamp0$i for $PK/$DN: online" 2 30 || fail "lamp0$i was not logged in again"
done
wait_for_count "$T/broker.log" "Received PUBLISH from $PK\.$DN.*'$S1/thing/event/property/post'" $((posts_before + 1)) 10 ||
	fail "lamp01's snapshot was not posted after its login"
pass "after a broker restart every sub-device is logged in again, its snapshot posted"

# 520 on /ext/error: that one is logged in again.
n2=$(count_lines "$T/broker.log" "alink-auth: login $SUB/lamp02 for $PK/$DN: online")
cloud --pub "/alink-test/kick/$SUB/lamp02" x
cloud --pub "/ext/error/$PK/$DN" "{\"id\":\"77\",\"code\":520,\"data\":{\"productKey\":\"$SUB\",\"deviceName\":\"lamp02\"},\"message\":\"device no session\"}"
wait_for_count "$T/broker.log" "alink-auth: login $SUB/lamp02 for $PK/$DN: online" $((n2 + 1)) 15 || fail "520 did not log lamp02 in again"
wait_for "$T/daemon.log" "Sub-device $SUB/lamp02 has no session on the platform \(520\): logging it in again" 5 || fail "520 not logged"
pass "520 on /ext/error logs that sub-device in again"

# Disabled in the console: parked and answered; enabled: back online.
n3=$(count_lines "$T/broker.log" "alink-auth: login $SUB/lamp03 for $PK/$DN: online")
cloud --sub "/sys/$SUB/lamp03/thing/disable_reply" --pub "/sys/$SUB/lamp03/thing/disable" '{"id":"81","version":"1.0","params":{},"method":"thing.disable"}' \
	--expect "/sys/$SUB/lamp03/thing/disable_reply" --timeout 10 >"$T/disable.out" 2>&1 || fail "disable not answered: $(cat "$T/disable.out")"
grep -qF '{"id":"81","code":200,"data":{}}' "$T/disable.out" || fail "disable_reply: $(cat "$T/disable.out")"
wait_for "$T/daemon.log" "Sub-device $SUB/lamp03 is disabled" 5 || fail "disable not followed"
cloud --pub "/sys/$SUB/lamp03/thing/enable" '{"id":"82","version":"1.0","params":{},"method":"thing.enable"}'
wait_for_count "$T/broker.log" "alink-auth: login $SUB/lamp03 for $PK/$DN: online" $((n3 + 1)) 15 || fail "enable did not log lamp03 in"
pass "disable parks a sub-device (answered), enable logs it in again"

# aliLinkctl add (kept, the secret on standard input), device, remove; a kept one survives a restart of
# the daemon, in a 0600 file of the state directory.
echo sub-secret-5 | ctl add "$SUB/meter01" "$top_srcdir/tests/data/thing/thermostat.json" >"$T/add.out" ||
	fail "aliLinkctl add: $(cat "$T/add.out")"
wait_for_count "$T/broker.log" "alink-auth: login $SUB/meter01 for $PK/$DN: online" 2 15 || fail "the added meter01 is not online"
ctl device "$SUB/meter01" | grep -qx "$SUB/meter01: online" || fail "device: $(ctl device "$SUB/meter01")"
kept=$(ls "$T/state/subdevices/")
[ "$kept" = "$SUB+meter01.json" ] || fail "kept files: $kept"
[ "$(stat -c %a "$T/state/subdevices/$kept")" = 600 ] || fail "the kept file's mode is $(stat -c %a "$T/state/subdevices/$kept")"
daemon_stop TERM 5 >/dev/null
mv "$T/daemon.log" "$T/daemon-1.log"
daemon_start
daemon_wait_connected
wait_for_count "$T/broker.log" "alink-auth: login $SUB/meter01 for $PK/$DN: online" 3 15 || fail "the kept meter01 was not back after a restart"
cat "$T/daemon-1.log" >>"$T/daemon.log"
ctl remove "$SUB/meter01" || fail "aliLinkctl remove"
[ -z "$(ls "$T/state/subdevices/")" ] || fail "the kept file stays after remove"
rc=0
ctl remove "$SUB/lamp01" >"$T/rm.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "subdevice.lamp01" "$T/rm.out" || fail "removing a configured one: $rc $(cat "$T/rm.out")"
pass "aliLinkctl add (secret on stdin, kept 0600, back after a restart), device, remove; a configured one stays"

daemon_alive || fail "the daemon died"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status after SIGTERM"
wait_for "$T/broker.log" "alink-auth: batch_logout for $PK/$DN: 3 offline" 5 || fail "no batch_logout on stop"
grep -q "not-the-secret-4\|sub-secret-" "$T/daemon.log" && fail "a sub-device's secret is in the log"
assert_no_secrets
pass "stopping logs the sub-devices out"
