#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The package forms the platform sends, end to end through the broker, nginx and the hook:
# - "code": 200 as a number (the current document's push) is accepted like "1000";
# - a delta package (isDiff: 1) is refused with -1 and the reason while the installer does not apply deltas;
#   with installer_applies_diff = yes (a reload) it reaches the hook with ALI_LINKD_OTA_DIFF=1;
# - extData reaches the hook as ALI_LINKD_OTA_EXTRA, compact JSON;
# - no hang: a URL that expired (403) while the cloud never answers firmware/get ends with -2 after
#   cloud_timeout, with a log line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

ota_setup "cloud_timeout = 3"

md5_of() { md5sum <"$T/www/$1" | cut -d' ' -f1; }
# push_raw CODE URL SIZE VERSION MD5 EXTRA_MEMBERS: a push with the code as given (JSON) and more data members.
push_raw() {
	cloud --pub "$OTA_PUSH_TOPIC" \
		"$(printf '{"code":%s,"data":{"size":%s,"version":"%s","url":"%s","signMethod":"Md5","sign":"%s"%s},"id":%s,"message":"success"}' \
			"$1" "$3" "$4" "$2" "$5" "$6" "$(date +%s%3N)")" --timeout 5 >/dev/null || fail "cannot publish the push"
}

# --- numeric code 200, extData ---
make_image a.bin 300000
ota_mark
push_raw 200 "$URL_BASE/a.bin" 300000 2.0.0 "$(md5_of a.bin)" ',"isDiff":0,"extData":{"key1":"value 1","n":[1,2]}'
wait_inform 2.0.0 1 20 || fail "the push with code 200 was not installed: $(log_since_mark | grep -i ota)"
cmp "$T/installed.bin" "$T/www/a.bin" || fail "the hook did not get a.bin"
grep -qx 'ALI_LINKD_OTA_EXTRA={"key1":"value 1","n":\[1,2\]}' "$T/hook-env" || fail "extData: $(grep EXTRA "$T/hook-env")"
grep -qx 'ALI_LINKD_OTA_DIFF=0' "$T/hook-env" || fail "DIFF for a full image: $(grep DIFF "$T/hook-env")"
pass "code 200 (a number) accepted; extData reached the hook as ALI_LINKD_OTA_EXTRA"

# --- a delta package while the installer does not apply deltas: -1, nothing fetched ---
make_image d.bin 200000
requests=$(wc -l <"$T/nginx-access.log")
ota_mark
push_raw '"1000"' "$URL_BASE/d.bin" 200000 3.0.0 "$(md5_of d.bin)" ',"isDiff":1'
wait_step -1 10 || fail "no -1 for a delta package"
[ "$(step_desc -1)" = "invalid push: firmware 3.0.0 is a delta package (isDiff) and the installer does not apply deltas ([ota] installer_applies_diff = no)" ] ||
	fail "desc of -1: $(step_desc -1)"
[ "$(wc -l <"$T/nginx-access.log")" = "$requests" ] || fail "the delta package was fetched"
[ "$(wc -l <"$T/hook-runs")" = 1 ] || fail "the hook ran for the delta package"
pass "isDiff 1 refused with -1 while installer_applies_diff = no"

# --- the same with installer_applies_diff = yes: the hook gets ALI_LINKD_OTA_DIFF=1 ---
sed -i 's/^cloud_timeout = 3$/cloud_timeout = 3\ninstaller_applies_diff = yes/' "$T/ali-linkd.conf"
ota_mark
kill -HUP "$DAEMON_PID"
wait_log "Configuration reloaded" 10 || fail "no reload"
push_raw '"1000"' "$URL_BASE/d.bin" 200000 3.0.0 "$(md5_of d.bin)" ',"isDiff":1'
wait_inform 3.0.0 1 20 || fail "the delta package was not installed"
cmp "$T/installed.bin" "$T/www/d.bin" || fail "the hook did not get d.bin"
grep -qx 'ALI_LINKD_OTA_DIFF=1' "$T/hook-env" || fail "DIFF: $(grep DIFF "$T/hook-env")"
grep -q '^ALI_LINKD_OTA_EXTRA=' "$T/hook-env" && fail "EXTRA set without extData"
pass "isDiff 1 with installer_applies_diff = yes: hook got ALI_LINKD_OTA_DIFF=1"

# --- no hang: 403, firmware/get, no reply → -2 after cloud_timeout ---
make_image e.bin 200000
touch "$T/www/expired-9"
gets=$(grep -c "^$OTA_GET_TOPIC " "$T/ota.out")
ota_mark
ota_push "$URL_BASE/e.bin?Expires=9" 200000 4.0.0 Md5 "$(md5_of e.bin)"
wait_for_count "$T/ota.out" "^$OTA_GET_TOPIC " $((gets + 1)) 10 || fail "no firmware/get after the 403"
start=$(date +%s%N)
wait_step -2 10 || fail "no -2 when the cloud does not answer"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$(step_desc -2)" = "download failed: the URL expired and the cloud did not offer the package again within 3 s" ] ||
	fail "desc of -2: $(step_desc -2)"
[ "$elapsed" -ge 2000 ] || fail "-2 came $elapsed ms after the request, before the timeout"
log_since_mark | grep -q "The cloud did not answer the firmware/get request within 3 s" || fail "no log line for the timeout"
[ ! -e "$T/state/ota-job.json" ] || fail "the job was kept"
pass "403 and no firmware/get reply: -2 after 3 s, logged"
