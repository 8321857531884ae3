#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tools/demo.sh: ali-linkd against a local stand-in for Alibaba Cloud (run it through "tools/dev demo").
#
# The stand-in is a real mosquitto broker on 127.0.0.1 with TLS (a CA made for this run) and the
# project's plugin that checks Alibaba's login signature and per-device topics. The demo plays the cloud:
# it sends thing.service.property.set for the RT-Thread sample's RGB-LED-DEV-1 device, and shows the
# daemon applying it (LEDs simulated), the set_reply and the property/post coming back, then stops it.
. "$(dirname "${BASH_SOURCE[0]}")/../tests/lib.sh"

step() { printf '\n\033[1m%s\033[0m\n' "$*"; }
show_cloud() {
	local line
	while IFS= read -r line; do
		case $line in
		"#"*) ;;
		*set_reply\ *) printf '  cloud <- set_reply      %s\n' "${line#* }" ;;
		*/property/post\ *) printf '  cloud <- property/post  %s\n' "${line#* }" ;;
		*) printf '  cloud <- %s\n' "$line" ;;
		esac
	done <"$T/cloud.out"
}

step "1. A local stand-in for Alibaba Cloud IoT: mosquitto over TLS with the Alink credential plugin"
broker_start
echo "  broker on 127.0.0.1:$BROKER_PORT, device $PK/$DN (the RT-Thread sample's triple)"

step "2. ali-linkd signs in (HMAC-SHA256 over the device triple) and subscribes"
daemon_config
sed -i 's/^log_level = debug/log_level = info/' "$T/ali-linkd.conf"
daemon_start
tail -n +1 -f "$T/daemon.log" --pid="$DAEMON_PID" 2>/dev/null | sed -u 's/^/  ali-linkd: /' &
_BG_PIDS+=($!)
daemon_wait_connected

set_light() {
	step "$1"
	printf '  cloud -> property/set    %s\n' "$2"
	cloud --sub "$TOPIC_SET_REPLY" --sub "$TOPIC_POST" --pub "$TOPIC_SET" "$2" \
		--expect "$TOPIC_SET_REPLY" ${3:+--expect "$TOPIC_POST"} --timeout 10 >"$T/cloud.out" 2>"$T/cloud.err" ||
		fail "the daemon did not answer"
	show_cloud
}

set_light "3. The cloud switches the light on, magenta (LightSwitch, RGBColor)" \
	'{"method":"thing.service.property.set","id":"1001","params":{"LightSwitch":1,"RGBColor":{"Red":255,"Green":0,"Blue":128}},"version":"1.0"}' post
set_light "4. The cloud switches it off (as in the sample's log)" \
	'{"method":"thing.service.property.set","id":"35974024","params":{"LightSwitch":0},"version":"1.0.0"}' post
set_light "5. A bad request is refused with code 460 and the reason; the daemon carries on" \
	'{"method":"thing.service.property.set","id":"1003","params":{"RGBColor":{"Red":300,"Green":0,"Blue":0}}}'

step "6. Clean stop: SIGTERM, MQTT DISCONNECT, exit status"
rc=$(daemon_stop TERM 2)
echo "  ali-linkd exited with status $rc"
[ "$rc" = 0 ] || fail "unclean stop"
step "Demo finished. The test suite: tools/dev check"
