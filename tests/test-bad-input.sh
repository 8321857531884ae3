#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# What the network sends cannot hurt: oversized payloads, deep nesting, huge numbers, binary garbage and
# NUL bytes in a property set are answered with 400 (460 when the message is sound but a value breaks the
# thing model) and the reason; the daemon keeps answering. (Topics
# that are not UTF-8 never reach it: MQTT requires UTF-8 topics and both the broker and libmosquitto
# refuse others; the unit tests and the fuzzers cover the parsers byte by byte.)
. "$(dirname "$0")/lib.sh"

broker_start
daemon_config
daemon_start
daemon_wait_connected

answer() { # PAYLOAD-FILE → the set_reply line
	cloud --sub "$TOPIC_SET_REPLY" --pub-file "$TOPIC_SET" "$1" --expect "$TOPIC_SET_REPLY" --timeout 20 \
		>"$T/cloud.out" 2>"$T/cloud.err" || fail "no answer to $(head -c 80 "$1")"
	grep -F "$TOPIC_SET_REPLY " "$T/cloud.out" | cut -d' ' -f2-
}

# 300 KiB: over the platform's 256 KiB message limit.
{ printf '{"id":"1","params":{"LightSwitch":1},"pad":"'; head -c 307200 /dev/zero | tr '\0' x; printf '"}'; } >"$T/big"
answer "$T/big" | grep -qE '^\{"code":400,"data":\{\},"message":"message of 30[0-9]+ bytes exceeds the 262144 byte limit"\}$' ||
	fail "oversized: $(answer "$T/big" | head -c 200)"
# 100,000 levels of nesting.
{ printf '{"id":"2","params":{"LightSwitch":'; head -c 100000 /dev/zero | tr '\0' '['; printf '}}'; } >"$T/deep"
answer "$T/deep" | grep -qF '"code":400' || fail "deep nesting"
# Numbers no integer type holds. An integer beyond 64 bits is saturated by json-c before 0.17 (and refused
# by the range check of its property); 0.17 and later refuse the whole message in strict mode.
printf '{"id":"3","params":{"RGBColor":{"Red":1e400,"Green":0,"Blue":0}}}' >"$T/huge"
answer "$T/huge" | grep -qE '"id":"3","code":460.*RGBColor\.Red' || fail "huge numbers: $(answer "$T/huge")"
printf '{"id":"3","params":{"RGBColor":{"Red":0,"Green":-99999999999999999999999999,"Blue":0}}}' >"$T/hugeint"
answer "$T/hugeint" |
	grep -qE '"id":"3","code":460.*RGBColor\.Green|^\{"code":400,"data":\{\},"message":"invalid JSON at byte 75: integer out of range"\}$' ||
	fail "huge integer: $(answer "$T/hugeint")"
printf '{"id":99999999999999999999999999999,"params":{"LightSwitch":1}}' >"$T/hugeid"
answer "$T/hugeid" | grep -qF '"code":400' || fail "huge id"
# Binary garbage and an invalid UTF-8 string.
head -c 2000 /dev/urandom | tr -d '\0' >"$T/garbage"
answer "$T/garbage" | grep -qF '"code":400' || fail "binary garbage"
printf '{"id":"4","params":{"LightSwitch":1},"x":"\xc3\x28"}' >"$T/utf8"
answer "$T/utf8" | grep -qF '"code":400' || fail "invalid UTF-8"
daemon_alive || fail "the daemon died"
pass "oversized, deep, garbage and invalid UTF-8 input answered with 400, huge values with 460"

# An escaped NUL in a key must not match the property it starts with; an empty message (what clearing a
# retained message sends) is answered, not crashed on.
printf '{"id":"6","params":{"LightSwitch\\u0000junk":1}}' >"$T/nulkey"
answer "$T/nulkey" | grep -qE '"id":"6","code":400.*NUL' || fail "NUL in a key: $(answer "$T/nulkey")"
printf '{"id":"7","params":{"RGBColor":{"Red\\u0000x":1}}}' >"$T/nulkey2"
answer "$T/nulkey2" | grep -qE '"id":"7","code":400' || fail "NUL in a nested key: $(answer "$T/nulkey2")"
: >"$T/empty"
answer "$T/empty" | grep -qF '"code":400' || fail "empty message: $(answer "$T/empty")"
daemon_alive || fail "the daemon died"
pass "escaped NUL in keys and an empty message answered with 400"

printf '{"id":"5","params":{"LightSwitch":1}}' >"$T/good"
[ "$(answer "$T/good")" = '{"id":"5","code":200,"data":{}}' ] || fail "no good answer after the bad ones"
pass "still answering"

# A retained property set is applied once, when it is sent; the broker's replay on the next subscribe is
# ignored, so it neither overrides the newer state nor is answered twice.
cloud --sub "$TOPIC_SET_REPLY" --retain --pub "$TOPIC_SET" '{"id":"8","params":{"LightSwitch":1}}' \
	--expect "$TOPIC_SET_REPLY" --timeout 10 >"$T/cloud.out" 2>"$T/cloud.err" || fail "no answer to a retained set"
grep -qF '"id":"8","code":200' "$T/cloud.out" || fail "retained set: $(cat "$T/cloud.out")"
printf '{"id":"9","params":{"LightSwitch":0}}' >"$T/off"
[ "$(answer "$T/off")" = '{"id":"9","code":200,"data":{}}' ] || fail "no answer to the newer set"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
cloud_listen replies --sub "$TOPIC_SET_REPLY" --sub "$TOPIC_POST"
daemon_start
wait_for "$T/daemon.log" "Ignoring a retained message on $TOPIC_SET" 15 || fail "the retained set was not ignored"
wait_for "$T/replies.out" "^$TOPIC_POST " 10 || fail "no post after the restart"
grep -q "^$TOPIC_POST .*\"LightSwitch\":0" "$T/replies.out" || fail "the retained set overrode the newer state: $(cat "$T/replies.out")"
! grep -qF '"id":"8"' "$T/replies.out" || fail "the retained set was answered twice"
# Clearing it sends an empty retained message: not a command, not a crash.
cloud --retain --pub "$TOPIC_SET" '' --timeout 5 >/dev/null 2>&1 || fail "cannot clear the retained set"
daemon_alive || fail "the daemon died"
pass "a retained property set is not replayed on reconnect"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
assert_no_secrets
