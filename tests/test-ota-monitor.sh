#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# aliLinkctl monitor during a firmware update, against a real HTTPS server (nginx, certificate from the
# test CA), the real broker and a private D-Bus: OtaState moves to downloading and back to idle, OtaProgress
# climbs through intermediate steps to 100, FirmwareVersion becomes the installed version; monitor --json
# shows the same; ota status agrees at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

bus_start
ota_setup
wait_for "$T/daemon.log" "Acquired org.alilinkd1 on the system bus" 5 ||
	fail "the daemon did not take its bus name"

ctl_bg monitor >"$T/monitor.out" 2>"$T/monitor.err"
wait_for "$T/monitor.err" "^Monitoring ali-linkd" 5 || fail "monitor did not start: $(cat "$T/monitor.err")"
ctl_bg monitor --json >"$T/monitor-json.out" 2>"$T/monitor-json.err"
wait_for "$T/monitor-json.err" "^Monitoring ali-linkd" 5 || fail "monitor --json did not start"

# Slow enough (nginx limit_rate) for several progress steps.
size=$((1024 * 1024 + 17))
make_image a.bin $size
md5=$(md5sum <"$T/www/a.bin" | cut -d' ' -f1)
ota_push "$URL_BASE/a.bin?rate=400k" $size 2.0.0 MD5 "$md5"

wait_for "$T/monitor.out" '^OtaState: downloading$' 10 ||
	fail "monitor: no OtaState downloading: $(cat "$T/monitor.out")"
wait_for "$T/monitor.out" '^OtaProgress: [1-9][0-9]?$' 20 ||
	fail "monitor: no intermediate OtaProgress: $(cat "$T/monitor.out")"
wait_step 100 30 || fail "no progress 100"
wait_for "$T/monitor.out" '^OtaProgress: 100$' 10 ||
	fail "monitor: no OtaProgress 100: $(cat "$T/monitor.out")"
wait_for "$T/monitor.out" '^FirmwareVersion: 2\.0\.0$' 10 || fail "monitor: no FirmwareVersion 2.0.0"
wait_for "$T/monitor.out" '^OtaState: idle$' 10 || fail "monitor: OtaState did not return to idle"
# Progress as monitor saw it: rising, never past 100.
mapfile -t p < <(sed -nE 's/^OtaProgress: (-?[0-9]+)$/\1/p' "$T/monitor.out")
for ((i = 1; i < ${#p[@]}; i++)); do
	[ "${p[i]}" -ge "${p[i - 1]}" ] || fail "OtaProgress fell: ${p[*]}"
done
pass "monitor: OtaState downloading → idle, OtaProgress ${p[*]}, FirmwareVersion 2.0.0"

wait_for "$T/monitor-json.out" '^\{"type":"property","name":"OtaState","value":"downloading"\}$' 5 ||
	fail "monitor --json: no OtaState downloading"
wait_for "$T/monitor-json.out" '^\{"type":"property","name":"OtaProgress","value":100\}$' 5 ||
	fail "monitor --json: no OtaProgress 100"
wait_for "$T/monitor-json.out" '^\{"type":"property","name":"FirmwareVersion","value":"2\.0\.0"\}$' 5 ||
	fail "monitor --json: no FirmwareVersion 2.0.0"
pass "monitor --json: OtaState, OtaProgress, FirmwareVersion"

ctl ota status --json >"$T/ctl.out" || fail "aliLinkctl ota status failed"
grep -qx '{"firmware_version":"2.0.0","ota_state":"idle","ota_progress":100}' "$T/ctl.out" ||
	fail "ota status: $(cat "$T/ctl.out")"
pass "ota status after the update: $(cat "$T/ctl.out")"

assert_no_secrets
