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
# The download helper from this build, not the installed one (src/ota/download.h).
export ALI_LINKD_FETCH="$top_builddir/ali-linkd-fetch"
CTL="$top_builddir/aliLinkctl"

# The device of the RT-Thread sample (a demo secret published in RT-Thread-packages/ali-iotkit).
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
	# The connection's story first: the debug lines of a busy test would push it out of the tail.
	if [ -s "$T/daemon.log" ]; then
		log "----- daemon.log: connection and errors (last 30) -----"
		grep -E "Connect|Disconnect|failed|retrying|refused|Cannot|ERROR|Sanitizer|runtime error" "$T/daemon.log" |
			grep -v "^libmosquitto" | tail -n 30 | cut -c1-300 >&2
	fi
	for f in "$T"/daemon.log "$T"/broker.log "$T"/cloud*.out "$T"/cloud*.err; do
		[ -s "$f" ] || continue
		log "----- ${f##*/} (last 40 lines) -----"
		tail -n 40 "$f" | cut -c1-300 >&2
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

# Sanitizer builds (configure --enable-sanitizers): any report in a log of ours fails the test.
_sanitizer_reports() {
	grep -lE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer" \
		"$T"/daemon*.log "$T"/*.err "$T"/out 2>/dev/null || true
}

_cleanup() {
	local rc=$?
	local p f
	if [ $rc = 0 ] || [ $rc = 77 ]; then
		for f in $(_sanitizer_reports); do
			log "FAIL: sanitizer report in ${f##*/}:"
			grep -E -A30 "ERROR: |runtime error: " "$f" | head -60 >&2
			rc=1
		done
	fi
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null || true
	[ -s "$T/daemon.pid" ] && [ ! -s "$T/daemon.exit" ] && kill -KILL "$(cat "$T/daemon.pid")" 2>/dev/null || true
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

# The monotonic-enough wall clock in ms, into _NOW_MS, without forking (the wait loops below run once per
# line of a log, and a fork per line makes a long log slow to scan on a busy machine).
_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	_NOW_MS=$((10#$t / 1000))
}

# _read_line FD DEADLINE_MS: read one line into $line before the deadline; non-zero on timeout or EOF.
_read_line() {
	local left frac
	_now_ms
	left=$(($2 - _NOW_MS))
	[ "$left" -gt 0 ] || return 1
	printf -v frac '%03d' $((left % 1000))
	IFS= read -r -t "$((left / 1000)).$frac" -u "$1" line
}

# Timeouts are upper bounds for events that normally take milliseconds; on a loaded machine or in a
# sanitizer build everything is slower, so they are multiplied by TEST_TIMEOUT_SCALE (set by make check).
# A wait that is meant to time out (a measurement window) sets TEST_TIMEOUT_SCALE=1 for itself.
scaled() { echo $(($1 * ${TEST_TIMEOUT_SCALE:-1})); }

# wait_for FILE REGEX [TIMEOUT]: until a line of FILE (present or future) matches the extended REGEX.
wait_for() { wait_for_count "$1" "$2" 1 "${3:-10}"; }

# wait_for_count FILE REGEX N [TIMEOUT]: until N lines of FILE match.
wait_for_count() {
	local file=$1 re=$2 n=$3 timeout fd pid line end seen=0
	timeout=$(scaled "${4:-10}")
	touch "$file"
	_now_ms
	end=$((_NOW_MS + timeout * 1000))
	exec {fd}< <(exec tail -n +1 -F "$file" 2>/dev/null)
	pid=$!
	while _read_line "$fd" "$end"; do
		if [[ $line =~ $re ]]; then
			seen=$((seen + 1))
			if [ $seen -ge "$n" ]; then
				kill "$pid" 2>/dev/null || true
				exec {fd}<&-
				return 0
			fi
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
		-days "${5:-365}" -extfile "$T/pki/$name.ext" -out "$T/pki/$name.crt" 2>/dev/null
}

_ca() {
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
		-subj "/CN=ali-linkd test $1" -keyout "$T/pki/$1.key" -out "$T/pki/$1.crt" 2>/dev/null
}

# _expired_cert NAME SAN: a server certificate from our CA that expired in 2021.
_expired_cert() {
	local name=$1 san=$2
	mkdir -p "$T/pki/newcerts"
	: >"$T/pki/index.txt"
	echo 1000 >"$T/pki/serial"
	cat >"$T/pki/ca.cnf" <<-EOF
		[ca]
		default_ca = ca_default
		[ca_default]
		database = $T/pki/index.txt
		new_certs_dir = $T/pki/newcerts
		serial = $T/pki/serial
		default_md = sha256
		policy = policy_any
		unique_subject = no
		[policy_any]
		commonName = supplied
	EOF
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
		-keyout "$T/pki/$name.key" -out "$T/pki/$name.csr" 2>/dev/null
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$T/pki/$name.ext"
	openssl ca -batch -config "$T/pki/ca.cnf" -cert "$T/pki/ca.crt" -keyfile "$T/pki/ca.key" -in "$T/pki/$name.csr" \
		-out "$T/pki/$name.crt" -startdate 20200101000000Z -enddate 20210101000000Z -extfile "$T/pki/$name.ext" \
		-notext 2>"$T/pki/$name.log" || fail "cannot make an expired certificate: $(cat "$T/pki/$name.log")"
	chmod 0644 "$T/pki/$name.key"
}

pki_create() {
	need openssl
	mkdir -p "$T/pki"
	_ca ca
	_ca other-ca
	_cert server localhost "DNS:localhost,IP:127.0.0.1" ca
	_cert wrong-name wrong.example.invalid "DNS:wrong.example.invalid" ca
	_expired_cert expired "DNS:localhost,IP:127.0.0.1"
	chmod 0644 "$T"/pki/*.key
}

# --- the broker ---
# broker_start [CERT] [PORT]: CERT is server (default) or wrong-name; PORT defaults to a free one.
broker_start() {
	local cert=${1:-server} started
	need mosquitto
	[ -f "$TESTS_BUILD/alink-auth-plugin.so" ] || fail "tests/alink-auth-plugin.so is not built (make check builds it)"
	[ -d "$T/pki" ] || pki_create
	BROKER_PORT=${2:-$("$TESTS_BUILD/free-port")}
	printf '%s %s %s\n' "$PK" "$DN" "$SECRET" >"$T/devices"
	# BROKER_DEVICES: more device names the broker admits (same product key and secret).
	for d in ${BROKER_DEVICES:-}; do printf '%s %s %s\n' "$PK" "$d" "$SECRET" >>"$T/devices"; done
	# The sub-devices the platform knows (subdevice_add), none unless the test adds them.
	[ -f "$T/subdevices" ] || : >"$T/subdevices"
	cat >"$T/mosquitto.conf" <<-EOF
		per_listener_settings false
		allow_anonymous false
		persistence $([ "${BROKER_PERSIST:-}" = 1 ] && echo true || echo false)
		log_dest file $T/broker.log
		log_type all
		connection_messages true
		log_timestamp true
		set_tcp_nodelay true
		listener $BROKER_PORT ${BROKER_ADDR:-127.0.0.1}
		$([ "${BROKER_PLAIN:-}" = 1 ] || printf 'cafile %s\ncertfile %s\nkeyfile %s' "$T/pki/ca.crt" "$T/pki/$cert.crt" "$T/pki/$cert.key")
		plugin $TESTS_BUILD/alink-auth-plugin.so
		plugin_opt_devices $T/devices
		plugin_opt_subdevices $T/subdevices
		plugin_opt_login_rate ${BROKER_LOGIN_RATE:-200}
		plugin_opt_cloud_username $CLOUD_USER
		plugin_opt_cloud_password $CLOUD_PASS
		max_queued_messages 100000
		max_inflight_messages 100
	EOF
	# BROKER_PERSIST=1: keep sessions (and the messages queued for them) across a clean broker restart.
	if [ "${BROKER_PERSIST:-}" = 1 ]; then
		printf 'persistence_location %s/\n' "$T" >>"$T/mosquitto.conf"
	fi
	# As root mosquitto would drop to the mosquitto user; stay in this test's identity instead.
	[ "$(id -u)" -eq 0 ] && echo "user root" >>"$T/mosquitto.conf"
	: >>"$T/broker.log"
	started=$(count_lines "$T/broker.log" "Opening ipv[46] listen socket on port $BROKER_PORT")
	# BROKER_NETNS: run it inside that network namespace (ip netns exec replaces itself with mosquitto).
	${BROKER_NETNS:+ip netns exec "$BROKER_NETNS"} mosquitto -c "$T/mosquitto.conf" >>"$T/broker.stderr" 2>&1 &
	BROKER_PID=$!
	# A restart on the same port appends to the same log: wait for this start's line, not an earlier one.
	wait_for_count "$T/broker.log" "Opening ipv[46] listen socket on port $BROKER_PORT" $((started + 1)) 10 ||
		fail "mosquitto did not start: $(cat "$T/broker.stderr" 2>/dev/null)"
}

# subdevice_add PK DN SECRET [GWPK/GWDN]: a sub-device the platform knows, unbound, or already bound to
# that gateway (as one bound in the console). Call it before broker_start; a broker restart keeps the list
# (but not who is bound or online since: the plugin keeps that in memory). BROKER_LOGIN_RATE sets the
# logins per gateway and second before a 429 (default 200); the cloud changes it at run time by publishing
# N to /alink-test/login-limit.
subdevice_add() {
	[ $# -ge 3 ] && [ $# -le 4 ] || fail "usage: subdevice_add PK DN SECRET [GWPK/GWDN]"
	printf '%s %s %s%s\n' "$1" "$2" "$3" "${4:+ $4}" >>"$T/subdevices"
}

# hmac_hex sha256|sha1|md5 KEY TEXT: the hex HMAC of TEXT, as the platform's signatures use.
hmac_hex() { printf '%s' "$3" | openssl dgst -"$1" -hmac "$2" | sed 's/^.*= //'; }

broker_stop() {
	[ -n "$BROKER_PID" ] || return 0
	kill -"${1:-TERM}" "$BROKER_PID" 2>/dev/null || true
	wait "$BROKER_PID" 2>/dev/null || true
	BROKER_PID=
}

# --- a private system bus ---
# bus_start: a dbus-daemon of our own, with Debian's system-bus default policy (deny by default) and the
# project's policy file included, listening in $T. Sets TEST_BUS_ADDRESS and DBUS_SYSTEM_BUS_ADDRESS.
bus_start() {
	need dbus-daemon
	[ -f /usr/share/dbus-1/system.conf ] || skip "/usr/share/dbus-1/system.conf is missing"
	# The real system bus configuration, minus what only the host's bus needs: its socket, its user, its
	# pid file, the host's other policies and service activation.
	sed -e "s|<listen>.*</listen>|<listen>unix:path=$T/system_bus_socket</listen>|" \
		-e '/<user>/d' -e '/<pidfile>/d' -e '/<includedir>/d' -e '/<servicedir>/d' \
		-e '/<standard_system_servicedirs/d' -e '/<include .*system-local.conf/d' \
		-e "s|</busconfig>|<include>$top_srcdir/etc/dbus-1/org.alilinkd1.conf</include></busconfig>|" \
		/usr/share/dbus-1/system.conf >"$T/system-bus.conf"
	dbus-daemon --config-file="$T/system-bus.conf" --nofork --print-address=1 >"$T/bus.address" 2>"$T/bus.log" &
	_BG_PIDS+=($!)
	wait_for "$T/bus.address" "^unix:" 10 || fail "dbus-daemon did not start: $(cat "$T/bus.log")"
	TEST_BUS_ADDRESS="unix:path=$T/system_bus_socket"
	export DBUS_SYSTEM_BUS_ADDRESS=$TEST_BUS_ADDRESS
}

# ctl ARGS...: aliLinkctl on the test's bus.
ctl() { DBUS_SYSTEM_BUS_ADDRESS=${TEST_BUS_ADDRESS:-unix:path=$T/no-system-bus} "$CTL" "$@"; }
# ctl_bg ARGS...: the same in the background, as a process of its own ($! is aliLinkctl itself, so the
# cleanup's kill reaches it).
ctl_bg() {
	(
		export DBUS_SYSTEM_BUS_ADDRESS=${TEST_BUS_ADDRESS:-unix:path=$T/no-system-bus}
		exec "$CTL" "$@"
	) &
	_BG_PIDS+=($!)
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

		[outbox]
		max_rate = ${OUTBOX_RATE:-10}
	EOF
}

# daemon_tsl FILE: the daemon's thing model is FILE ([device] tsl in $T/ali-linkd.conf).
daemon_tsl() {
	sed -i "s|^\[device\]$|[device]\ntsl = $1|" "$T/ali-linkd.conf"
}

# tsl_numbered N FILE: a thing model of N int properties p1..pN (rw, 0..1000000), as the console exports.
tsl_numbered() {
	{
		printf '{"schema":"https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json","properties":['
		for i in $(seq 1 "$1"); do
			[ "$i" = 1 ] || printf ','
			printf '{"identifier":"p%d","accessMode":"rw","dataType":{"type":"int","specs":{"min":"0","max":"1000000"}}}' "$i"
		done
		printf '],"events":[],"services":[]}\n'
	} >"$2"
}

# daemon_start: run ali-linkd in the background; its stderr goes to $T/daemon.log, its exit status to
# $T/daemon.exit ("exit N") when it ends.
daemon_start() {
	[ -x "$DAEMON" ] || fail "$DAEMON is not built"
	[ -f "$T/ali-linkd.conf" ] || daemon_config
	rm -f "$T/daemon.exit"
	: >>"$T/daemon.log"
	# Never the host's system bus: a private one when the test started it, else none at all.
	export DBUS_SYSTEM_BUS_ADDRESS=${TEST_BUS_ADDRESS:-unix:path=$T/no-system-bus}
	(
		# shellcheck disable=SC2086
		${DAEMON_WRAPPER:-} "$DAEMON" --config "$T/ali-linkd.conf" 2>>"$T/daemon.log" &
		echo $! >"$T/daemon.pid"
		wait $! && rc=0 || rc=$?
		echo "exit $rc" >"$T/daemon.exit"
	) &
	_BG_PIDS+=($!)
	wait_for "$T/daemon.pid" '^[0-9]+$' 5 || fail "daemon did not start"
	DAEMON_PID=$(cat "$T/daemon.pid")
}

daemon_wait_connected() {
	local host=${DAEMON_HOST:-127.0.0.1}
	wait_for "$T/daemon.log" "Connected to ${host//./\\.}:$BROKER_PORT" "${1:-15}" || fail "daemon did not connect"
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
	local args=() a next=
	# Scale the client's own --timeout like every other wait.
	for a in "$@"; do
		if [ "$next" = timeout ]; then a=$(scaled "$a"); next=; fi
		[ "$a" = --timeout ] && next=timeout
		args+=("$a")
	done
	set -- "${args[@]}"
	${BROKER_NETNS:+ip netns exec "$BROKER_NETNS"} "$TESTS_BUILD/cloud-client" --host "${BROKER_ADDR:-127.0.0.1}" --port "$BROKER_PORT" --cafile "$T/pki/ca.crt" \
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

# set_property PAYLOAD [post]: publish a property set as the cloud and collect the set_reply (and, with a
# second argument, the property post that follows) into $T/cloud.out; reply and post print them.
set_property() {
	cloud --sub "$TOPIC_SET_REPLY" --sub "$TOPIC_POST" --pub "$TOPIC_SET" "$1" \
		--expect "$TOPIC_SET_REPLY" ${2:+--expect "$TOPIC_POST"} --timeout "${SET_TIMEOUT:-10}" >"$T/cloud.out" 2>"$T/cloud.err" ||
		fail "no answer to $1"
}
reply() { grep -F "$TOPIC_SET_REPLY " "$T/cloud.out" | tail -n 1 | cut -d' ' -f2-; }
post() { grep -F "$TOPIC_POST " "$T/cloud.out" | tail -n 1 | cut -d' ' -f2-; }

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
