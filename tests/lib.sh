# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/lib.sh: shared by the integration tests and the demo. Source it; it sets -eu.
#
# Real parts only: a test CA and server certificates made with openssl, mosquitto (Debian's broker) on a
# free port of 127.0.0.1 with a TLS listener and our credential-checking plugin, the real ali-linkd, and
# tests/cloud-client playing the cloud. Waiting is always on an event (a line appearing in a log, via
# tail -F) with a timeout; nothing sleeps to synchronise.
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip (only outside CI: under CI=true a missing tool is
# a failure, so a forgotten install step cannot hide behind a skip), 99 hard error.

set -eu

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
: "${top_builddir:=$top_srcdir/build}"
TESTS_BUILD="$top_builddir/tests"
DAEMON="$top_builddir/ali-linkd"

# The device of the RT-Thread sample (a published demo secret, ALINK-PROTOCOL.md §7).
PK=a1HETlEuvri
DN=RGB-LED-DEV-1
SECRET=Ghuiyd9nmGowdZzjPqFtxhm3WUHEbIlI
PASSWORD_SHA256=503bb16c57060a2750fc291c4cbd1c24b9393cfeb14dcece31e15fc09d9c5157
CLOUD_USER=cloud
CLOUD_PASS=cloud-$$-$RANDOM

T=$(mktemp -d "${TMPDIR:-/tmp}/ali-linkd-test.XXXXXX")
BROKER_PID=
DAEMON_PID=
_BG_PIDS=()

log() { printf '%s\n' "$*" >&2; }

_dump() {
	local f
	for f in "$T"/daemon.log "$T"/broker.log "$T"/cloud*.out "$T"/cloud*.err; do
		[ -s "$f" ] || continue
		log "----- ${f##*/} (last 40 lines) -----"
		tail -n 40 "$f" >&2
	done
}

fail() {
	log "FAIL: $*"
	_dump
	exit 1
}

skip() {
	if [ "${CI:-}" = true ]; then
		fail "cannot run under CI: $* (the CI setup must install it)"
	fi
	log "SKIP: $*"
	exit 77
}

pass() { log "ok - $*"; }

need() {
	local t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || skip "$t is not installed"
	done
}

_cleanup() {
	local rc=$?
	local p
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null || true
	[ -n "$BROKER_PID" ] && kill -KILL "$BROKER_PID" 2>/dev/null || true
	for p in "${_BG_PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [ "${KEEP_TEST_DIR:-}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 77 ] && [ "${KEEP_FAILED:-}" = 1 ]; }; then
		log "test files kept in $T"
	else
		rm -rf "$T"
	fi
	exit $rc
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# The time in ms, without a fork per call (the wait loops below run once per line of a log).
_now_ms() { _NOW_MS=$((${EPOCHREALTIME//[!0-9]/} / 1000)); }

# wait_for FILE REGEX [TIMEOUT]: until a line of FILE (present or future) matches the extended REGEX.
wait_for() {
	local file=$1 re=$2 timeout=${3:-10} fd pid line left end tmo
	touch "$file"
	_now_ms
	end=$((_NOW_MS + timeout * 1000))
	exec {fd}< <(exec tail -n +1 -F "$file" 2>/dev/null)
	pid=$!
	while :; do
		_now_ms
		left=$((end - _NOW_MS))
		[ "$left" -gt 0 ] || break
		printf -v tmo '%d.%03d' $((left / 1000)) $((left % 1000))
		if IFS= read -r -t "$tmo" -u "$fd" line; then
			if [[ $line =~ $re ]]; then
				kill "$pid" 2>/dev/null || true
				exec {fd}<&-
				return 0
			fi
		else
			# Timed out, or the stream ended.
			break
		fi
	done
	kill "$pid" 2>/dev/null || true
	exec {fd}<&-
	return 1
}

# wait_for_count FILE REGEX N [TIMEOUT]: until N lines of FILE match.
wait_for_count() {
	local file=$1 re=$2 n=$3 timeout=${4:-10} fd pid line left end tmo seen=0
	touch "$file"
	_now_ms
	end=$((_NOW_MS + timeout * 1000))
	exec {fd}< <(exec tail -n +1 -F "$file" 2>/dev/null)
	pid=$!
	while :; do
		_now_ms
		left=$((end - _NOW_MS))
		[ "$left" -gt 0 ] || break
		printf -v tmo '%d.%03d' $((left / 1000)) $((left % 1000))
		if IFS= read -r -t "$tmo" -u "$fd" line; then
			if [[ $line =~ $re ]]; then
				seen=$((seen + 1))
				if [ $seen -ge "$n" ]; then
					kill "$pid" 2>/dev/null || true
					exec {fd}<&-
					return 0
				fi
			fi
		else
			break
		fi
	done
	kill "$pid" 2>/dev/null || true
	exec {fd}<&-
	return 1
}

count_lines() { grep -cE -- "$2" "$1" 2>/dev/null || true; }

# --- PKI: a CA, server certificates for 127.0.0.1/localhost and for a wrong name, an unknown CA ---
_cert() { # name cn san ca
	local name=$1 cn=$2 san=$3 ca=$4
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$cn" \
		-keyout "$T/pki/$name.key" -out "$T/pki/$name.csr" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$T/pki/$name.ext"
	openssl x509 -req -in "$T/pki/$name.csr" -CA "$T/pki/$ca.crt" -CAkey "$T/pki/$ca.key" -CAcreateserial \
		-days "${5:-30}" -extfile "$T/pki/$name.ext" -out "$T/pki/$name.crt" 2>/dev/null
}

_ca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj "/CN=ali-linkd test $1" -keyout "$T/pki/$1.key" -out "$T/pki/$1.crt" 2>/dev/null
}

pki_create() {
	need openssl
	mkdir -p "$T/pki"
	_ca ca
	_ca other-ca
	_cert server localhost "DNS:localhost,IP:127.0.0.1" ca
	_cert wrong-name wrong.example.invalid "DNS:wrong.example.invalid" ca
	chmod 0644 "$T"/pki/*.key
}

# --- the broker ---
# broker_start [CERT] [PORT]: CERT is server (default) or wrong-name; PORT defaults to a free one.
broker_start() {
	local cert=${1:-server}
	need mosquitto
	[ -f "$TESTS_BUILD/alink-auth-plugin.so" ] || fail "tests/alink-auth-plugin.so is not built (make check builds it)"
	[ -d "$T/pki" ] || pki_create
	BROKER_PORT=${2:-$("$TESTS_BUILD/free-port")}
	printf '%s %s %s\n' "$PK" "$DN" "$SECRET" >"$T/devices"
	cat >"$T/mosquitto.conf" <<-EOF
		per_listener_settings false
		allow_anonymous false
		persistence false
		log_dest file $T/broker.log
		log_type all
		connection_messages true
		log_timestamp true
		set_tcp_nodelay true
		listener $BROKER_PORT 127.0.0.1
		cafile $T/pki/ca.crt
		certfile $T/pki/$cert.crt
		keyfile $T/pki/$cert.key
		plugin $TESTS_BUILD/alink-auth-plugin.so
		plugin_opt_devices $T/devices
		plugin_opt_cloud_username $CLOUD_USER
		plugin_opt_cloud_password $CLOUD_PASS
	EOF
	# As root mosquitto would drop to the mosquitto user; stay in this test's identity instead.
	[ "$(id -u)" -eq 0 ] && echo "user root" >>"$T/mosquitto.conf"
	: >>"$T/broker.log"
	mosquitto -c "$T/mosquitto.conf" >>"$T/broker.stderr" 2>&1 &
	BROKER_PID=$!
	wait_for "$T/broker.log" "Opening ipv4 listen socket on port $BROKER_PORT" 10 ||
		fail "mosquitto did not start: $(cat "$T/broker.stderr" 2>/dev/null)"
}

broker_stop() {
	[ -n "$BROKER_PID" ] || return 0
	kill -"${1:-TERM}" "$BROKER_PID" 2>/dev/null || true
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=
}

# --- the daemon ---
# daemon_config [SECRET] [CA_FILE]: write $T/ali-linkd.conf for the test broker.
daemon_config() {
	local secret=${1:-$SECRET} ca=${2:-$T/pki/ca.crt}
	printf '%s\n' "$secret" >"$T/device-secret"
	chmod 0600 "$T/device-secret"
	mkdir -p "$T/state"
	cat >"$T/ali-linkd.conf" <<-EOF
		[device]
		product_key = $PK
		device_name = $DN
		device_secret_file = $T/device-secret

		[mqtt]
		host = ${DAEMON_HOST:-127.0.0.1}
		port = $BROKER_PORT
		ca_file = $ca
		keepalive = ${KEEPALIVE:-60}
		user_topics = data

		[daemon]
		log_level = debug
		state_directory = $T/state
	EOF
}

# daemon_start: run ali-linkd in the background; its stderr goes to $T/daemon.log, its exit status to
# $T/daemon.exit ("exit N") when it ends.
daemon_start() {
	[ -x "$DAEMON" ] || fail "$DAEMON is not built"
	[ -f "$T/ali-linkd.conf" ] || daemon_config
	rm -f "$T/daemon.exit"
	: >>"$T/daemon.log"
	(
		"$DAEMON" --config "$T/ali-linkd.conf" 2>>"$T/daemon.log" &
		echo $! >"$T/daemon.pid"
		wait $! && rc=0 || rc=$?
		echo "exit $rc" >"$T/daemon.exit"
	) &
	_BG_PIDS+=($!)
	wait_for "$T/daemon.pid" '^[0-9]+$' 5 || fail "daemon did not start"
	DAEMON_PID=$(cat "$T/daemon.pid")
}

daemon_wait_connected() {
	wait_for "$T/daemon.log" "Connected to 127.0.0.1:$BROKER_PORT" "${1:-15}" || fail "daemon did not connect"
}

# daemon_stop [SIGNAL] [TIMEOUT]: signal it and wait for it to exit; prints its exit status.
daemon_stop() {
	local sig=${1:-TERM} timeout=${2:-5}
	kill -"$sig" "$DAEMON_PID"
	wait_for "$T/daemon.exit" '^exit ' "$timeout" || fail "daemon did not exit within $timeout s of SIG$sig"
	DAEMON_PID=
	sed -n 's/^exit //p' "$T/daemon.exit"
}

daemon_alive() {
	[ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null && [ ! -s "$T/daemon.exit" ]
}

# --- the cloud ---
# cloud ARGS...: run the cloud client against the test broker (stdout/stderr in $T/cloud.out/.err too).
cloud() {
	"$TESTS_BUILD/cloud-client" --port "$BROKER_PORT" --cafile "$T/pki/ca.crt" \
		--user "$CLOUD_USER" --pass "$CLOUD_PASS" "$@"
}

# cloud_listen NAME ARGS...: a background cloud client writing to $T/NAME.out, subscribed when this returns.
cloud_listen() {
	local name=$1
	shift
	: >"$T/$name.out"
	cloud --timeout 600 "$@" >"$T/$name.out" 2>"$T/$name.err" &
	_BG_PIDS+=($!)
	wait_for "$T/$name.out" '^# subscribed' 10 || fail "cloud listener $name did not subscribe"
}

TOPIC_SET=/sys/$PK/$DN/thing/service/property/set
TOPIC_SET_REPLY=/sys/$PK/$DN/thing/service/property/set_reply
TOPIC_POST=/sys/$PK/$DN/thing/event/property/post

# Neither the secret nor the password derived from it may appear in any log.
assert_no_secrets() {
	local f
	for f in "$T"/*.log "$T"/*.out "$T"/*.err; do
		[ -f "$f" ] || continue
		if grep -qiF -e "$SECRET" -e "$PASSWORD_SHA256" "$f"; then
			fail "the device secret or the MQTT password appears in ${f##*/}"
		fi
	done
}
