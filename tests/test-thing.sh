#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A product that is not a light, end to end: a thermostat's thing model (tests/data/thing/thermostat.json:
# int, float, double, enum, bool, struct, array, text and date properties, async and sync services, an
# event), the real broker playing the cloud, a private system bus, and a handler written in Python
# (tests/thing-handler.py) that claims the device.
#
# Checked: every bad set is refused all or nothing (400 for the envelope, 460 naming the identifier and the
# rule) before anything reaches the handler; a set or call that nobody serves gets a device code, an
# unknown service 109005; with the handler, sets reach it and the values are posted (a float with its
# decimal point); async services, both RRPC forms (answered within a second), a late handler (100006) and
# one whose output breaks the model (100009); local posts and events are checked too; the platform's
# per-property refusals in a post_reply are logged once each and counted; desired values are fetched,
# applied and cleared; when the handler leaves the bus its claim goes.
. "$(dirname "$0")/lib.sh"

# Debian's python3, where python3-dbus and python3-gi are installed (not one that PATH may find first).
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || skip "$PYTHON is not installed"
"$PYTHON" -c 'import dbus, gi' 2>/dev/null || skip "python3-dbus and python3-gi are not installed"

bus_start
broker_start
daemon_config
daemon_tsl "$top_srcdir/tests/data/thing/thermostat.json"
sed -i "s|^tsl = .*|&\nhandler_timeout = 2s|" "$T/ali-linkd.conf"

SYS=/sys/$PK/$DN
# The cloud listens from before the daemon connects: the desired-value request comes right after CONNACK.
cloud_listen desired --sub "$SYS/thing/property/desired/get" --sub "$SYS/thing/property/desired/delete"
daemon_start
daemon_wait_connected
wait_for "$T/daemon.log" "Acquired org.alilinkd1 on the system bus" 5 || fail "the daemon did not take its bus name"

# ---- the desired values: asked for every writable property ----
wait_for "$T/desired.out" "^$SYS/thing/property/desired/get " 10 || fail "no desired get: $(cat "$T/desired.out")"
get=$(grep -F "$SYS/thing/property/desired/get " "$T/desired.out" | head -n1 | cut -d' ' -f2-)
for id in PowerSwitch TargetTemperature Mode Schedule Setpoints Label LastService; do
	grep -qF "\"$id\"" <<<"$get" || fail "desired get lacks $id: $get"
done
! grep -qF '"CurrentTemperature"' <<<"$get" || fail "desired get asks for a read-only property: $get"
desired_id=$(sed -n 's/.*"id":"\([0-9]*\)".*/\1/p' <<<"$get")
pass "desired values requested for the writable properties"

# ---- no handler yet ----
set_property '{"id":"1","params":{"Mode":1}}'
reply | grep -qE '^\{"id":"1","code":100008,"data":\{\},"message":"nothing serves Mode' || fail "unserved set: $(reply)"

# Bad sets: each refused naming the identifier, with the platform's check vocabulary.
bad_set() { # id params pattern
	set_property "{\"id\":\"$1\",\"params\":$2}"
	reply | grep -qE "^\{\"id\":\"$1\",\"code\":460,.*\"message\":\".*$3" || fail "set $2: $(reply)"
}
bad_set 10 '{"Foo":1}' 'Foo'
bad_set 11 '{"CurrentTemperature":20.5}' 'CurrentTemperature.*read-only'
bad_set 12 '{"TargetTemperature":50}' 'TargetTemperature'
bad_set 13 '{"Mode":7}' 'Mode'
bad_set 14 '{"PowerSwitch":2}' 'PowerSwitch'
bad_set 15 '{"Schedule":{"Start":1,"End":2,"Extra":3}}' 'Schedule'
bad_set 16 '{"Setpoints":[20,21,22,23,24]}' 'Setpoints'
bad_set 17 '{"Setpoints":[20,"x"]}' 'Setpoints'
bad_set 18 '{"Label":"this label is much too long"}' 'Label'
bad_set 19 '{"LastService":"yesterday"}' 'LastService'
bad_set 20 '{"TargetTemperature":"warm"}' 'TargetTemperature'
# All or nothing: one bad member refuses the valid ones with it.
bad_set 21 '{"Mode":1,"TargetTemperature":99}' 'TargetTemperature'
set_property '{"id":"22","params":{"Mode":1'
reply | grep -qE '^\{"code":400,"data":\{\},"message":"invalid JSON' || fail "bad JSON: $(reply)"
set_property '{"id":"23","params":[1,2]}'
reply | grep -qE '^\{"id":"23","code":400,.*"message":"params must be an object"' || fail "params not an object: $(reply)"
pass "bad sets: 400 for the envelope, 460 naming the identifier and the rule"

# Services without a handler, and one the model does not have.
cloud --sub "$SYS/thing/service/Reboot_reply" --sub "$SYS/thing/service/Dance_reply" \
	--pub "$SYS/thing/service/Reboot" '{"id":"30","params":{"Delay":1}}' \
	--pub "$SYS/thing/service/Dance" '{"id":"31","params":{}}' \
	--expect "$SYS/thing/service/Reboot_reply" --expect "$SYS/thing/service/Dance_reply" >"$T/svc.out" || fail "no service replies"
grep -qE "Reboot_reply \{\"id\":\"30\",\"code\":100008," "$T/svc.out" || fail "unserved service: $(cat "$T/svc.out")"
grep -qE "Dance_reply \{\"id\":\"31\",\"code\":109005,.*not in the thing model" "$T/svc.out" || fail "unknown service: $(cat "$T/svc.out")"
pass "unserved set and service: 100008; unknown service: 109005"

# ---- the handler claims the device ----
DBUS_SYSTEM_BUS_ADDRESS=$TEST_BUS_ADDRESS "$PYTHON" "$top_srcdir/tests/thing-handler.py" "$PK" "$DN" >"$T/handler.out" 2>"$T/handler.err" &
HANDLER_PID=$!
_BG_PIDS+=($HANDLER_PID)
wait_for "$T/handler.out" "^claimed /org/alilinkd1/device/" 10 || fail "the handler did not claim the device: $(cat "$T/handler.err")"

set_property '{"id":"40","params":{"Mode":2,"TargetTemperature":21,"Schedule":{"Start":360,"End":1320},"Setpoints":[18,21],"Label":"hall","LastService":"1700000000000"}}' post
[ "$(reply)" = '{"id":"40","code":200,"data":{}}' ] || fail "set with handler: $(reply)"
wait_for "$T/handler.out" '^set .*"Mode":2' 5 || fail "the handler did not get the set: $(cat "$T/handler.out")"
post | grep -qF '"TargetTemperature":21.0' || fail "the float went out without its decimal point: $(post)"
post | grep -qF '"Schedule":{"Start":360,"End":1320}' || fail "post: $(post)"
pass "set through the handler: 200, posted, float as 21.0"

set_property '{"id":"41","params":{"Label":"refuse"}}'
reply | grep -qE '^\{"id":"41","code":100042,.*"message":"the label is not wanted here"' || fail "handler refusal: $(reply)"
pass "the handler's own code and message reach the cloud"

# Async service, both RRPC forms, a late handler, output against the model.
start=$(_now_ms)
cloud --sub "$SYS/thing/service/Reboot_reply" --sub "/ext/rrpc/7001$SYS/thing/service/GetReport" --sub "$SYS/rrpc/response/7002" \
	--pub "$SYS/thing/service/Reboot" '{"id":"50","params":{"Delay":5}}' \
	--pub "/ext/rrpc/7001$SYS/thing/service/GetReport" '{"id":"51","params":{}}' \
	--pub "$SYS/rrpc/request/7002" '{"id":"52","method":"thing.service.GetReport","params":{}}' \
	--expect "$SYS/thing/service/Reboot_reply" --expect "$SYS/rrpc/response/7002" --count 4 --timeout 5 >"$T/rrpc.out" ||
	fail "service answers: $(cat "$T/rrpc.out")"
elapsed=$(($(_now_ms) - start))
grep -qF "Reboot_reply {\"id\":\"50\",\"code\":200,\"data\":{\"Accepted\":1}}" "$T/rrpc.out" || fail "async service: $(cat "$T/rrpc.out")"
grep -F "/ext/rrpc/7001$SYS/thing/service/GetReport " "$T/rrpc.out" | grep -qF '{"id":"51","code":200,"data":{"Uptime":42,"Note":"all good"}}' ||
	fail "RRPC (ext form): $(cat "$T/rrpc.out")"
grep -qF "$SYS/rrpc/response/7002 {\"id\":\"52\",\"code\":200,\"data\":{\"Uptime\":42,\"Note\":\"all good\"}}" "$T/rrpc.out" ||
	fail "RRPC (rrpc/request form): $(cat "$T/rrpc.out")"
[ "$elapsed" -lt "$(scaled 3000)" ] || fail "the answers took $elapsed ms"
pass "async service and both RRPC forms answered ($elapsed ms for all three)"

cloud --sub "/ext/rrpc/7003$SYS/thing/service/Slow" --sub "/ext/rrpc/7004$SYS/thing/service/Broken" \
	--pub "/ext/rrpc/7003$SYS/thing/service/Slow" '{"id":"53","params":{}}' \
	--pub "/ext/rrpc/7004$SYS/thing/service/Broken" '{"id":"54","params":{}}' \
	--count 4 --timeout 6 >"$T/late.out" || fail "late and broken answers: $(cat "$T/late.out")"
grep -qE '\{"id":"53","code":100006,.*did not answer within 2000 ms' "$T/late.out" || fail "late handler: $(cat "$T/late.out")"
grep -qE '\{"id":"54","code":100009,.*Uptime' "$T/late.out" || fail "broken output: $(cat "$T/late.out")"
pass "a late handler: 100006 within the deadline; output outside the model: 100009"

# ---- local programs: post, event, set, call, get ----
cloud_listen up --sub "$SYS/thing/event/+/post"
ctl post '{"CurrentTemperature":22}' || fail "post"
wait_for "$T/up.out" '"CurrentTemperature":22.0' 5 || fail "local post: $(cat "$T/up.out")"
rc=0
ctl post '{"CurrentTemperature":500}' >"$T/ctl.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "CurrentTemperature" "$T/ctl.out" || fail "a bad post was not refused: $rc $(cat "$T/ctl.out")"
ctl event Fault '{"Code":3,"Text":"sensor"}' || fail "event"
wait_for "$T/up.out" "^$SYS/thing/event/Fault/post .*\"method\":\"thing.event.Fault.post\".*\"Code\":3" 5 || fail "event: $(cat "$T/up.out")"
rc=0
ctl event Fault '{"Code":300}' >"$T/ctl.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "Code" "$T/ctl.out" || fail "a bad event was not refused: $rc $(cat "$T/ctl.out")"
rc=0
ctl event Nope '{}' >"$T/ctl.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "not in the thing model" "$T/ctl.out" || fail "an unknown event: $rc $(cat "$T/ctl.out")"
ctl set PowerSwitch=1 Label=study || fail "set"
wait_for "$T/handler.out" '^set \{"PowerSwitch":1,"Label":"study"\}' 5 || fail "local set: $(cat "$T/handler.out")"
[ "$(ctl call GetReport)" = '{"Uptime":42,"Note":"all good"}' ] || fail "call: $(ctl call GetReport 2>&1)"
ctl get Label | grep -qx 'Label="study"' || fail "get: $(ctl get 2>&1)"
ctl get --json | grep -qF '"CurrentTemperature":22.0' || fail "get --json: $(ctl get --json 2>&1)"
pass "local post, event, set, call and get, checked against the model"

# ---- the platform's feedback: per-property refusals in a post_reply ----
for i in 1 2; do
	cloud --pub "$SYS/thing/event/property/post_reply" \
		"{\"id\":\"9$i\",\"code\":200,\"data\":{\"Humidity\":\"tsl parse: params not exist\"},\"message\":\"success\"}"
done
wait_for "$T/daemon.log" "The cloud dropped property Humidity from a post: tsl parse: params not exist" 5 || fail "refusal not logged"
refused=$(busctl --address="$TEST_BUS_ADDRESS" get-property org.alilinkd1 "$(sed -n 's/^claimed //p' "$T/handler.out")" org.alilinkd1.Device Refused)
[ "$refused" = "t 1" ] || fail "Refused is $refused"
[ "$(grep -c "dropped property Humidity" "$T/daemon.log")" = 1 ] || fail "the refusal was logged more than once"
pass "per-property refusals: logged once, counted"

# ---- the desired values: applied through the handler, then cleared ----
cloud --pub "$SYS/thing/property/desired/get_reply" \
	"{\"id\":\"$desired_id\",\"code\":200,\"data\":{\"Mode\":{\"value\":1,\"version\":7},\"Label\":{\"value\":null,\"version\":2}},\"message\":\"success\"}"
wait_for "$T/handler.out" '^set \{"Mode":1\}$' 5 || fail "the desired value did not reach the handler: $(cat "$T/handler.out")"
wait_for "$T/desired.out" "^$SYS/thing/property/desired/delete .*\"params\":\{\"Mode\":\{\"version\":7\}\}" 5 ||
	fail "the desired value was not cleared: $(cat "$T/desired.out")"
pass "desired values applied and cleared"

# ---- the handler leaves: its claim goes ----
kill "$HANDLER_PID"
wait "$HANDLER_PID" 2>/dev/null || true
wait_for "$T/daemon.log" "left the bus; its claim is dropped" 5 || fail "the claim was not dropped"
set_property '{"id":"60","params":{"Mode":0}}'
reply | grep -qE '^\{"id":"60","code":100008,' || fail "set after the handler left: $(reply)"
daemon_alive || fail "the daemon died"
assert_no_secrets
pass "the handler left: its claim is dropped, sets get 100008 again"
