#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault injection: the broker is restarted 20 times while 1,000 QoS 1 messages flow (500 user messages
# through D-Bus Publish and 500 property posts through PostProperties, each naming its own property). The
# cloud side keeps its session at the broker across the restarts and must end up with all 1,000: every
# user message, in order, and every property, in order of first appearance. Duplicates are allowed by
# QoS 1 and reported.
. "$(dirname "$0")/lib.sh"
need busctl

export BROKER_PERSIST=1
bus_start
broker_start
port=$BROKER_PORT
OUTBOX_RATE=50 daemon_config
# Posts are checked against the thing model: one with the 500 properties the feeder posts.
tsl_numbered 500 "$T/numbered.tsl"
daemon_tsl "$T/numbered.tsl"
daemon_start
daemon_wait_connected

n_listeners=0
listen() {
	n_listeners=$((n_listeners + 1))
	cloud_listen "cloud-$n_listeners" --id cloud-faults --keep-session --sub "/$PK/$DN/user/data" --sub "$TOPIC_POST"
}
listen

# The feeder: 1,000 messages as fast as local clients can hand them over.
(
	for i in $(seq 1 500); do
		"$CTL" publish user/data "{\"u\":$i}" --qos 1 >/dev/null 2>>"$T/feeder.err" || echo "publish $i failed" >>"$T/feeder.err"
		busctl --address="$TEST_BUS_ADDRESS" call org.alilinkd1 /org/alilinkd1 org.alilinkd1.Manager PostProperties s \
			"{\"p$i\":$i}" 2>>"$T/feeder.err" || echo "post $i failed" >>"$T/feeder.err"
	done
	echo done >"$T/feeder.done"
) &
_BG_PIDS+=($!)

# Twenty restarts while the messages flow, a listener of the cloud's session after each.
for r in $(seq 1 20); do
	broker_stop TERM
	broker_start server "$port"
	listen
	# Let the daemon find its way back now and then, so the flow goes on between restarts (its backoff
	# and the 5-a-minute limit otherwise keep it away for most of the run, which is also fine).
	if [ $((r % 5)) = 0 ]; then
		wait_for_count "$T/daemon.log" "^Connected to 127\.0\.0\.1:$port" $((r / 5 + 1)) 150 || fail "no reconnect after restart $r"
	fi
done
pass "20 broker restarts"

wait_for "$T/feeder.done" "done" 120 || fail "the feeder did not finish"
[ ! -s "$T/feeder.err" ] || fail "local clients were refused: $(head -5 "$T/feeder.err")"

# Everything arrives once the daemon is back for good (backoff up to 2 minutes, then draining).
all() { for i in $(seq 1 "$n_listeners"); do cat "$T/cloud-$i.out"; done; }
user_distinct() { all | grep -o '^/[^ ]*/user/data {"u":[0-9]*}' | grep -o '[0-9]*}$' | tr -d '}' | awk '!s[$0]++'; }
prop_distinct() { all | grep "^$TOPIC_POST " | grep -o '"p[0-9]*"' | tr -d '"p' | awk '!s[$0]++'; }
# The last messages of each class; everything before them went out before them.
arrived() { all | grep -qE "$1" || wait_for "$T/cloud-$n_listeners.out" "$1" 300; }
arrived '/user/data \{"u":500\}$' || fail "the last user message never arrived"
arrived '"p500"' || fail "the last property never arrived"
u=$(user_distinct | wc -l)
p=$(prop_distinct | wc -l)
[ "$u" = 500 ] || fail "$u of 500 user messages arrived (outbox: $(ctl status --json | grep -o '"outbox_depth":[0-9]*'))"
[ "$p" = 500 ] || fail "$p of 500 properties arrived"
user_distinct | cmp -s - <(seq 1 500) || fail "user messages out of order"
prop_distinct | cmp -s - <(seq 1 500) || fail "properties out of order"
dups=$(($(all | grep -c '/user/data {"u":') - 500))
posts=$(all | grep -c "^$TOPIC_POST ")
pass "all 1,000 arrived in order per class: 500 user messages ($dups duplicates), 500 properties in $posts posts"
log "BENCH fault_restarts_duplicates $dups messages"
assert_no_secrets
