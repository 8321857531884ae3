#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Property sets end to end onto PWM channels: the cloud (a real broker) sets the light, the daemon writes the
# duty cycles, reads them back and answers; a channel it cannot write is answered with the device error code
# and the state the light really shows; the state survives a restart and is posted after each connect.
#
# The PWM chip is a prepared tree shaped like /sys/class/pwm (sysfs_root): this host has no PWM hardware.
# The order of the writes is checked by tests/test-led-pwm; here it is the values and the answers.
. "$(dirname "$0")/lib.sh"

pwm=$T/sys/class/pwm/pwmchip0
mkdir -p "$pwm"
: >"$pwm/export"
for ch in 0 1 2; do
	mkdir -p "$pwm/pwm$ch"
	for a in period duty_cycle enable; do echo 0 >"$pwm/pwm$ch/$a"; done
done
duties() { echo "$(cat "$pwm/pwm0/duty_cycle") $(cat "$pwm/pwm1/duty_cycle") $(cat "$pwm/pwm2/duty_cycle")"; }
stamps() { stat -c '%n %y' "$pwm"/export "$pwm"/pwm*/*; }

# As root the daemon could write any file whatever its mode: run it without CAP_DAC_OVERRIDE, so a
# read-only duty_cycle is read-only to it, as a sysfs file the daemon's user may not write would be.
if [ "$(id -u)" -eq 0 ]; then
	need setpriv
	cat >"$T/ali-linkd-unprivileged" <<-EOF
		#!/bin/sh
		exec setpriv --inh-caps=-dac_override,-dac_read_search --bounding-set=-dac_override,-dac_read_search -- "$DAEMON" "\$@"
	EOF
	chmod +x "$T/ali-linkd-unprivileged"
	DAEMON=$T/ali-linkd-unprivileged
fi

broker_start
daemon_config
cat >>"$T/ali-linkd.conf" <<-EOF

	[led]
	backend = pwm
	chip = pwmchip0
	channels = 0,1,2
	period_ns = 1000000
	gamma = 1
	sysfs_root = $T/sys
	on_exit = off
EOF

cloud_listen posts --sub "$TOPIC_POST"
daemon_start
daemon_wait_connected

# At start the light shows its (initial) state: switched off, every channel set up and enabled.
wait_for "$T/posts.out" "^$TOPIC_POST .*\"LightSwitch\":0" 10 || fail "no post after connect"
[ "$(duties)" = "0 0 0" ] || fail "duties after start: $(duties)"
[ "$(cat "$pwm/pwm0/period") $(cat "$pwm/pwm0/enable")" = "1000000 1" ] || fail "channel 0 not set up"
pass "start: channels set up, state posted"

# RGBColor {255,0,128} with gamma 1: duty = period * value/255.
set_property '{"id":"101","params":{"LightSwitch":1,"RGBColor":{"Red":255,"Green":0,"Blue":128}}}' post
[ "$(reply)" = '{"id":"101","code":200,"data":{}}' ] || fail "set_reply was $(reply)"
[ "$(duties)" = "1000000 0 501961" ] || fail "duties: $(duties)"
post | grep -qF '"params":{"LightSwitch":1,"RGBColor":{"Red":255,"Green":0,"Blue":128}}' || fail "post was $(post)"
pass "RGBColor {255,0,128}: duties 1000000 0 501961, 200, posted"

set_property '{"id":"102","params":{"LightSwitch":0}}' post
[ "$(reply)" = '{"id":"102","code":200,"data":{}}' ] || fail "set_reply was $(reply)"
[ "$(duties)" = "0 0 0" ] || fail "duties after switching off: $(duties)"
[ "$(cat "$pwm/pwm0/enable")" = 1 ] || fail "switching off disabled the channel"
pass "LightSwitch 0: every duty cycle 0"

# Out of range: 460, and not one file touched.
stamps >"$T/stamps.before"
set_property '{"id":"103","params":{"RGBColor":{"Red":300,"Green":0,"Blue":0}}}'
[ "$(reply)" = '{"id":"103","code":460,"data":{},"message":"RGBColor.Red: 300 is above the maximum 255 (6306)"}' ] ||
	fail "set_reply was $(reply)"
stamps >"$T/stamps.after"
cmp -s "$T/stamps.before" "$T/stamps.after" || fail "a refused set wrote to the PWM tree: $(diff "$T/stamps.before" "$T/stamps.after")"
pass "Red 300: 460, nothing written"

set_property '{"id":"104","params":{"LightSwitch":1}}' post
[ "$(duties)" = "1000000 0 501961" ] || fail "duties after switching on: $(duties)"

# pwm0's duty_cycle becomes read-only: green is asked for, red cannot follow.
chmod 0444 "$pwm/pwm0/duty_cycle"
set_property '{"id":"105","params":{"RGBColor":{"Red":0,"Green":255,"Blue":0}}}' post
[ "$(reply)" = '{"id":"105","code":100001,"data":{},"message":"writing to the light'"'"'s hardware failed"}' ] ||
	fail "set_reply was $(reply)"
[ "$(duties)" = "1000000 1000000 0" ] || fail "duties: $(duties)"
post | grep -qF '"params":{"LightSwitch":1,"RGBColor":{"Red":255,"Green":255,"Blue":0}}' ||
	fail "the post does not show the actual state: $(post)"
grep -qE "Cannot write 0 to $pwm/pwm0/duty_cycle( as (user [^ ]+ )?\(?uid [0-9]+\)?)?: Permission denied" "$T/daemon.log" ||
	fail "no clear log line for the read-only duty_cycle"
daemon_alive || fail "the daemon died"
pass "read-only duty_cycle: 100001 and a post with the actual state"

# Stop with on_exit=off: dark. Start again: the saved state is back on the channels and posted.
chmod 0644 "$pwm/pwm0/duty_cycle"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status after SIGTERM"
[ "$(duties)" = "0 0 0" ] || fail "on_exit=off left duties $(duties)"
# The state file holds what the light showed (saved within a second of a change, and at the latest on
# exit), not the dark of on_exit=off.
grep -qx 'on=1' "$T/state/led-state" || fail "on_exit=off was saved as the state"
grep -qx 'red=255' "$T/state/led-state" && grep -qx 'green=255' "$T/state/led-state" &&
	grep -qx 'blue=0' "$T/state/led-state" || fail "state file: $(cat "$T/state/led-state")"
# (The cloud listener keeps writing posts.out: count, never truncate it.)
restored="^$TOPIC_POST .*\"LightSwitch\":1,\"RGBColor\":\\{\"Red\":255,\"Green\":255,\"Blue\":0\\}"
n=$(count_lines "$T/posts.out" "$restored")
daemon_start
daemon_wait_connected
wait_for_count "$T/posts.out" "$restored" $((n + 1)) 10 ||
	fail "the restored state was not posted after connect: $(tail -n 5 "$T/posts.out")"
[ "$(duties)" = "1000000 1000000 0" ] || fail "duties after restart: $(duties)"
pass "saved, switched off on exit, restored and posted after restart"

# A reload with another period sets the light up again on the new one.
sed -i 's/^period_ns = 1000000$/period_ns = 2000000/' "$T/ali-linkd.conf"
kill -HUP "$DAEMON_PID"
wait_for "$T/daemon.log" "Light settings changed" 10 || fail "the reload did not set the light up again"
wait_for_count "$T/daemon.log" "The light shows its saved state through the pwm backend" 2 10 || fail "no restore after reload"
[ "$(cat "$pwm/pwm0/period") $(duties)" = "2000000 2000000 2000000 0" ] ||
	fail "after the reload: period $(cat "$pwm/pwm0/period"), duties $(duties)"
pass "reload with a new period_ns"

[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status after SIGTERM"
assert_no_secrets
