#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# OTA end to end against a real HTTPS server (nginx, certificate from the test CA) and the real broker:
# version inform and firmware/get on connect; good images with MD5 and with SHA-256 reach the installer hook
# byte for byte with exactly the documented environment, progress climbs to 100 and the new version is
# informed; wrong digest → -3 and the file is gone without the hook running; 404 → -2; invalid pushes
# (http://, unknown signMethod, oversize, wrong code) → -1; a push for the running version is ignored; a
# newer push cancels the current download; hook exit 1 → -4; a hanging hook is killed at the timeout → -4.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

broker_start
nginx_start
hook_install
INSTALLER_TIMEOUT=3 ota_config "max_size = 64M"
# The hook must not inherit anything secret from the daemon's environment.
mkdir -p "$T/creds" && cp "$T/device-secret" "$T/creds/device-secret"
ota_listen
CREDENTIALS_DIRECTORY=$T/creds ALI_TEST_SECRET=$SECRET daemon_start
daemon_wait_connected

wait_inform 1.0.0 || fail "no version inform on connect"
wait_for "$T/ota.out" "^$OTA_GET_TOPIC \\{\"id\":\"[0-9]+\",\"version\":\"1.0\",\"params\":\\{\\},\"method\":\"thing.ota.firmware.get\"\\}$" 10 ||
	fail "no firmware/get after start"
pass "inform 1.0.0 and firmware/get on connect"

# --- a good image, MD5 ("Md5" as live pushes spell it), slow enough for several progress steps ---
make_image a.bin $((1024 * 1024 + 17))
md5=$(md5sum <"$T/www/a.bin" | cut -d' ' -f1)
ota_push "$URL_BASE/a.bin?rate=400k&Expires=1" $((1024 * 1024 + 17)) 2.0.0 Md5 "$md5"
wait_step 100 30 || fail "no progress 100 for the MD5 image"
wait_inform 2.0.0 || fail "no inform of 2.0.0 after the install"
cmp "$T/installed.bin" "$T/www/a.bin" || fail "the hook did not get the image's bytes"
[ "$(wc -l <"$T/hook-runs")" = 1 ] || fail "the hook ran $(wc -l <"$T/hook-runs") times"
# Steps: start at 0, strictly rising, end at 100, several in between.
mapfile -t s < <(steps)
[ "${s[0]}" = 0 ] && [ "${s[-1]}" = 100 ] || fail "steps were ${s[*]}"
for ((i = 1; i < ${#s[@]}; i++)); do [ "${s[i]}" -gt "${s[i - 1]}" ] || fail "steps not rising: ${s[*]}"; done
[ "${#s[@]}" -ge 3 ] || fail "expected intermediate steps, got ${s[*]}"
# Inform after the 100.
[ "$(grep -nF "\"step\":\"100\"" "$T/ota.out" | cut -d: -f1)" -lt "$(grep -nF '"version":"2.0.0"' "$T/ota.out" | cut -d: -f1)" ] ||
	fail "the inform came before progress 100"
# argv and the whole environment of the hook.
[ "$(cat "$T/hook-argv")" = "$T/state/ota-image" ] || fail "hook argv: $(cat "$T/hook-argv")"
expected_env=$(printf '%s\n' "ALI_LINKD_OTA_FILE=$T/state/ota-image" ALI_LINKD_OTA_MODULE=default \
	"ALI_LINKD_OTA_SIGN=$md5" ALI_LINKD_OTA_SIGN_METHOD=MD5 ALI_LINKD_OTA_SIZE=$((1024 * 1024 + 17)) \
	ALI_LINKD_OTA_VERSION=2.0.0 ALI_LINKD_OTA_DIFF=0 | sort)
grep -E '^ALI_LINKD_OTA_' "$T/hook-env" | diff - <(echo "$expected_env") || fail "hook environment differs"
grep -vE '^(ALI_LINKD_OTA_[A-Z_]+|PATH|PWD|SHLVL|_)=' "$T/hook-env" && fail "the hook inherited more than it should"
grep -qF -e "$SECRET" -e CREDENTIALS_DIRECTORY "$T/hook-env" && fail "a secret reached the hook"
[ ! -e "$T/state/ota-image" ] && [ ! -e "$T/state/ota-image.part" ] && [ ! -e "$T/state/ota-job.json" ] ||
	fail "files left behind after the install"
pass "MD5 image: hook got the exact bytes and environment, steps ${s[*]}, inform 2.0.0"

# --- SHA-256, spelled "Sha256", digest in upper case ---
make_image b.bin 300001
sha=$(sha256sum <"$T/www/b.bin" | cut -d' ' -f1 | tr a-f A-F)
ota_push "$URL_BASE/b.bin" 300001 3.0.0 Sha256 "$sha"
wait_inform 3.0.0 || fail "no inform of 3.0.0"
cmp "$T/installed.bin" "$T/www/b.bin" || fail "the hook did not get the SHA-256 image's bytes"
grep -qx "ALI_LINKD_OTA_SIGN_METHOD=SHA256" "$T/hook-env" || fail "SIGN_METHOD not SHA256"
grep -qx "ALI_LINKD_OTA_SIGN=$(echo "$sha" | tr A-F a-f)" "$T/hook-env" || fail "SIGN not the lower-case digest"
[ "$(step_desc 100)" = installed ] || fail "desc of 100: $(step_desc 100)"
pass "SHA-256 image installed, inform 3.0.0"

# --- the running version again: ignored ---
ota_push "$URL_BASE/b.bin" 300001 3.0.0 SHA256 "$sha"
wait_for "$T/daemon.log" "Ignoring a push for firmware 3.0.0: it is the running version" 10 || fail "push of the running version not ignored"
[ "$(wc -l <"$T/hook-runs")" = 2 ] || fail "the hook ran again"
pass "push for the running version ignored"

# --- wrong digest: -3, nothing kept, hook not run ---
make_image c.bin 200000
ota_push "$URL_BASE/c.bin" 200000 4.0.0 MD5 0123456789abcdef0123456789abcdef
wait_step -3 || fail "no -3 for a wrong digest"
step_desc -3 | grep -qE '^digest mismatch: MD5 expected 0123456789abcdef0123456789abcdef, got [0-9a-f]{32}$' ||
	fail "desc of -3: $(step_desc -3)"
[ "$(wc -l <"$T/hook-runs")" = 2 ] || fail "the hook ran for a bad image"
[ -z "$(ls "$T/state" | grep ota-image)" ] || fail "the bad image was kept: $(ls "$T/state")"
pass "wrong digest: -3, file removed, hook not run"

# --- 404: -2 ---
ota_push "$URL_BASE/missing.bin" 1000 4.0.1 MD5 0123456789abcdef0123456789abcdef
wait_step -2 || fail "no -2 for 404"
[ "$(step_desc -2)" = "download failed: HTTP 404" ] || fail "desc of -2: $(step_desc -2)"
pass "404: -2"

# --- invalid pushes: -1 with the reason, nothing fetched ---
requests=$(wc -l <"$T/nginx-access.log")
invalid() { # payload expected-desc
	local n
	n=$(grep -cF '"step":"-1"' "$T/ota.out" || true)
	cloud --pub "$OTA_PUSH_TOPIC" "$1" --timeout 5 >/dev/null || fail "cannot publish"
	wait_for_count "$T/ota.out" '"step":"-1"' $((n + 1)) 10 || fail "no -1 for $1"
	[ "$(step_desc -1)" = "$2" ] || fail "desc for $1: '$(step_desc -1)', expected '$2'"
}
invalid "$(ota_push_json "http://localhost:$NGINX_PORT/a.bin" 100 5.0.0 Md5 "$md5")" \
	"invalid push: the URL is not https:// (plain http is refused)"
invalid "$(ota_push_json "$URL_BASE/a.bin" 100 5.0.0 SHA1 da39a3ee5e6b4b0d3255bfef95601890afd80709)" \
	'invalid push: signMethod \"SHA1\" is not supported (expected Md5 or SHA256)'
invalid "$(ota_push_json "$URL_BASE/a.bin" 100 5.0.0 SHA256 "$md5")" \
	"invalid push: sign is not a SHA256 digest (64 hex digits)"
invalid "$(ota_push_json "$URL_BASE/a.bin" $((65 * 1024 * 1024)) 5.0.0 Md5 "$md5")" \
	"invalid push: the package of 68157440 bytes exceeds the limit of 67108864 bytes"
invalid "$(ota_push_json "$URL_BASE/a.bin" 0 5.0.0 Md5 "$md5")" "invalid push: size: 0 is out of range 1..9223372036854775807"
invalid '{"code":"9999","data":{},"id":1,"message":"x"}' 'invalid push: code is \"9999\", not 1000 or 200'
invalid '{"code":"1000","data":{"version":"5","size":10,"signMethod":"Md5","md5":"x"},"id":1}' "invalid push: missing url"
[ "$(wc -l <"$T/nginx-access.log")" = "$requests" ] || fail "an invalid push fetched something"
daemon_alive || fail "the daemon died on invalid pushes"
pass "invalid pushes: -1 with the reason, nothing fetched"

# --- a newer push cancels the running download ---
make_image d.bin 2000000
make_image e.bin 100000
ota_push "$URL_BASE/d.bin?rate=100k" 2000000 6.0.0 Md5 "$(md5sum <"$T/www/d.bin" | cut -d' ' -f1)"
wait_for "$T/daemon.log" "Downloading firmware 6.0.0" 10 || fail "6.0.0 did not start"
ota_push "$URL_BASE/e.bin" 100000 7.0.0 Md5 "$(md5sum <"$T/www/e.bin" | cut -d' ' -f1)"
wait_for "$T/daemon.log" "Cancelling the update to 6.0.0: superseded by 7.0.0" 10 || fail "6.0.0 not cancelled"
wait_inform 7.0.0 || fail "7.0.0 not installed"
cmp "$T/installed.bin" "$T/www/e.bin" || fail "the hook did not get 7.0.0"
grep -q "test-hook: .*(6.0.0)" "$T/daemon.log" && fail "the cancelled 6.0.0 reached the hook"
pass "a push for another version cancels the current job"

# --- hook exits 1: -4 ---
echo "exit 1" >"$T/hook-mode"
ota_push "$URL_BASE/e.bin" 100000 8.0.0 Md5 "$(md5sum <"$T/www/e.bin" | cut -d' ' -f1)"
wait_step -4 || fail "no -4 when the hook exits 1"
[ "$(step_desc -4)" = "the installer exited with status 1" ] || fail "desc of -4: $(step_desc -4)"
[ ! -e "$T/state/ota-image" ] || fail "image left after a failed install"
pass "hook exit 1: -4"

# --- hook hangs: killed at the timeout (3 s), -4 ---
echo hang >"$T/hook-mode"
n4=$(grep -cF '"step":"-4"' "$T/ota.out")
ota_push "$URL_BASE/e.bin" 100000 9.0.0 Md5 "$(md5sum <"$T/www/e.bin" | cut -d' ' -f1)"
wait_for "$T/daemon.log" "test-hook: .*\(9\.0\.0\), mode hang" 10 || fail "the hook did not start"
start=$(date +%s%N)
wait_for_count "$T/ota.out" '"step":"-4"' $((n4 + 1)) 10 || fail "no -4 for a hanging hook"
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -ge 2000 ] || fail "the hook was killed after ${elapsed} ms, before the 3 s timeout"
[ "$(step_desc -4)" = "the installer did not finish within 3 s and was killed" ] || fail "desc of -4: $(step_desc -4)"
kill -0 "$(cat "$T/hook-pid")" 2>/dev/null && fail "the hook still runs"
# Its whole process group goes, not only the hook: its child must end too.
timeout "$(scaled 5)" tail --pid="$(cat "$T/hook-child-pid")" -f /dev/null || fail "the hook's child survived it"
pass "hanging hook killed at the timeout (-4 after ${elapsed} ms)"

# --- version_command: run without blocking; a push arriving before it answered waits for it ---
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
mkfifo "$T/version-go"
cat >"$T/print-version" <<EOV
#!/bin/bash
read -r _ <"$T/version-go"
printf '  7.7.7\nsecond line ignored\n'
EOV
chmod 0755 "$T/print-version"
sed -i "s|^version_file = .*|version_command = $T/print-version --flag|" "$T/ali-linkd.conf"
echo "exit 0" >"$T/hook-mode"
mv "$T/daemon.log" "$T/daemon-1.log"
daemon_start
daemon_wait_connected
wait_for "$T/daemon.log" "Running \[ota\] version_command" 5 || fail "version_command not started"
ota_push "$URL_BASE/e.bin" 100000 8.0.0 Md5 "$(md5sum <"$T/www/e.bin" | cut -d' ' -f1)"
wait_for "$T/daemon.log" "Holding a firmware push until the running version is known" 10 || fail "push not held"
echo go >"$T/version-go"
wait_inform 7.7.7 || fail "no inform of the version_command's version"
wait_inform 8.0.0 || fail "the held push was not installed"
[ "$(grep -nF '"version":"7.7.7"' "$T/ota.out" | cut -d: -f1)" -lt "$(grep -nF '"version":"8.0.0"' "$T/ota.out" | cut -d: -f1)" ] ||
	fail "the push was handled before the version was known"
pass "version_command read on the loop; a push held until it answered"

daemon_alive || fail "daemon died"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
assert_no_secrets
