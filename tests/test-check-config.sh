#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The command line: --version, --help, --check-config on good, unconfigured (the shipped file) and broken
# configurations, and an unconfigured daemon that waits instead of failing.
. "$(dirname "$0")/lib.sh"

"$DAEMON" --version | grep -qE '^ali-linkd [0-9]+\.[0-9]+' || fail "--version"
"$DAEMON" --help | grep -q -- "--check-config" || fail "--help"
if "$DAEMON" --bogus 2>/dev/null; then fail "an unknown option was accepted"; fi
pass "--version, --help, unknown option"

# The shipped file: valid syntax, but the device triple is missing; it says exactly what.
if "$DAEMON" --check-config --config "$top_srcdir/etc/ali-linkd.conf" >"$T/out" 2>&1; then
	fail "the shipped configuration passed --check-config without a device triple"
fi
for key in product_key device_name "device secret"; do
	grep -q "ali-linkd.conf: \[device\] .*$key.* not set" "$T/out" || fail "--check-config did not name $key: $(cat "$T/out")"
done
[ "$(grep -c ':[0-9]*: ' "$T/out")" = 0 ] || fail "the shipped file has line errors: $(cat "$T/out")"
pass "shipped file: names the missing keys"

# A broken file: every problem with its line, non-zero exit.
printf '%s\n' '[device]' 'product_key = a1HETlEuvri' 'device_name = RGB-LED-DEV-1' 'device_secret = x' \
	'[mqtt]' 'keepalive = 10' 'port = https' 'wat = 1' >"$T/broken.conf"
if "$DAEMON" --check-config --config "$T/broken.conf" >"$T/out" 2>&1; then fail "a broken file passed"; fi
grep -q "broken.conf:6: invalid keepalive \"10\"" "$T/out" || fail "keepalive error: $(cat "$T/out")"
grep -q "broken.conf:7: invalid port \"https\"" "$T/out" || fail "port error"
grep -q "broken.conf:8: unknown key wat in \[mqtt\], ignoring" "$T/out" || fail "unknown key warning"
pass "broken file: every problem with its line"

# A good one.
printf '%s\n' "$SECRET" >"$T/secret"
chmod 600 "$T/secret"
printf '%s\n' '[device]' 'product_key = a1HETlEuvri' 'device_name = RGB-LED-DEV-1' \
	"device_secret_file = $T/secret" >"$T/good.conf"
"$DAEMON" --check-config --config "$T/good.conf" >"$T/out" 2>&1 || fail "a good file failed: $(cat "$T/out")"
grep -qF "OK (device a1HETlEuvri/RGB-LED-DEV-1, endpoint a1HETlEuvri.iot-as-mqtt.cn-shanghai.aliyuncs.com:443)" "$T/out" ||
	fail "unexpected output: $(cat "$T/out")"
! grep -qF "$SECRET" "$T/out" || fail "the secret was printed"
pass "good file"

# A thing model with a mistake: named with its JSON path; one of another product: a warning.
printf '{"properties":[{"identifier":"T","accessMode":"rw","dataType":{"type":"int","specs":{"min":"abc"}}}]}' >"$T/bad.tsl"
printf '%s\n' "tsl = $T/bad.tsl" >>"$T/good.conf"
if "$DAEMON" --check-config --config "$T/good.conf" >"$T/out" 2>&1; then fail "a broken thing model passed"; fi
grep -q 'good.conf: \[device\] tsl: .*bad.tsl.*\$\.properties\[0\]\.dataType\.specs\.min' "$T/out" ||
	fail "the TSL error: $(cat "$T/out")"
printf '{"profile":{"productKey":"a1Other0001"},"properties":[]}' >"$T/bad.tsl"
"$DAEMON" --check-config --config "$T/good.conf" >"$T/out" 2>&1 || fail "another product's model failed: $(cat "$T/out")"
grep -q "is the thing model of product a1Other0001, but the device is of product a1HETlEuvri" "$T/out" ||
	fail "no warning for another product's model: $(cat "$T/out")"
pass "thing model: errors with their JSON path, another product's model warned about"

# Not configured: the daemon starts, says what to set, and waits (no connection attempts).
cp "$top_srcdir/etc/ali-linkd.conf" "$T/ali-linkd.conf"
printf '[daemon]\nstate_directory = %s\n' "$T/state" >>"$T/ali-linkd.conf"
daemon_start
wait_for "$T/daemon.log" "Not configured: set product_key, device_name and device_secret in $T/ali-linkd.conf" 5 ||
	fail "no 'not configured' message"
daemon_alive || fail "an unconfigured daemon exited"
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
pass "unconfigured daemon waits"
