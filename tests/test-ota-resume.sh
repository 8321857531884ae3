#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# OTA downloads survive interruptions, proven from nginx's access log (Range header, 206):
# - the server cuts the connection mid-body (its worker is killed) → the daemon resumes with Range at once
#   and the digest still matches;
# - the daemon is killed mid-download and restarted → it resumes from its last checkpoint, not from zero;
# - the URL expires (403) → the daemon asks with firmware/get, takes the new URL and resumes;
# - the installer exits 100 (reboot pending) → after a restart with the new version the daemon confirms
#   it; a restart in the same boot waits; after a "reboot" into the wrong version -4 is reported once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

ota_setup

md5_of() { md5sum <"$T/www/$1" | cut -d' ' -f1; }
SIZE=$((6 * 1024 * 1024))

# --- the server cuts the connection mid-body ---
make_image cut.bin $SIZE
ota_mark
ota_push "$URL_BASE/cut.bin?rate=2m" $SIZE 2.0.0 Md5 "$(md5_of cut.bin)"
wait_step '(1[0-9]|[2-9][0-9])' 30 || fail "the download did not pass 10%"
worker=$(nginx_worker_pid)
[ -n "$worker" ] || fail "no nginx worker"
kill -KILL "$worker"
wait_for "$T/daemon.log" "The firmware download stopped at byte [0-9]+ of $SIZE" 10 || fail "the cut was not noticed"
wait_for "$T/daemon.log" "Resuming the download of firmware 2\.0\.0 at byte [0-9]+ of $SIZE" 10 || fail "no resume"
at=$(sed -nE "s/^Resuming the download of firmware 2\.0\.0 at byte ([0-9]+) of.*/\1/p" "$T/daemon.log" | tail -n 1)
wait_inform 2.0.0 1 30 || fail "2.0.0 not installed after the cut"
cmp "$T/installed.bin" "$T/www/cut.bin" || fail "the resumed image differs"
grep -qxF "GET /cut.bin args=\"rate=2m\" range=\"bytes=$at-\" status=206 sent=$((SIZE - at))" "$T/nginx-access.log" ||
	fail "no 206 for bytes=$at- in the access log: $(grep cut.bin "$T/nginx-access.log")"
[ "$at" -gt 0 ] || fail "resumed from 0"
pass "server cut at byte $at: resumed with Range: bytes=$at-, 206, digest matched"

# --- the daemon is killed mid-download and restarted ---
make_image kill.bin $SIZE
ota_mark
ota_push "$URL_BASE/kill.bin?rate=2m" $SIZE 3.0.0 Md5 "$(md5_of kill.bin)"
wait_log "OTA checkpoint: [0-9]+ of $SIZE bytes on disk" 30 || fail "no checkpoint"
wait_step '(2[0-9]|[3-9][0-9])' 30 || fail "the download did not pass 20%"
checkpoint=$(log_since_mark | sed -nE "s/^OTA checkpoint: ([0-9]+) of $SIZE bytes on disk/\1/p" | tail -n 1)
[ "$(daemon_stop KILL 5)" = 137 ] || fail "the daemon was not killed"
mv "$T/daemon.log" "$T/daemon-1.log"
daemon_start
wait_for "$T/daemon.log" "Resuming the update to firmware 3\.0\.0: [0-9]+ of $SIZE bytes on disk" 10 || fail "no resume after restart"
at=$(sed -nE "s/^Resuming the update to firmware 3\.0\.0: ([0-9]+) of.*/\1/p" "$T/daemon.log")
[ "$at" -ge "$checkpoint" ] && [ "$at" -gt 0 ] || fail "resumed at $at, the last checkpoint was $checkpoint"
wait_inform 3.0.0 1 30 || fail "3.0.0 not installed after the restart"
cmp "$T/installed.bin" "$T/www/kill.bin" || fail "the image resumed across a restart differs"
grep -qxF "GET /kill.bin args=\"rate=2m\" range=\"bytes=$at-\" status=206 sent=$((SIZE - at))" "$T/nginx-access.log" ||
	fail "no 206 for bytes=$at- in the access log: $(grep kill.bin "$T/nginx-access.log")"
grep -q "Digested the $at bytes already on disk" "$T/daemon.log" || fail "the partial file was not digested first"
pass "daemon killed at checkpoint $checkpoint: resumed with Range: bytes=$at- after the restart"

# --- the URL expires: 403 → firmware/get → new URL → resume ---
make_image exp.bin $SIZE
gets=$(grep -c "^$OTA_GET_TOPIC " "$T/ota.out")
ota_mark
ota_push "$URL_BASE/exp.bin?rate=2m&Expires=100" $SIZE 4.0.0 Md5 "$(md5_of exp.bin)"
wait_step '(1[0-9]|[2-9][0-9])' 30 || fail "the download did not pass 10%"
touch "$T/www/expired-100"
kill -KILL "$(nginx_worker_pid)"
wait_for "$T/daemon.log" "The download URL was refused \(HTTP 403\)" 10 || fail "403 not noticed"
wait_for_count "$T/ota.out" "^$OTA_GET_TOPIC " $((gets + 1)) 10 || fail "no firmware/get after the 403"
cloud --pub "$OTA_GET_REPLY_TOPIC" "{\"code\":200,\"data\":{\"size\":$SIZE,\"version\":\"4.0.0\",\"url\":\"$URL_BASE/exp.bin?rate=2m&Expires=200\",\"md5\":\"$(md5_of exp.bin)\",\"sign\":\"$(md5_of exp.bin)\",\"signMethod\":\"Md5\"},\"id\":\"1\",\"message\":\"success\"}" \
	--timeout 5 >/dev/null || fail "cannot reply"
wait_for "$T/daemon.log" "Got a new URL for firmware 4\.0\.0" 10 || fail "the new URL was not taken"
wait_inform 4.0.0 1 30 || fail "4.0.0 not installed after the URL refresh"
cmp "$T/installed.bin" "$T/www/exp.bin" || fail "the image differs after the URL refresh"
grep -qE "^GET /exp.bin args=\"rate=2m&Expires=100\" range=\"bytes=[1-9][0-9]*-\" status=403" "$T/nginx-access.log" || fail "no 403 logged"
grep -qE "^GET /exp.bin args=\"rate=2m&Expires=200\" range=\"bytes=[1-9][0-9]*-\" status=206" "$T/nginx-access.log" ||
	fail "the new URL was not fetched with a Range"
pass "expired URL: firmware/get, new URL, resumed with Range"

# --- exit 100: reboot pending; a restart into the new version confirms it ---
echo "exit 100" >"$T/hook-mode"
make_image r.bin 5000
ota_push "$URL_BASE/r.bin" 5000 5.0.0 MD5 "$(md5_of r.bin)"
wait_for "$T/daemon.log" "Firmware 5\.0\.0 installed; it runs after the next reboot" 20 || fail "exit 100 not understood"
ota_push "$URL_BASE/r.bin" 5000 5.0.0 MD5 "$(md5_of r.bin)"
wait_for "$T/daemon.log" "Ignoring a push for firmware 5\.0\.0: it is installed and waits for a reboot" 10 || fail "re-push not ignored"
# Read only now: the "installed" line is logged before the job file is rewritten.
grep -qF '"phase":"reboot"' "$T/state/ota-job.json" || fail "the pending version is not recorded"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
echo 5.0.0 >"$T/firmware-version"
informs=$(grep -c '"version":"5.0.0"' "$T/ota.out" || true)
daemon_start
daemon_wait_connected
wait_for "$T/daemon.log" "Firmware 5\.0\.0 is running: the update succeeded" 10 || fail "success not noticed"
wait_inform 5.0.0 $((informs + 1)) || fail "5.0.0 not informed after the restart"
[ ! -e "$T/state/ota-job.json" ] || fail "the job file stayed"
pass "exit 100, restart with the new version: confirmed and informed"

# --- exit 100 but the reboot brings the wrong version: -4 once; a restart in the same boot waits ---
ota_push "$URL_BASE/r.bin" 5000 6.0.0 MD5 "$(md5_of r.bin)"
wait_for "$T/daemon.log" "Firmware 6\.0\.0 installed; it runs after the next reboot" 20 || fail "exit 100 not understood"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
mv "$T/daemon.log" "$T/daemon-2.log"
daemon_start
daemon_wait_connected
wait_for "$T/daemon.log" "Firmware 6\.0\.0 is installed and waits for a reboot" 10 || fail "same boot: not waiting"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
# A new boot, as far as the job file can tell.
sed -i -E 's/"bootId":"[^"]*"/"bootId":"00000000-0000-0000-0000-000000000000"/' "$T/state/ota-job.json"
n4=$(grep -cF '"step":"-4"' "$T/ota.out" || true)
mv "$T/daemon.log" "$T/daemon-3.log"
daemon_start
daemon_wait_connected
wait_for_count "$T/ota.out" '"step":"-4"' $((n4 + 1)) 10 || fail "no -4 after a reboot into the wrong version"
[ "$(step_desc -4)" = "after the reboot the running version is 5.0.0, not 6.0.0" ] || fail "desc: $(step_desc -4)"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
mv "$T/daemon.log" "$T/daemon-4.log"
informs=$(grep -c '"version":"5.0.0"' "$T/ota.out")
daemon_start
daemon_wait_connected
wait_inform 5.0.0 $((informs + 1)) || fail "no inform after the second restart"
[ "$(grep -cF '"step":"-4"' "$T/ota.out")" = $((n4 + 1)) ] || fail "-4 was reported again"
pass "reboot into the wrong version: -4 once; same-boot restart waits"

[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
assert_no_secrets
