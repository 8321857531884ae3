#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# thing.service.property.set end to end: the cloud sets LightSwitch and RGBColor (the seed's RGB-LED-DEV-1),
# the daemon applies it, answers set_reply with the same id and code 200, then posts the resulting state.
# Bad JSON is answered with 400, bad params (checked against the thing model, here the RGB light's built-in
# TSL) with 460 naming the problem, and the daemon lives on.
. "$(dirname "$0")/lib.sh"

broker_start
daemon_config
daemon_start
daemon_wait_connected

set_property '{"method":"thing.service.property.set","id":"36195462","params":{"LightSwitch":1,"RGBColor":{"Red":255,"Green":0,"Blue":128}},"version":"1.0"}' post
[ "$(reply)" = '{"id":"36195462","code":200,"data":{}}' ] || fail "set_reply was $(reply)"
post | grep -qE '^\{"id":"[0-9]+","version":"1.0","sys":\{"ack":1\},"method":"thing.event.property.post","params":\{"LightSwitch":1,"RGBColor":\{"Red":255,"Green":0,"Blue":128\}\}\}$' ||
	fail "post was $(post)"
grep -q "LED (simulated): on, colour #ff0080 (255,0,128)" "$T/daemon.log" || fail "applied state not logged"
# The reply came before the post.
[ "$(grep -nF "$TOPIC_SET_REPLY " "$T/cloud.out" | cut -d: -f1)" -lt "$(grep -nF "$TOPIC_POST " "$T/cloud.out" | tail -n1 | cut -d: -f1)" ] ||
	fail "post came before set_reply"
pass "property set: 200 and post"

# A numeric id (as the OTA family sends) is echoed as a string; the seed's switch-off.
set_property '{"method":"thing.service.property.set","id":35974024,"params":{"LightSwitch":0},"version":"1.0.0"}' post
[ "$(reply)" = '{"id":"35974024","code":200,"data":{}}' ] || fail "set_reply was $(reply)"
post | grep -qF '"params":{"LightSwitch":0,"RGBColor":{"Red":255,"Green":0,"Blue":128}}' || fail "post was $(post)"
pass "numeric id, switch off keeps the colour"

# Bad JSON: 400, the daemon lives.
set_property '{"id":"77","params":{"LightSwitch":1'
reply | grep -qE '^\{"code":400,"data":\{\},"message":"invalid JSON' || fail "bad JSON reply was $(reply)"
daemon_alive || fail "daemon died on bad JSON"
pass "bad JSON: 400"

# Out of range: 460 naming the property, nothing applied.
set_property '{"id":"78","params":{"RGBColor":{"Red":300,"Green":0,"Blue":0}}}'
reply | grep -qE '^\{"id":"78","code":460,"data":\{\},"message":"RGBColor\.Red: 300 is above the maximum 255 \(6306\)"\}$' ||
	fail "out-of-range reply was $(reply)"
set_property '{"id":"79","params":{"Colour":1}}'
reply | grep -qE '^\{"id":"79","code":460,"data":\{\},"message":"Colour: not in the thing model \(6304\)"\}$' ||
	fail "unknown property reply was $(reply)"
set_property '{"id":"80","params":{"LightSwitch":"on"}}'
reply | grep -qF '"code":460' || fail "wrong type reply was $(reply)"
[ "$(grep -c 'LED (simulated)' "$T/daemon.log")" = 2 ] || fail "an invalid set changed the light"
pass "bad params: 460 with the reason, nothing applied"

# Still answering after all that.
set_property '{"id":"81","params":{"RGBColor":{"Green":200}}}' post
[ "$(reply)" = '{"id":"81","code":200,"data":{}}' ] || fail "set_reply was $(reply)"
post | grep -qF '"RGBColor":{"Red":255,"Green":200,"Blue":128}' || fail "post was $(post)"
pass "partial colour after errors"

# The light's state is saved within a second of a change (one fsync for a burst): it survives kill -9.
wait_for "$T/state/led-state" '^green=200$' 5 || fail "the state was not saved: $(cat "$T/state/led-state" 2>&1)"
daemon_stop KILL >/dev/null
mv "$T/daemon.log" "$T/daemon-1.log" # so that the wait below is for the new daemon's connection
daemon_start
daemon_wait_connected
set_property '{"id":"82","params":{"RGBColor":{"Blue":1}}}' post
post | grep -qF '"params":{"LightSwitch":0,"RGBColor":{"Red":255,"Green":200,"Blue":1}}' || fail "post after kill -9 was $(post)"
pass "the state survives kill -9"

# An unknown async service is answered, and our own reply (which comes back through thing/service/+) is not.
cloud --sub "/sys/$PK/$DN/thing/service/reboot_reply" --pub "/sys/$PK/$DN/thing/service/reboot" '{"id":"90","params":{}}' \
	--expect "/sys/$PK/$DN/thing/service/reboot_reply" --timeout 10 >"$T/cloud.out" || fail "no reply to the service call"
grep -qF '{"id":"90","code":109005,"data":{},"message":"service reboot is not in the thing model"}' "$T/cloud.out" || fail "service reply"
[ "$(grep -c 'called service' "$T/daemon.log")" = 1 ] || fail "the daemon answered its own reply"
pass "unknown service: 109005"

# The cloud refusing a post is logged with its code (the platform drops the offending values).
cloud --pub "/sys/$PK/$DN/thing/event/property/post_reply" '{"code":6813,"data":{},"id":"5","message":"topic illegal"}' \
	--timeout 5 >/dev/null || fail "cannot publish a post_reply"
wait_for "$T/daemon.log" "The cloud refused property post 5: code 6813, topic illegal" 5 || fail "refused post not logged"
pass "non-200 post_reply logged"

[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status after SIGTERM"
assert_no_secrets
