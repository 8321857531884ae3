#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The download helper ali-linkd-fetch (src/ota/download.h) against real servers:
# - while it runs: the daemon has no libcurl mapped, the helper has; its argv has no URL, its environment is
#   empty, it has no_new_privs and its rlimits, and no descriptor of the daemon's but stdin, stdout, stderr;
# - killed mid-download, the job resumes with Range from the bytes on disk (nginx's access log says 206) and
#   the image installed is the server's, byte for byte;
# - hostile servers: a size other than the push's → -2; an endless body (openssl s_server) → -2 at the
#   push's size; a slow drip (nginx at 100 B/s) → dropped as a stall and retried; through all of it the
#   daemon's resident memory stays where it was when idle (the body never sits in the daemon).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

ota_setup "stall_timeout = 2"

md5_of() { md5sum <"$T/www/$1" | cut -d' ' -f1; }
rss_kib() { sed -nE 's/^VmRSS:[[:space:]]+([0-9]+) kB/\1/p' "/proc/$DAEMON_PID/status"; }
# The pid of the download helper started last after the mark.
helper_pid() { log_since_mark | sed -nE 's/^Started the download helper .* \(pid ([0-9]+)\) from byte [0-9]+$/\1/p' | tail -n 1; }
SIZE=$((6 * 1024 * 1024))
idle_rss=$(rss_kib)

# --- the helper while it runs ---
make_image kill.bin $SIZE
ota_mark
ota_push "$URL_BASE/kill.bin?rate=2m&Expires=7" $SIZE 2.0.0 Md5 "$(md5_of kill.bin)"
wait_step '(1[0-9]|[2-9][0-9])' 30 || fail "the download did not pass 10%"
pid=$(helper_pid)
[ -n "$pid" ] && [ -d "/proc/$pid" ] || fail "no download helper running: $(log_since_mark)"
[ "$(cat "/proc/$pid/task/$pid/stat" | cut -d' ' -f4)" = "$DAEMON_PID" ] || fail "the helper is not the daemon's child"
grep -q libcurl "/proc/$DAEMON_PID/maps" && fail "the daemon has libcurl mapped"
grep -q libcurl "/proc/$pid/maps" || fail "the helper has no libcurl mapped"
[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" = "$ALI_LINKD_FETCH " ] || fail "helper argv: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
[ -z "$(tr '\0' '\n' <"/proc/$pid/environ")" ] || fail "helper environment: $(tr '\0' '\n' <"/proc/$pid/environ")"
grep -qE '^NoNewPrivs:[[:space:]]+1$' "/proc/$pid/status" || fail "the helper lacks no_new_privs"
# (Not in a sanitizer build: AddressSanitizer needs the address space unlimited.)
[ "${SANITIZERS:-no}" = yes ] || grep -qE '^Max address space +536870912 +536870912 ' "/proc/$pid/limits" ||
	fail "no address space limit: $(cat "/proc/$pid/limits")"
grep -qE '^Max core file size +0 +0 ' "/proc/$pid/limits" || fail "core files allowed"
for fd in /proc/"$pid"/fd/*; do
	n=${fd##*/} target=$(readlink "$fd")
	case $n:$target in
	0:pipe:* | 1:pipe:* | 2:"$T/daemon.log") ;;
	[0-2]:*) fail "helper fd $n is $target" ;;
	*:socket:* | *:anon_inode:*) ;; # libcurl's own: the connection, its resolver's eventfd
	*) fail "the helper holds fd $n: $target" ;;
	esac
done
during_rss=$(rss_kib)
pass "helper $pid: libcurl in it, not in the daemon; no URL in argv, empty environment, no_new_privs, rlimits, own fds only"

# --- the helper killed mid-download: a failed attempt, resumed ---
kill -KILL "$pid"
wait_log "The download helper \(pid $pid\) was killed by signal 9" 10 || fail "the helper's death went unnoticed"
wait_log "The firmware download stopped at byte [0-9]+ of $SIZE \(the download helper was killed by signal Killed\)" 10 ||
	fail "the helper's death was not a failed transfer"
wait_log "Resuming the download of firmware 2\.0\.0 at byte [0-9]+ of $SIZE" 10 || fail "no resume"
at=$(log_since_mark | sed -nE "s/^Resuming the download of firmware 2\.0\.0 at byte ([0-9]+) of.*/\1/p" | tail -n 1)
wait_inform 2.0.0 1 30 || fail "2.0.0 not installed after the helper was killed"
cmp "$T/installed.bin" "$T/www/kill.bin" || fail "the image resumed after the kill differs"
grep -qxF "GET /kill.bin args=\"rate=2m&Expires=7\" range=\"bytes=$at-\" status=206 sent=$((SIZE - at))" "$T/nginx-access.log" ||
	fail "no 206 for bytes=$at- in the access log: $(grep kill.bin "$T/nginx-access.log")"
[ "$at" -gt 0 ] || fail "resumed from 0"
daemon_alive || fail "the daemon died with its helper"
pass "helper killed: resumed with Range: bytes=$at-, 206, digest matched, installed"

# --- hostile: the server's size is not the push's ---
ota_mark
ota_push "$URL_BASE/kill.bin" $((SIZE + 1)) 3.0.0 Md5 "$(md5_of kill.bin)"
wait_step -2 20 || fail "no -2 for a size mismatch"
[ "$(step_desc -2)" = "download failed: the server's file has $SIZE bytes, expected $((SIZE + 1))" ] ||
	fail "desc of -2: $(step_desc -2)"
pass "wrong size: -2 ($(step_desc -2))"

# --- hostile: an endless body without Content-Length ---
ENDLESS_PORT=$("$TESTS_BUILD/free-port")
(
	{ printf 'HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n'; exec cat /dev/zero; } |
		exec openssl s_server -accept "127.0.0.1:$ENDLESS_PORT" -cert "$T/pki/server.crt" -key "$T/pki/server.key" \
			-quiet -naccept 1 >/dev/null 2>"$T/endless.err"
) &
_BG_PIDS+=($!)
n2=$(grep -cF '"step":"-2"' "$T/ota.out")
ota_mark
ota_push "https://localhost:$ENDLESS_PORT/endless.bin" $((4 * 1024 * 1024)) 4.0.0 Md5 0123456789abcdef0123456789abcdef
wait_for_count "$T/ota.out" '"step":"-2"' $((n2 + 1)) 20 || fail "no -2 for an endless body"
# libcurl's own cap (CURLOPT_MAXFILESIZE) or the helper's count stops it, whichever sees it first.
step_desc -2 | grep -qxE "download failed: the server('s file is larger than| sent more than) the expected 4194304 bytes" ||
	fail "desc of -2: $(step_desc -2)"
endless_rss=$(rss_kib)
pass "endless body: -2 at the push's size"

# --- hostile: a slow drip (100 B/s) is a stall: dropped after stall_timeout, retried ---
make_image drip.bin 1000000
ota_mark
ota_push "$URL_BASE/drip.bin?rate=100" 1000000 5.0.0 Md5 "$(md5_of drip.bin)"
wait_log "The firmware download stopped at byte [0-9]+ of 1000000 \(Operation too slow.*\); resuming in 1 s" 15 ||
	fail "the drip was not dropped as a stall: $(log_since_mark | grep -i stopped)"
drip_rss=$(rss_kib)
# Superseded by a good image, which installs.
make_image ok.bin 200000
ota_push "$URL_BASE/ok.bin" 200000 6.0.0 Md5 "$(md5_of ok.bin)"
wait_inform 6.0.0 1 20 || fail "6.0.0 not installed after the drip"
pass "slow drip: dropped as a stall, retried, superseded"

# The daemon's memory: the body went through it, never into it.
for r in "$during_rss" "$endless_rss" "$drip_rss"; do
	[ "$r" -le $((idle_rss + 2048)) ] || fail "the daemon grew from $idle_rss KiB idle to $r KiB"
done
pass "daemon RSS: $idle_rss KiB idle, $during_rss KiB downloading, $endless_rss after the endless body, $drip_rss during the drip"
