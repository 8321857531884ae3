#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A 256 MiB image (nginx limit_rate keeps the transfer going for several seconds): a property set sent in
# the middle of it is answered within a second, aliLinkctl (over a private D-Bus) shows the download and
# can ask for firmware, the daemon's memory stays flat (RSS sampled at about 10 % and 60 %), and the image
# is installed with a matching SHA-256.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ota.sh"

bus_start
ota_setup

SIZE=$((256 * 1024 * 1024))
# Sparse: no disk for the server's copy, and nginx reads it fast.
truncate -s $SIZE "$T/www/huge.bin"
sha=$(sha256sum <"$T/www/huge.bin" | cut -d' ' -f1)
rss() { sed -nE 's/^VmRSS:\s+([0-9]+) kB/\1/p' "/proc/$DAEMON_PID/status"; }
rss0=$(rss)

ota_push "$URL_BASE/huge.bin?rate=32m" $SIZE 2.0.0 SHA256 "$sha"
wait_step '(1[0-9]|[2-9][0-9])' 60 || fail "the download did not pass 10%"
rss1=$(rss)

start=$(date +%s%N)
cloud --sub "$TOPIC_SET_REPLY" --pub "$TOPIC_SET" '{"id":"4242","params":{"LightSwitch":1}}' \
	--expect "$TOPIC_SET_REPLY" --timeout 1 >"$T/cloud.out" 2>"$T/cloud.err" || fail "no set_reply within a second"
elapsed=$((($(date +%s%N) - start) / 1000000))
grep -qF '{"id":"4242","code":200,"data":{}}' "$T/cloud.out" || fail "wrong set_reply: $(cat "$T/cloud.out")"
step_at_set=$(steps | tail -n 1)
[ "$step_at_set" -lt 99 ] || fail "the download was over before the property set"
pass "property set answered in ${elapsed} ms (client connect included) at download step $step_at_set"

ctl ota status --json >"$T/ctl.out" || fail "aliLinkctl ota status failed"
grep -qE '^\{"firmware_version":"1\.0\.0","ota_state":"downloading","ota_progress":[1-9][0-9]?\}$' "$T/ctl.out" ||
	fail "ota status: $(cat "$T/ctl.out")"
gets=$(grep -c "^$OTA_GET_TOPIC " "$T/ota.out")
ctl ota request >/dev/null || fail "aliLinkctl ota request failed"
wait_for_count "$T/ota.out" "^$OTA_GET_TOPIC " $((gets + 1)) 5 || fail "no firmware/get after aliLinkctl ota request"
pass "aliLinkctl: $(cat "$T/ctl.out"); ota request sent firmware/get"

wait_step '(6[0-9]|[7-9][0-9])' 60 || fail "the download did not pass 60%"
rss2=$(rss)
if [ "${SANITIZERS:-}" = yes ]; then
	# AddressSanitizer's shadow memory, quarantine and size-class regions grow with every new allocation
	# pattern (seen: 1.7-2.1 MB here while the plain build stays flat to the kB): the RSS says nothing
	# about the daemon there. The plain build of the same CI run judges it.
	log "RSS not judged under AddressSanitizer: ${rss0} kB before, ${rss1} kB at 10 %, ${rss2} kB at 60 %"
else
	[ $((rss2 - rss1)) -lt 2048 ] || fail "RSS grew from $rss1 kB to $rss2 kB during the download"
	pass "memory flat: RSS ${rss0} kB before, ${rss1} kB at 10 %, ${rss2} kB at 60 %"
fi

wait_inform 2.0.0 1 120 || fail "the 256 MiB image was not installed"
[ "$(ctl ota status)" = "Firmware 2.0.0; OTA idle, progress 100" ] || fail "ota status after: $(ctl ota status)"
[ "$(sha256sum <"$T/installed.bin" | cut -d' ' -f1)" = "$sha" ] || fail "the hook got other bytes"
grep -E "^Transfer ended after $SIZE bytes" "$T/daemon.log" | sed 's/^/# /' >&2
pass "256 MiB image installed, SHA-256 verified while downloading"

[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
assert_no_secrets
