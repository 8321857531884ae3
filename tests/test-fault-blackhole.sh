#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Fault injection: the broker sits behind a veth pair in a network namespace of the test's own; the link is
# set down (packets vanish, no error comes back). The daemon must notice within 1.5 x keepalive, back
# off, reconnect when the link returns, and lose nothing that was accepted meanwhile.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root to create a network namespace and a veth pair"
need ip busctl

ns=alink-bh-$$
hif=albh$$h
pif=albh$$p
net="10.$((RANDOM % 200 + 20)).$((RANDOM % 250))"
cleanup_net() { ip netns del "$ns" 2>/dev/null || true; ip link del "$hif" 2>/dev/null || true; }
trap 'rc=$?; cleanup_net; (exit $rc); _cleanup' EXIT
ip netns add "$ns" || skip "cannot create a network namespace here"
# ip netns exec makes / a slave mount in a mount namespace of its own: not possible in a chroot whose root
# is not a mount point.
ip netns exec "$ns" true || skip "cannot enter a network namespace here (a chroot whose / is no mount point?)"
ip link add "$hif" type veth peer name "$pif" || skip "cannot create a veth pair here"
ip link set "$pif" netns "$ns"
ip addr add "$net.1/30" dev "$hif"
ip link set "$hif" up
ip netns exec "$ns" ip addr add "$net.2/30" dev "$pif"
ip netns exec "$ns" ip link set "$pif" up
ip netns exec "$ns" ip link set lo up

pki_create
_cert bh-server "$net.2" "IP:$net.2" ca
export BROKER_NETNS=$ns BROKER_ADDR=$net.2 DAEMON_HOST=$net.2
bus_start
broker_start bh-server
KEEPALIVE=30 daemon_config
daemon_start
daemon_wait_connected 30
cloud_listen cloud --sub "/$PK/$DN/user/data"
ctl publish user/data '{"before":1}' --qos 1 >/dev/null || fail "publish before"
wait_for "$T/cloud.out" '"before":1' 10 || fail "no traffic before the outage"

# Black hole: the broker's end of the link goes down. Nothing is refused, everything is lost.
ip netns exec "$ns" ip link set "$pif" down
t0=$(date +%s%N)
for i in $(seq 1 20); do ctl publish user/data "{\"during\":$i}" --qos 1 >/dev/null || fail "publish $i refused during the outage"; done
wait_for "$T/daemon.log" "^Disconnected from $net\.2:$BROKER_PORT: no answer to the keepalive ping" 60 ||
	fail "the dead link was not noticed"
t1=$(date +%s%N)
noticed=$(((t1 - t0) / 1000000))
[ "$noticed" -le 45500 ] || fail "noticed after $noticed ms, more than 1.5 x keepalive (45 s)"
pass "dead link noticed after $noticed ms (keepalive 30 s, limit 45 s)"
wait_for "$T/daemon.log" "retrying in" 60 || fail "no backoff"

# The link returns: reconnect, and the 20 messages accepted meanwhile arrive.
ip netns exec "$ns" ip link set "$pif" up
wait_for_count "$T/daemon.log" "^Connected to $net\.2:$BROKER_PORT" 2 180 || fail "no reconnect after the link returned"
wait_for "$T/cloud.out" '"during":20\}' 30 || fail "the messages of the outage did not all arrive"
got=$(grep -o '"during":[0-9]*' "$T/cloud.out" | sort -u | wc -l)
[ "$got" = 20 ] || fail "$got of 20 messages from the outage arrived"
pass "reconnected after the outage; all 20 messages accepted during it arrived"
assert_no_secrets
