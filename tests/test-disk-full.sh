#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault injection: the state directory's filesystem fills up. The daemon says so clearly (once), keeps
# serving what it can (property sets answered, messages still sent while online), refuses to call a QoS 1
# publish "stored" when it is not, and its outbox journal stays readable.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs as the state directory"
need mount umount

bus_start
broker_start
daemon_config
mount -t tmpfs -o size=512k,mode=0700 tmpfs "$T/state" || skip "cannot mount a tmpfs here"
trap 'rc=$?; [ -z "$DAEMON_PID" ] || kill -KILL "$DAEMON_PID" 2>/dev/null || true; umount -l "$T/state" 2>/dev/null || true; (exit $rc); _cleanup' EXIT
daemon_start
daemon_wait_connected
cloud_listen cloud --sub "/$PK/$DN/user/data" --sub "$TOPIC_POST"

# Fill it.
dd if=/dev/zero of="$T/state/filler" bs=4k >/dev/null 2>&1 || true
df -k "$T/state" | tail -n1 | awk '{ exit $4 == 0 ? 0 : 1 }' || fail "could not fill the filesystem"

rc=0
ctl publish user/data '{"full":1}' --qos 1 >"$T/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "could not be stored on disk" "$T/out" || fail "a QoS 1 publish on a full disk: $rc $(cat "$T/out")"
: >"$T/out"
wait_for "$T/daemon.log" "Cannot write the outbox journal $T/state/outbox: No space left on device; messages for the cloud are kept in memory only" 5 ||
	fail "no clear error for the full disk"
for i in 2 3 4 5; do ctl publish user/data "{\"full\":$i}" --qos 1 >/dev/null 2>&1 || true; done
[ "$(count_lines "$T/daemon.log" "Cannot write the outbox journal")" = 1 ] || fail "the error was repeated instead of said once"
# Still serving: the messages go out (from memory), a property set is answered and posted.
wait_for "$T/cloud.out" '"full":5' 10 || fail "messages were not sent while the disk is full"
cloud --sub "$TOPIC_SET_REPLY" --pub "$TOPIC_SET" '{"id":"77","params":{"LightSwitch":1}}' --expect "$TOPIC_SET_REPLY" \
	--timeout 10 >"$T/cloud-set.out" || fail "no answer to a property set with a full disk"
grep -qF '"code":200' "$T/cloud-set.out" || fail "property set not answered with 200"
wait_for "$T/cloud.out" '"LightSwitch":1' 10 || fail "the post did not go out"
daemon_alive || fail "the daemon died"
pass "full disk: said once, messages still delivered, property set answered"

# Space again: stored again, and the journal reads back without a torn record.
rm -f "$T/state/filler"
ctl publish user/data '{"full":"over"}' --qos 1 >"$T/out" 2>&1 || fail "publish after freeing space: $(cat "$T/out")"
wait_for "$T/daemon.log" "The outbox journal $T/state/outbox can be written again" 5 || fail "recovery not said"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
mv "$T/daemon.log" "$T/daemon-1.log"
daemon_start
daemon_wait_connected
! grep -q "torn or damaged" "$T/daemon.log" || fail "the journal was damaged"
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
pass "space freed: stored again; the journal is intact"
