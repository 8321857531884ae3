#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A wrong device secret: the broker (like the cloud) refuses the login; the daemon says why once, not once
# per try, keeps retrying with backoff, and never makes more than 5 attempts in any rolling minute.
. "$(dirname "$0")/lib.sh"

broker_start
daemon_config "wrong-$SECRET"
daemon_start

wait_for "$T/broker.log" "alink-auth: refused $PK\.$DN.*wrong password" 10 || fail "no login attempt reached the broker"
wait_for "$T/daemon.log" "^Connection to 127\.0\.0\.1:$BROKER_PORT failed: server refused the connection: (not authorised|bad user name or password).*\(CONNACK [45]\); retrying in" 5 ||
	fail "the daemon did not say why it was refused"
pass "refusal explained"

# The first attempt was just seen. A sixth one inside the same minute would break the platform's limit:
# wait for it (expecting the wait to time out), then check the count.
if TEST_TIMEOUT_SCALE=1 wait_for_count "$T/broker.log" "alink-auth: refused" 6 57; then
	fail "6 connection attempts within a minute: $(grep 'alink-auth: refused' "$T/broker.log" | cut -d: -f1 | tr '\n' ' ')"
fi
attempts=$(count_lines "$T/broker.log" "alink-auth: refused")
[ "$attempts" -ge 3 ] || fail "only $attempts attempt(s) in a minute: the daemon stopped retrying"
pass "$attempts attempts in the first minute (at most 5 allowed)"

# Said once: one warning with the reason, the repeats only at debug level ("failed again").
[ "$(count_lines "$T/daemon.log" "^Connection to .* failed: server refused")" = 1 ] || fail "the refusal was logged more than once"
[ "$(count_lines "$T/daemon.log" "^Connection to .* failed again: server refused")" -ge 2 ] || fail "repeats not at debug level"
pass "reason logged once"

daemon_alive || fail "daemon gave up"
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status after SIGTERM in backoff"
assert_no_secrets
