#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Nothing lost while offline: QoS 1 messages and property posts wait in the outbox (on disk) while the
# cloud is unreachable, survive kill -9, and arrive after reconnect, in order; property posts coalesce to
# the latest value of each property; draining keeps to 10 messages a second.
. "$(dirname "$0")/lib.sh"

export BROKER_PERSIST=1
bus_start
broker_start
port=$BROKER_PORT
daemon_config
sed -i 's/^max_rate = .*/max_rate = 200/' "$T/ali-linkd.conf"
daemon_start
daemon_wait_connected

# The cloud's side keeps its session at the broker, so it sees what is sent while it is away too.
listen() { cloud_listen "$1" --id cloud-outbox --keep-session --sub "/$PK/$DN/user/data" --sub "$TOPIC_POST"; }
listen cloud-1

# Offline: the broker stops cleanly (keeping the cloud's session).
broker_stop TERM
wait_for "$T/daemon.log" "^Disconnected from" 10 || fail "disconnect not noticed"
for i in $(seq 1 50); do
	ctl publish user/data "{\"n\":$i}" --qos 1 >/dev/null || fail "QoS 1 publish $i refused while offline"
done
for c in 110000 220000 330000 440000 ff00ff; do ctl led "$c" >/dev/null || fail "led $c"; done
ctl led off >/dev/null
depth=$(ctl status --json | grep -o '"outbox_depth":[0-9]*' | cut -d: -f2)
[ "$depth" = 51 ] || fail "outbox depth $depth, expected 50 messages and one coalesced post"
rc=0
ctl publish user/data x --qos 0 >"$T/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "Not connected" "$T/out" || fail "QoS 0 while offline should fail: $(cat "$T/out")"
: >"$T/out"
pass "offline: 50 QoS 1 messages and 6 LED changes held as 51 messages"

# Killed with the backlog: it is on disk.
kill -KILL "$DAEMON_PID"
wait_for "$T/daemon.exit" "^exit " 10 || fail "daemon did not die"
DAEMON_PID=
mv "$T/daemon.log" "$T/daemon-1.log"
daemon_start
wait_for "$T/daemon.log" "The outbox holds 51 messages from before the restart" 10 || fail "backlog not recovered after kill -9"

# Back online: everything arrives, user messages in order, the light's last state in one post.
broker_start server "$port"
daemon_wait_connected 30
wait_for "$T/daemon.log" "Sending 51 messages held in the outbox" 10 || fail "backlog not sent"
listen cloud-2
wait_for_count "$T/cloud-2.out" "^/$PK/$DN/user/data " 50 30 || fail "not all 50 user messages arrived: $(grep -c user/data "$T/cloud-2.out")"
grep "^/$PK/$DN/user/data " "$T/cloud-2.out" | sed 's/.*{"n":\([0-9]*\)}/\1/' | awk '!seen[$0]++' >"$T/order"
seq 1 50 | cmp -s - "$T/order" || fail "user messages out of order: $(tr '\n' ' ' <"$T/order")"
wait_for "$T/cloud-2.out" "^$TOPIC_POST .*\"LightSwitch\":\{\"value\":0,\"time\":[0-9]+\},\"RGBColor\":\{\"value\":\{\"Red\":255,\"Green\":0,\"Blue\":255\},\"time\":[0-9]+\}" 10 ||
	fail "the coalesced post with the latest values did not arrive"
ctl status --json | grep -qF '"outbox_depth":0' || fail "outbox not empty after draining"
dups=$(($(grep -c "^/$PK/$DN/user/data " "$T/cloud-2.out") - 50))
pass "after kill -9 and reconnect: all 50 in order ($dups duplicates), the latest LED state posted"

# The platform's rate: 40 waiting messages drain at no more than 10 a second. The cloud listens before
# the daemon connects, so what it sees is the daemon's pace.
sed -i 's/^max_rate = .*/max_rate = 10/' "$T/ali-linkd.conf"
broker_stop TERM
wait_for "$T/daemon.log" "^Disconnected from" 10 || fail "disconnect not noticed"
for i in $(seq 1 40); do ctl publish user/data "{\"r\":$i}" --qos 1 >/dev/null || fail "publish $i"; done
[ "$(daemon_stop TERM 5)" = 0 ] || fail "exit status"
broker_start server "$port"
cloud_listen cloud-3 --id cloud-outbox --keep-session --sub "/$PK/$DN/user/data" --time
mv "$T/daemon.log" "$T/daemon-2.log"
daemon_start
wait_for_count "$T/cloud-3.out" '/user/data \{"r":' 40 30 || fail "rate test: not all 40 arrived"
grep '/user/data {"r":' "$T/cloud-3.out" | cut -d' ' -f1 >"$T/times"
first=$(head -n1 "$T/times")
last=$(tail -n1 "$T/times")
[ $((last - first)) -ge 2900 ] || fail "40 messages drained in $((last - first)) ms: faster than 10 a second"
awk 'NR > 10 && $1 - t[NR - 10] < 900 { bad = 1 } { t[NR] = $1 } END { exit bad }' "$T/times" ||
	fail "more than 10 messages within a second"
pass "40 messages drained in $((last - first)) ms (at most 10 a second)"
assert_no_secrets
