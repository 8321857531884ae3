#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The test broker's plugin plays Alibaba's platform for a gateway's sub-devices, with no daemon: a
# cloud-client connected as the device (--device) acts as the gateway, binds sub-devices
# (thing/topo/add), logs them in (combine/batch_login) and uses their topics. Each answer is checked
# against the platform's (https://help.aliyun.com/en/iot/user-guide/manage-topological-relationships,
# https://help.aliyun.com/en/iot/user-guide/connect-or-disconnect-sub-devices): the signature, the
# binding, disable/enable, the login rate, and that a sub-device's topics are closed until it is online.
. "$(dirname "$0")/lib.sh"
need openssl jq

SUB=a1SubLamp
S1=lamp01-secret-$RANDOM
S2=lamp02-secret-$RANDOM
S3=lamp03-secret-$RANDOM
S4=lamp04-secret-$RANDOM
subdevice_add $SUB lamp01 "$S1"
subdevice_add $SUB lamp02 "$S2"
subdevice_add $SUB lamp03 "$S3"
subdevice_add $SUB lamp04 "$S4" "$PK/$DN"
broker_start
wait_for "$T/broker.log" "alink-auth: plugin loaded with 1 device\(s\), 4 sub-device\(s\)" 5 ||
	fail "the plugin did not load the sub-devices"

TOPO=/sys/$PK/$DN/thing/topo
SESSION=/ext/session/$PK/$DN/combine
TS=1700000000000

# topo_entry PK DN SECRET: a topo/add entry as Link SDK 4 sends it (upper-case hex, key "signmethod").
topo_entry() {
	local sign
	sign=$(hmac_hex sha256 "$3" "clientId$1.$2deviceName$2productKey$1timestamp$TS" | tr a-f A-F)
	printf '{"productKey":"%s","deviceName":"%s","clientId":"%s.%s","timestamp":"%s","signmethod":"hmacSha256","sign":"%s"}' \
		"$1" "$2" "$1" "$2" "$TS" "$sign"
}

# login_entry PK DN SECRET: a batch_login entry; the client id is signed exactly as sent.
login_entry() {
	local cid="$1.$2|_ss=1,_v=sdk-c-4.1.0|" sign
	sign=$(hmac_hex sha256 "$3" "clientId${cid}deviceName$2productKey$1timestamp$TS")
	printf '{"productKey":"%s","deviceName":"%s","clientId":"%s","timestamp":"%s","cleanSession":"false","sign":"%s"}' \
		"$1" "$2" "$cid" "$TS" "$sign"
}

join() { local IFS=,; printf '%s' "$*"; }
topo_add_req() { printf '{"id":"%s","version":"1.0","params":[%s]}' "$1" "$(join "${@:2}")"; }
batch_login_req() {
	printf '{"id":"%s","version":"1.0","params":{"signMethod":"hmacSha256","deviceList":[%s]}}' "$1" "$(join "${@:2}")"
}
dev() { printf '{"productKey":"%s","deviceName":"%s"}' "$1" "$2"; }

# gateway ARGS...: the cloud client connected as the gateway (the test's device PK/DN).
gateway() { cloud --device "$PK" "$DN" "$SECRET" "$@"; }

# request TOPIC PAYLOAD: publish it as the gateway; its reply (TOPIC_reply, to this client only) into $REPLY.
request() {
	gateway --pub "$1" "$2" --expect "$1_reply" --timeout 10 >"$T/gw.out" 2>"$T/gw.err" || fail "no reply on $1_reply"
	REPLY=$(grep -F "$1_reply " "$T/gw.out" | tail -n 1 | cut -d' ' -f2-)
}
# expect_reply JQ_FILTER WHAT: the last reply satisfies the filter.
expect_reply() { jq -e "$1" <<<"$REPLY" >/dev/null || fail "$2: reply $REPLY"; }

# --- topo/add ---
request "$TOPO/add" "$(topo_add_req 1 "$(topo_entry $SUB lamp01 "$S1")" "$(topo_entry $SUB lamp02 "$S2")")"
expect_reply '.id == "1" and .code == 200 and .message == "success" and
	.data == [{"productKey":"'$SUB'","deviceName":"lamp01"},{"productKey":"'$SUB'","deviceName":"lamp02"}]' "topo/add"
wait_for "$T/broker.log" "alink-auth: topo/add $SUB/lamp02 for $PK/$DN: bound" 5 || fail "no bound line"
pass "topo/add binds and replies with the entries"

# A bad signature fails the whole request, 401, and binds nothing.
request "$TOPO/add" "$(topo_add_req 3 "$(topo_entry $SUB lamp04 "$S4")" "$(topo_entry $SUB lamp03 "$S1")")"
expect_reply '.id == "3" and .code == 401 and .data == [{"productKey":"'$SUB'","deviceName":"lamp03"}]' "topo/add bad sign"
wait_for "$T/broker.log" "alink-auth: topo/add for $PK/$DN refused $SUB/lamp03: 401 " 5 || fail "no refusal line"
request "$TOPO/add" "$(topo_add_req 4 "$(topo_entry $SUB lamp01 "$S1")" "$(topo_entry $SUB nosuch "$S1")")"
expect_reply '.code == 6100 and .data == [{"productKey":"'$SUB'","deviceName":"nosuch"}]' "topo/add unknown device"
entries=()
for _ in $(seq 31); do entries+=("$(topo_entry $SUB lamp01 "$S1")"); done
request "$TOPO/add" "$(topo_add_req 5 "${entries[@]}")"
expect_reply '.code == 460' "topo/add of 31"
request "$TOPO/get" '{"id":"6","version":"1.0","params":{}}'
expect_reply '.code == 200 and (.data | map(.deviceName) | sort) == ["lamp01","lamp02","lamp04"]' "topo/get"
pass "topo/add: 401 for a bad sign, 6100 unknown, 460 over 30; topo/get lists the bound"

# --- batch_login refusals ---
request "$SESSION/batch_login" "$(batch_login_req 7 "$(login_entry $SUB lamp01 "$S1")" "$(login_entry $SUB lamp03 "$S3")")"
expect_reply '.id == "7" and .code == 6401 and .data == [{"productKey":"'$SUB'","deviceName":"lamp03"}]' "login unbound"
wait_for "$T/broker.log" "alink-auth: batch_login for $PK/$DN refused $SUB/lamp03: 6401 topo relation not exist" 5 ||
	fail "no 6401 line"
request "$SESSION/batch_login" "$(batch_login_req 8 "$(login_entry $SUB lamp01 "$S1")" "$(login_entry $SUB lamp02 "$S1")")"
expect_reply '.code == 6287 and .data == [{"productKey":"'$SUB'","deviceName":"lamp02"}]' "login bad sign"
wait_for "$T/broker.log" "alink-auth: batch_login for $PK/$DN refused $SUB/lamp02: 6287 invalid sign" 5 || fail "no 6287 line"
request "$SESSION/batch_login" "$(batch_login_req 9 "$(login_entry $SUB nosuch "$S1")")"
expect_reply '.code == 6100' "login unknown"
request "$SESSION/batch_login" '{"id":"10","params":{"deviceList":[]}}'
expect_reply '.code == 460' "empty batch"
grep -qE "alink-auth: login $SUB/lamp0[12] for" "$T/broker.log" && fail "a refused batch logged a sub-device in"
pass "batch_login fails as a whole: 6401 not bound, 6287 bad sign, 6100 unknown, 460 empty"

# --- the sub-device's topics: closed before login, open while online, closed after logout ---
cloud_listen up --sub "/sys/$SUB/#"
POST1=/sys/$SUB/lamp01/thing/event/property/post
POST2=/sys/$SUB/lamp02/thing/event/property/post
gateway --pub "$POST1" before \
	--pub "$SESSION/batch_login" "$(batch_login_req 11 "$(login_entry $SUB lamp01 "$S1")" "$(login_entry $SUB lamp02 "$S2")")" \
	--pub "$POST1" during \
	--pub "$SESSION/batch_logout" "{\"id\":\"11b\",\"params\":[$(dev $SUB lamp01)]}" \
	--pub "$POST1" after \
	--pub "$POST2" still \
	--expect "$SESSION/batch_login_reply" --expect "$SESSION/batch_logout_reply" --timeout 10 >"$T/gw.out" 2>"$T/gw.err" ||
	fail "no login or logout reply"
wait_for "$T/up.out" "^$POST2 still$" 5 || fail "the online sub-device's post did not reach the cloud"
grep -q " during$" "$T/up.out" || fail "the post while online did not reach the cloud"
grep -qE " (before|after)$" "$T/up.out" && fail "a post while offline reached the cloud"
[ "$(count_lines "$T/broker.log" "alink-auth: denied publish to $POST1 for $DN&$PK: sub-device not logged in")" = 2 ] ||
	fail "expected two denials of $POST1"
grep -qF "alink-auth: batch_login for $PK/$DN: 2 online" "$T/broker.log" || fail "no online line"
grep -F "$SESSION/batch_login_reply " "$T/gw.out" | cut -d' ' -f2- |
	jq -e '.id == "11" and .code == 200 and (.data | length) == 2' >/dev/null || fail "batch_login reply: $(cat "$T/gw.out")"
grep -qF "alink-auth: batch_logout $SUB/lamp01 for $PK/$DN: offline" "$T/broker.log" || fail "no logout line"
wait_for "$T/broker.log" "alink-auth: gateway $PK/$DN disconnected: 1 sub-device\(s\) offline" 5 ||
	fail "the gateway's disconnect did not take lamp02 offline"
pass "a sub-device's topics open at login and close at logout and when the gateway leaves"

# A subscription to a sub-device's topics is refused before login.
gateway --sub "/sys/$SUB/lamp01/thing/service/property/set" --timeout 5 >"$T/gw.out" 2>"$T/gw.err" &&
	fail "the subscription of an offline sub-device's topic was granted"
grep -q "subscription refused" "$T/gw.err" || fail "not refused: $(cat "$T/gw.err")"
grep -qF "alink-auth: denied subscribe to /sys/$SUB/lamp01/thing/service/property/set for $DN&$PK: sub-device not logged in" \
	"$T/broker.log" || fail "no subscribe denial line"
pass "subscribe denied before login"

# --- a gateway that stays: auto-subscription (_ss=1), kick, disable and enable ---
SET1=/sys/$SUB/lamp01/thing/service/property/set
OWN=/sys/$PK/$DN/thing/service/property/set
: >"$T/gwbg.out"
# In a subshell that becomes the client itself, so that $! is the client and kill ends its connection.
(exec "$TESTS_BUILD/cloud-client" --host 127.0.0.1 --port "$BROKER_PORT" --cafile "$T/pki/ca.crt" \
	--device "$PK" "$DN" "$SECRET" --timeout 600 --sub "$OWN" --sub-after "/sys/$SUB/lamp04/thing/service/property/set" \
	--pub "$SESSION/batch_login" "$(batch_login_req 12 "$(login_entry $SUB lamp01 "$S1")" "$(login_entry $SUB lamp02 "$S2")" "$(login_entry $SUB lamp04 "$S4")")" \
	>"$T/gwbg.out" 2>"$T/gwbg.err") &
GWBG=$!
_BG_PIDS+=("$GWBG")
wait_for "$T/gwbg.out" "^# subscribed after publishing" 10 || fail "the staying gateway did not subscribe: $(cat "$T/gwbg.err")"
grep -qE "^$SESSION/batch_login_reply .*\"code\":200" "$T/gwbg.out" || fail "the staying gateway did not log in: $(cat "$T/gwbg.out")"
cloud --pub "$SET1" s1 --pub "/sys/$SUB/lamp04/thing/service/property/set" s4 --pub "$OWN" marker1 --timeout 5 >/dev/null
wait_for "$T/gwbg.out" "^$OWN marker1$" 5 || fail "no marker1"
grep -qx "$SET1 s1" "$T/gwbg.out" || fail "the auto-subscription did not deliver a set to lamp01"
[ "$(count_lines "$T/gwbg.out" " s4$")" = 1 ] || fail "a set to lamp04 (subscribed and auto-subscribed) not delivered once"
pass "auto-subscription delivers to the gateway, once when it subscribed too"

cloud --pub "/alink-test/kick/$SUB/lamp01" "" --pub "$SET1" s2 --pub "$OWN" marker2 --timeout 5 >/dev/null
wait_for "$T/gwbg.out" "^$OWN marker2$" 5 || fail "no marker2"
grep -qF "alink-auth: kick $SUB/lamp01: offline" "$T/broker.log" || fail "no kick line"
grep -qx "$SET1 s2" "$T/gwbg.out" && fail "a kicked sub-device still gets its messages"
pass "kick"

cloud --pub "/sys/$SUB/lamp02/thing/disable" '{"id":"20","version":"1.0","params":{},"method":"thing.disable"}' --timeout 5 >/dev/null
wait_for "$T/gwbg.out" "^/sys/$SUB/lamp02/thing/disable " 5 || fail "thing/disable did not reach the gateway"
grep -qF "alink-auth: disable $SUB/lamp02: disabled" "$T/broker.log" || fail "no disable line"
kill "$GWBG"
wait_for_count "$T/broker.log" "alink-auth: gateway $PK/$DN disconnected: 1 sub-device\(s\) offline" 2 5 ||
	fail "the staying gateway's lamp04 did not go offline when it left"
# Its reply is the gateway's to send although the sub-device is offline now.
gateway --pub "/sys/$SUB/lamp02/thing/disable_reply" '{"id":"20","code":200,"data":{}}' --timeout 5 >/dev/null ||
	fail "cannot publish the disable_reply"
wait_for "$T/up.out" "^/sys/$SUB/lamp02/thing/disable_reply " 5 || fail "the disable_reply did not reach the cloud"
request "$SESSION/batch_login" "$(batch_login_req 13 "$(login_entry $SUB lamp02 "$S2")")"
expect_reply '.code == 522 and .data == [{"productKey":"'$SUB'","deviceName":"lamp02"}]' "login while disabled"
cloud --pub "/sys/$SUB/lamp02/thing/enable" '{"id":"21","version":"1.0","params":{},"method":"thing.enable"}' --timeout 5 >/dev/null
wait_for "$T/broker.log" "alink-auth: enable $SUB/lamp02: enabled" 5 || fail "no enable line"
request "$SESSION/login" "$(login_entry $SUB lamp02 "$S2" | sed 's/}$/,"signMethod":"hmacSha256"}/' | sed 's/^/{"id":"14","params":/; s/$/}/')"
expect_reply '.code == 200 and .data == {"productKey":"'$SUB'","deviceName":"lamp02"}' "single login after enable"
pass "disable: 522 until enable"

# --- the login rate, set by the cloud at run time ---
cloud --pub /alink-test/login-limit 1 --timeout 5 >/dev/null
wait_for "$T/broker.log" "alink-auth: login rate 1$" 5 || fail "no login rate line"
request "$SESSION/batch_login" "$(batch_login_req 15 "$(login_entry $SUB lamp01 "$S1")" "$(login_entry $SUB lamp02 "$S2")")"
expect_reply '.code == 429 and (.data | length) == 2' "login over the rate"
cloud --pub /alink-test/login-limit 200 --timeout 5 >/dev/null
wait_for "$T/broker.log" "alink-auth: login rate 200$" 5 || fail "no login rate line"
pass "429 over the login rate"

# --- the online cap and a device deleted in the console ---
cloud --pub /alink-test/online-limit 1 --timeout 5 >/dev/null
wait_for "$T/broker.log" "alink-auth: online limit 1$" 5 || fail "no online limit line"
# Nothing is left online from the gateways that left (lamp04 was online on the one killed above).
request "$SESSION/batch_login" "$(batch_login_req 19 "$(login_entry $SUB lamp04 "$S4")")"
expect_reply '.code == 200' "one login under a cap of one"
request "$SESSION/batch_login" "$(batch_login_req 19 "$(login_entry $SUB lamp01 "$S1")" "$(login_entry $SUB lamp04 "$S4")")"
expect_reply '.code == 428' "login over the online cap"
cloud --pub /alink-test/online-limit 2000 --timeout 5 >/dev/null
wait_for "$T/broker.log" "alink-auth: online limit 2000$" 5 || fail "no online limit line"
cloud --pub "/sys/$SUB/lamp03/thing/delete" '{"id":"22","version":"1.0","params":{},"method":"thing.delete"}' --timeout 5 >/dev/null
wait_for "$T/broker.log" "alink-auth: delete $SUB/lamp03: deleted" 5 || fail "no delete line"
request "$SESSION/batch_login" "$(batch_login_req 20 "$(login_entry $SUB lamp03 "$S3")")"
expect_reply '.code == 521' "login of a deleted device"
request "$TOPO/add" "$(topo_add_req 21 "$(topo_entry $SUB lamp03 "$S3")")"
expect_reply '.code == 6100' "topo/add of a deleted device"
pass "428 over the online cap, 521 and 6100 once deleted"

# --- topo/delete unbinds ---
request "$TOPO/delete" "{\"id\":\"16\",\"version\":\"1.0\",\"params\":[$(dev $SUB lamp02)]}"
expect_reply '.code == 200' "topo/delete"
grep -qF "alink-auth: topo/delete $SUB/lamp02 for $PK/$DN: unbound" "$T/broker.log" || fail "no unbound line"
request "$SESSION/batch_login" "$(batch_login_req 17 "$(login_entry $SUB lamp02 "$S2")")"
expect_reply '.code == 6401' "login after topo/delete"
request "$SESSION/logout" "{\"id\":\"18\",\"params\":$(dev $SUB lamp01)}"
expect_reply '.code == 520' "logout of one not online"
pass "topo/delete unbinds; logout of an offline sub-device is 520"

# Bad requests get a 460, not silence.
request "$TOPO/add" 'not json'
expect_reply '.code == 460 and .id == ""' "bad JSON"
pass "bad requests"
