#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Not enough space in [ota] download_dir (a 1 MiB tmpfs) for a 4 MiB package: progress -2 "not enough space:
# need X bytes, have Y" before a single byte is fetched (nginx's access log stays empty), and the daemon
# goes on working. Needs root for the mount.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

[ "$(id -u)" -eq 0 ] || skip "mounting a small tmpfs needs root"
need mount umount
mkdir -p "$T/small"
mount -t tmpfs -o size=1m,mode=0700 ali-linkd-test "$T/small" || skip "cannot mount a tmpfs here"
trap 'rc=$?; nginx_stop; umount "$T/small" 2>/dev/null || umount -l "$T/small" 2>/dev/null; (exit $rc); _cleanup' EXIT

ota_setup "download_dir = $T/small"

make_image big.bin $((4 * 1024 * 1024))
ota_push "$URL_BASE/big.bin" $((4 * 1024 * 1024)) 2.0.0 Md5 "$(md5sum <"$T/www/big.bin" | cut -d' ' -f1)"
wait_step -2 || fail "no -2 when the space is short"
step_desc -2 | grep -qE '^not enough space: need 4194304 bytes, have [0-9]+$' || fail "desc: $(step_desc -2)"
have=$(step_desc -2 | sed -E 's/.* have ([0-9]+)$/\1/')
[ "$have" -le $((1024 * 1024)) ] || fail "claimed $have bytes free on a 1 MiB tmpfs"
[ ! -s "$T/nginx-access.log" ] || fail "something was fetched: $(cat "$T/nginx-access.log")"
grep -q '"step":"0"' "$T/ota.out" && fail "the download was reported as started"
[ -z "$(ls -A "$T/small")" ] || fail "files were left in the download directory: $(ls -A "$T/small")"
pass "not enough space: -2 ($(step_desc -2)) before any byte was fetched"

# A package that fits still works there.
make_image small.bin 100000
ota_push "$URL_BASE/small.bin" 100000 3.0.0 Md5 "$(md5sum <"$T/www/small.bin" | cut -d' ' -f1)"
wait_inform 3.0.0 || fail "a package that fits was not installed"
cmp "$T/installed.bin" "$T/www/small.bin" || fail "wrong bytes"
pass "a package that fits installs from the same directory"

[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
assert_no_secrets
