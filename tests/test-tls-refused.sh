#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# TLS always verifies the server: an unknown CA and a host-name mismatch are refused before any MQTT
# CONNECT leaves the daemon (the broker's plugin never sees a login), and the log says why.
. "$(dirname "$0")/lib.sh"

# no_connect_reached: the broker saw TCP connections but never an MQTT CONNECT.
no_connect_reached() {
	grep -q "New connection from" "$T/broker.log" || fail "the daemon never reached the broker"
	! grep -qE "alink-auth: (accepted|refused)|New client connected" "$T/broker.log" || fail "a CONNECT reached the broker"
}

# 1. Unknown CA: the daemon trusts another CA than the one that signed the server's certificate.
pki_create
broker_start server
daemon_config "$SECRET" "$T/pki/other-ca.crt"
daemon_start
wait_for "$T/daemon.log" "Connection to 127\.0\.0\.1:$BROKER_PORT failed: TLS handshake with 127\.0\.0\.1:$BROKER_PORT failed: server certificate not accepted: (self-signed certificate in certificate chain|unable to get local issuer certificate)" 10 ||
	fail "no clear log line for an unknown CA"
wait_for "$T/broker.log" "OpenSSL Error|disconnected" 5 || true
no_connect_reached
daemon_alive || fail "daemon died"
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
pass "unknown CA refused, no CONNECT"

# 2. Host-name mismatch: the right CA, but the certificate is for another name; once by name, once by IP.
broker_stop
rm -f "$T/broker.log" "$T/daemon.log"
# localhost may name ::1 before 127.0.0.1 (Debian's default /etc/hosts): the broker listens on both.
BROKER_ADDR=localhost broker_start wrong-name
DAEMON_HOST=localhost daemon_config "$SECRET" "$T/pki/ca.crt"
daemon_start
wait_for "$T/daemon.log" "Connection to localhost:$BROKER_PORT failed: TLS handshake with localhost:$BROKER_PORT failed: server certificate not accepted: hostname mismatch \\(/CN=wrong\\.example\\.invalid\\)" 10 ||
	fail "no clear log line for a host-name mismatch"
no_connect_reached
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
pass "host-name mismatch refused, no CONNECT"

rm -f "$T/daemon.log"
daemon_config "$SECRET" "$T/pki/ca.crt"
daemon_start
wait_for "$T/daemon.log" "failed: TLS handshake with 127\\.0\\.0\\.1:$BROKER_PORT failed: server certificate not accepted: IP address mismatch" 10 ||
	fail "no clear log line for an IP address mismatch"
no_connect_reached
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
pass "IP address mismatch refused, no CONNECT"

# 3. An expired server certificate.
broker_stop
rm -f "$T/broker.log" "$T/daemon.log"
broker_start expired
daemon_config "$SECRET" "$T/pki/ca.crt"
daemon_start
wait_for "$T/daemon.log" "failed: TLS handshake with 127\\.0\\.0\\.1:$BROKER_PORT failed: server certificate not accepted: certificate has expired" 10 ||
	fail "no clear log line for an expired certificate"
no_connect_reached
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
pass "expired certificate refused, no CONNECT"

# 4. A plain-TCP MQTT server on the TLS port: the handshake fails, nothing is sent in clear.
broker_stop
rm -f "$T/broker.log" "$T/daemon.log"
BROKER_PLAIN=1 broker_start
daemon_config "$SECRET" "$T/pki/ca.crt"
daemon_start
wait_for "$T/daemon.log" "^Connection to 127\\.0\\.0\\.1:$BROKER_PORT failed: TLS handshake with 127\\.0\\.0\\.1:$BROKER_PORT failed: " 10 ||
	fail "no clear log line for a plain-TCP server"
no_connect_reached
! grep -qF "$DN&$PK" "$T/broker.log" || fail "the user name reached a plain-TCP server"
[ "$(daemon_stop TERM 2)" = 0 ] || fail "exit status"
pass "plain-TCP server refused: $(grep -m1 -o 'TLS handshake with [^;]*' "$T/daemon.log")"

assert_no_secrets
