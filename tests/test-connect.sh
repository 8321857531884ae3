#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The daemon signs in over TLS, subscribes to its topics (waiting for SUBACK), posts its state, and stops
# cleanly on SIGTERM within a second with exit 0. Neither the secret nor the password appears in any log.
. "$(dirname "$0")/lib.sh"

broker_start
daemon_config
daemon_start
daemon_wait_connected

# The broker saw a valid Alink login, with the exact client id and user name of https://help.aliyun.com/document_detail/73742.html.
wait_for "$T/broker.log" "alink-auth: accepted $PK\.$DN\|timestamp=2524608000000,_ss=1,securemode=2,signmethod=hmacsha256,ext=3\|" 5 ||
	fail "broker did not accept the login"
grep -qF "u'$DN&$PK'" "$T/broker.log" || fail "user name is not dn&pk"

# Every subscription was made and acknowledged.
for t in "/sys/$PK/$DN/thing/service/property/set" "/sys/$PK/$DN/thing/event/+/post_reply" \
	"/sys/$PK/$DN/thing/service/+" "/$PK/$DN/user/data"; do
	wait_for "$T/daemon.log" "^Subscribed to $(printf '%s' "$t" | sed 's/[+.]/\\&/g')\$" 5 || fail "no SUBACK for $t"
	grep -qF " $t" "$T/broker.log" || fail "broker did not see SUBSCRIBE $t"
done
pass "connect and subscribe"

# TLS and TCP_NODELAY: the daemon says which TLS version it got.
grep -qE "Connected to 127\.0\.0\.1:$BROKER_PORT \(TLSv1\.[23]" "$T/daemon.log" || fail "no TLS version in the connect line"

# A broker that hangs up while the daemon writes must cost an EPIPE, not the daemon: SIGPIPE is ignored.
sigign=$(sed -n 's/^SigIgn:\s*//p' "/proc/$DAEMON_PID/status")
[ $(((16#$sigign >> 12) & 1)) = 1 ] || fail "SIGPIPE is not ignored (SigIgn $sigign)"

# A user topic message is received and logged (payload only at debug).
cloud --pub "/$PK/$DN/user/data" '{"hello":"gateway"}' --timeout 5 >/dev/null
wait_for "$T/daemon.log" "Message on user topic data: 19 bytes" 5 || fail "user topic message not logged"
pass "user topic"

# SIGTERM: DISCONNECT and exit 0 within a second.
start=$(date +%s%N)
rc=$(daemon_stop TERM 1)
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
# Sanitizer builds check for leaks at exit, which takes longer than the daemon's own work.
[ "${SANITIZERS:-}" = yes ] || [ "$elapsed" -le 1000 ] || fail "SIGTERM took $elapsed ms"
wait_for "$T/broker.log" "Client $PK\.$DN.* disconnected\.$" 5 || fail "broker did not see a DISCONNECT"
pass "SIGTERM: exit 0 after ${elapsed} ms, clean DISCONNECT"

assert_no_secrets
