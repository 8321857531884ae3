#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Bindings in the configuration, end to end, for a product that is not a light (the thermostat of
# tests/data/thing/thermostat.json) and no code of its own: a read-only property sampled from a file with
# scale and offset and posted when it changes (the documented CPU-temperature example, on a file of the
# test's), a writable one written to a file and read back, and one run as a command with its exit status
# as the device code. The cloud is the real broker; nothing else runs.
. "$(dirname "$0")/lib.sh"

broker_start
daemon_config
daemon_tsl "$top_srcdir/tests/data/thing/thermostat.json"
echo 21500 >"$T/temp"
: >"$T/label"
cat >"$T/mode.sh" <<-EOF
	#!/bin/sh
	echo "\$ALI_LINKD_PROPERTY=\$ALI_LINKD_VALUE \$*" >>"$T/mode.log"
	[ "\$1" = 2 ] && exit 3
	exit 0
EOF
chmod +x "$T/mode.sh"
cat >>"$T/ali-linkd.conf" <<-EOF

	[binding.CurrentTemperature]
	type = file
	path = $T/temp
	interval = 100ms
	scale = 0.001

	[binding.Label]
	type = file
	path = $T/label

	[binding.Mode]
	type = command
	exec = $T/mode.sh
	timeout = 2s
EOF

"$DAEMON" --check-config --config "$T/ali-linkd.conf" >"$T/check.out" 2>&1 || fail "--check-config: $(cat "$T/check.out")"
cloud_listen up --sub "$TOPIC_POST"
daemon_start
daemon_wait_connected

# The sampled file: 21500 m°C is 21.5, posted once; a change is posted; no change, no post.
wait_for "$T/up.out" '"CurrentTemperature":21.5\b' 5 || fail "the sample was not posted: $(cat "$T/up.out")"
echo 23250 >"$T/temp"
wait_for "$T/up.out" '"CurrentTemperature":23.25' 5 || fail "the change was not posted: $(cat "$T/up.out")"
before=$(count_lines "$T/up.out" CurrentTemperature)
set_property '{"id":"1","params":{"Label":"porch"}}' post # a round trip: time for any stray sample
[ "$(count_lines "$T/up.out" CurrentTemperature)" = "$before" ] || fail "an unchanged sample was posted again"
pass "sampled read-only property: scaled, posted on change only"

# The file binding wrote the label and read it back; the post carries it.
[ "$(reply)" = '{"id":"1","code":200,"data":{}}' ] || fail "file set: $(reply)"
[ "$(cat "$T/label")" = porch ] || fail "the file holds $(cat "$T/label")"
post | grep -qF '"Label":"porch"' || fail "post: $(post)"
pass "file binding: written, read back, posted"

# The command: the value as its last argument and in its environment; exit 3 is device code 100103.
set_property '{"id":"2","params":{"Mode":1}}' post
[ "$(reply)" = '{"id":"2","code":200,"data":{}}' ] || fail "command set: $(reply)"
grep -qx "Mode=1 1" "$T/mode.log" || fail "the command saw: $(cat "$T/mode.log")"
set_property '{"id":"3","params":{"Mode":2}}'
reply | grep -qE '^\{"id":"3","code":100103,' || fail "failing command: $(reply)"
pass "command binding: run with the value, exit status as the device code"

# A binding for a property the model does not have is a configuration error naming it.
printf '\n[binding.Humidity]\ntype = file\npath = %s\n' "$T/h" >>"$T/ali-linkd.conf"
rc=0
"$DAEMON" --check-config --config "$T/ali-linkd.conf" >"$T/check.out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "binding.Humidity.*no property Humidity" "$T/check.out" || fail "--check-config: $rc $(cat "$T/check.out")"
# A gpio input's event must be able to carry the property's level.
sed '/^\[binding.Humidity\]/,$d' "$T/ali-linkd.conf" >"$T/event.conf"
printf '\n[binding.PowerSwitch]\ntype = gpio\ndirection = input\nline = 3\nevent = Fault\n' >>"$T/event.conf"
rc=0
"$DAEMON" --check-config --config "$T/event.conf" >"$T/check.out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q "binding.PowerSwitch\] event = Fault: its output cannot carry PowerSwitch" "$T/check.out" ||
	fail "--check-config of the event: $rc $(cat "$T/check.out")"
daemon_alive || fail "the daemon died"
pass "a binding for an unknown property, an event that cannot carry the level: --check-config says so"
