#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/run.sh: make bench. ali-linkd measured side by side with its floors, in the same run, on loopback
# against the real test broker (mosquitto over TLS with the Alink login plugin) and nginx over HTTPS, both
# set up by tests/lib.sh and tests/lib-ota.sh.
#
#   1. property-set round trip: BENCH_SETS sets per run at BENCH_RATE a second to ali-linkd and to the echo
#      client (bench/echo-client.c), interleaved by one cloud client (bench/bench-cloud.c): p50 and p99;
#   2. idle footprint: BENCH_RUNS daemons and BENCH_RUNS echo clients, all connected at once, each with its
#      own device identity (and each daemon with its own private system bus); VmRSS, RssAnon and PSS 60 s
#      after connecting, wakeups (voluntary context switches) over one ping period from 1.5 of them. This runs
#      in the background while the other measurements go on: nothing is sent to these devices;
#   3. start-up: exec -> READY=1 -> connected (CONNACK and SUBACKs), BENCH_STARTS times (bench/bench-start.c);
#   4. OTA: a BENCH_OTA_MIB MiB image over HTTPS, the daemon (push -> progress 100: downloaded, MD5 verified,
#      stored, installer run) against curl -o and curl -o + md5sum, at full speed and with nginx limited to
#      BENCH_OTA_RATE bytes a second; the daemon's peak RSS (VmHWM, reset before each download);
#   5. burst: BENCH_BURST sets as fast as the cloud client sends them, every one answered, the last state
#      posted; the daemon's peak RSS.
# Each measurement runs BENCH_RUNS times (median, min, max). Prints "BENCH name value unit" lines and writes
# BENCH_RESULTS (bench/results.md in the build tree; generated, not committed). Waits are on events
# (log lines, messages, notifications); the only sleeps
# are the idle measurement window itself.
. "$(dirname "$0")/../tests/lib.sh"
. "$(dirname "$0")/../tests/lib-ota.sh"

RUNS=${BENCH_RUNS:-5}
SETS=${BENCH_SETS:-2000}
RATE=${BENCH_RATE:-100}
BURST=${BENCH_BURST:-10000}
STARTS=${BENCH_STARTS:-20}
IDLE_S=${BENCH_IDLE_SECONDS:-60}
# The wakeup window: an idle daemon pings every keepalive + 1 s (libmosquitto counts whole seconds), the
# first time that long after connecting. The window opens halfway between its first two pings and lasts
# one ping period: it holds exactly one keepalive cycle, far from its edges.
KEEPALIVE_S=${KEEPALIVE:-60}
WAKE_S=$((KEEPALIVE_S + 1))
WAKE_FROM=$((WAKE_S * 3 / 2))
[ "$WAKE_FROM" -ge "$IDLE_S" ] || WAKE_FROM=$IDLE_S
OTA_MIB=${BENCH_OTA_MIB:-256}
OTA_RATE=${BENCH_OTA_RATE:-50000000}
RESULTS=${BENCH_RESULTS:-$top_builddir/bench/results.md}
BENCH_BUILD=$top_builddir/bench

need curl md5sum nginx dbus-daemon openssl
for p in echo-client bench-cloud bench-start; do
	[ -x "$BENCH_BUILD/$p" ] || fail "$BENCH_BUILD/$p is not built (make bench builds it)"
done

# The OTA files live on a tmpfs, for curl and for the daemon alike: the figure is the software's, not the
# disk's (the daemon syncs the image, curl does not).
OTA_DIR=$(mktemp -d /dev/shm/ali-linkd-bench.XXXXXX)
_bench_cleanup() {
	local rc=$?
	set +e
	rm -rf "$OTA_DIR"
	(exit $rc)
	_ota_cleanup
}
trap _bench_cleanup EXIT

# ---------------------------------------------------------------------------------------------------
# Helpers

_now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	NOW_US=$((10#$t))
}

# stats: numbers on stdin -> "median min max"
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan nan"; exit }
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.6g %.6g %.6g\n", m, v[1], v[NR] }'
}

# field NAME: the value of NAME=VALUE in the lines on stdin, one per line.
field() { sed -nE "s/(^|.* )$1=([-0-9.]+).*/\\2/p"; }

# kv_eval PREFIX FILE EXPR: for each line of FILE that starts with "PREFIX ", the awk EXPR over v["key"],
# the line's key=value fields.
kv_eval() {
	grep "^$1 " "$2" | awk "{ for (i = 1; i <= NF; i++) { split(\$i, kv, \"=\"); v[kv[1]] = kv[2] } $3 }"
}

# One figure for scripts: name, value, unit.
bench() { printf 'BENCH %s %s %s\n' "$1" "$2" "$3"; }

cpu_ns() { local a; read -r a _ <"/proc/$1/schedstat"; echo "$a"; }
status_kb() { sed -nE "s/^$2:\\s+([0-9]+) kB/\\1/p" "/proc/$1/status"; }
pss_kb() { sed -nE 's/^Pss:\s+([0-9]+) kB/\1/p' "/proc/$1/smaps_rollup"; }
vcsw() { sed -nE 's/^voluntary_ctxt_switches:\s+([0-9]+)/\1/p' "/proc/$1/status"; }
reset_peak() { echo 5 >"/proc/$1/clear_refs"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# smaps_of PID: resident kB, of which anonymous, per mapping, largest first.
smaps_of() {
	awk '/^[0-9a-f]+-[0-9a-f]+ / { name = $6 == "" ? "[anon]" : $6 } /^Rss:/ { rss[name] += $2 }
		/^Anonymous:/ { anon[name] += $2 } END { for (n in rss) printf "%d %d %s\n", rss[n], anon[n], n }' \
		"/proc/$1/smaps" | sort -rn
}

phase() {
	log "== $* (load $(loadavg))"
	PHASE_LOADS+=("$*: $(loadavg)")
}
PHASE_LOADS=()

# The Alink devices of this run: the daemon under test is $DN (lib.sh); the others are its floors and the
# idle instances.
ECHO_DN=BENCH-ECHO
START_DN=BENCH-START
IDLE_DEVICES=
for k in $(seq 1 "$RUNS"); do IDLE_DEVICES+=" BENCH-IDLE-$k BENCH-IDLE-ECHO-$k"; done

# The trust the daemon uses by default: a hashed CA directory (here holding the test CA), looked up per
# certificate. The echo client is given the same.
ca_dir_create() {
	mkdir -p "$T/ca-dir"
	cp "$T/pki/ca.crt" "$T/ca-dir/"
	openssl rehash "$T/ca-dir" 2>/dev/null || c_rehash "$T/ca-dir" >/dev/null
}

# daemon_conf_for NAME DEVICE: $T/NAME.conf, the main configuration for another device and state directory.
daemon_conf_for() {
	mkdir -p "$T/$1-state"
	sed -e "s|^device_name = .*|device_name = $2|" -e "s|^state_directory = .*|state_directory = $T/$1-state|" \
		"$T/ali-linkd.conf" >"$T/$1.conf"
}

# echo_start NAME DEVICE: the echo client in the background, subscribed when this returns; pid in ECHO_PID.
echo_start() {
	"$BENCH_BUILD/echo-client" --port "$BROKER_PORT" --capath "$T/ca-dir" --product-key "$PK" --device-name "$2" \
		--secret-file "$T/device-secret" >"$T/$1.out" 2>"$T/$1.err" &
	ECHO_PID=$!
	_BG_PIDS+=("$ECHO_PID")
	wait_for "$T/$1.out" '^# subscribed' 15 || fail "echo client $1 did not subscribe: $(cat "$T/$1.err")"
}

bench_cloud() {
	"$BENCH_BUILD/bench-cloud" --port "$BROKER_PORT" --cafile "$T/pki/ca.crt" --user "$CLOUD_USER" \
		--pass "$CLOUD_PASS" --product-key "$PK" "$@"
}

# ---------------------------------------------------------------------------------------------------
# The machine and the parts

LOAD_START=$(loadavg)
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU=$(sed -n 's/^model name\s*:\s*//p' /proc/cpuinfo | head -n1)
CORES=$(nproc)
KERNEL=$(uname -r)
MEM_MB=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 }' /proc/meminfo)
OS=$(. /etc/os-release && echo "$PRETTY_NAME")
versions=()
for p in libmosquitto1 mosquitto libssl3 libcurl4 libsystemd0 libjson-c5 curl; do
	versions+=("$p $(dpkg-query -W -f '${Version}' "$p" 2>/dev/null || echo '?')")
done
versions+=("nginx $(nginx -v 2>&1 | sed 's|.*nginx/||')")
log "bench: $CPU, $CORES cores, $KERNEL, load $LOAD_START"

BROKER_DEVICES="$ECHO_DN $START_DN $IDLE_DEVICES"
broker_start
ca_dir_create
bus_start
MAIN_BUS=$TEST_BUS_ADDRESS

# The daemon's configuration: the test broker, the hashed CA directory (the default kind of trust), log
# level info (the default), and OTA with the installer /bin/true and the download directory on the tmpfs.
ota_config "download_dir = $OTA_DIR"
sed -i -e 's/^log_level = debug/log_level = info/' -e "0,\|^ca_file = $T/pki/ca.crt$|s||ca_path = $T/ca-dir|" \
	-e 's|^installer = .*|installer = /bin/true|' "$T/ali-linkd.conf"
grep -q "^ca_path = $T/ca-dir" "$T/ali-linkd.conf" || fail "cannot set ca_path in the configuration"

# ---------------------------------------------------------------------------------------------------
# 2. Idle footprint (started first: its window runs while the rest is measured)

phase "idle footprint: $RUNS daemons and $RUNS echo clients connecting"
IDLE_DPIDS=()
IDLE_EPIDS=()
for k in $(seq 1 "$RUNS"); do
	sed "s|$T/system_bus_socket|$T/idle-$k.bus|" "$T/system-bus.conf" >"$T/idle-$k-bus.conf"
	dbus-daemon --config-file="$T/idle-$k-bus.conf" --nofork --print-address=1 >"$T/idle-$k-bus.address" \
		2>"$T/idle-$k-bus.log" &
	_BG_PIDS+=($!)
done
for k in $(seq 1 "$RUNS"); do
	wait_for "$T/idle-$k-bus.address" "^unix:" 10 || fail "idle bus $k did not start"
	daemon_conf_for "idle-$k" "BENCH-IDLE-$k"
	DBUS_SYSTEM_BUS_ADDRESS="unix:path=$T/idle-$k.bus" "$DAEMON" --config "$T/idle-$k.conf" 2>"$T/idle-$k.log" &
	IDLE_DPIDS+=($!)
	_BG_PIDS+=($!)
	echo_start "idle-echo-$k" "BENCH-IDLE-ECHO-$k"
	IDLE_EPIDS+=("$ECHO_PID")
done
for k in $(seq 1 "$RUNS"); do
	wait_for "$T/idle-$k.log" "Connected to 127\.0\.0\.1:$BROKER_PORT" 15 || fail "idle daemon $k did not connect"
done
# Memory IDLE_S seconds after the last of them connected (they all did within a few seconds), wakeups over
# the WAKE_S seconds from WAKE_FROM. The sleeps are the windows, not a synchronisation.
(
	sleep "$IDLE_S"
	for p in "${IDLE_DPIDS[@]}" "${IDLE_EPIDS[@]}"; do
		echo "$p $(status_kb "$p" VmRSS) $(status_kb "$p" RssAnon) $(pss_kb "$p")"
	done >"$T/idle-mem"
	sleep $((WAKE_FROM - IDLE_S))
	for p in "${IDLE_DPIDS[@]}" "${IDLE_EPIDS[@]}"; do
		echo "$p $(vcsw "$p") $(date +%s)"
	done >"$T/idle-wake0"
	sleep "$WAKE_S"
	for p in "${IDLE_DPIDS[@]}" "${IDLE_EPIDS[@]}"; do
		echo "$p $(vcsw "$p") $(date +%s)"
	done >"$T/idle-wake"
	for p in "${IDLE_DPIDS[@]}"; do
		smaps_of "$p" >"$T/idle-smaps-$p" # for results.md
	done
	echo done >"$T/idle-done"
) &
IDLE_SAMPLER=$!
_BG_PIDS+=("$IDLE_SAMPLER")

# ---------------------------------------------------------------------------------------------------
# 3. Start-up: exec -> READY=1 (the bus name owned) -> connected

phase "start-up: $STARTS starts"
daemon_conf_for start "$START_DN"
DBUS_SYSTEM_BUS_ADDRESS=$MAIN_BUS "$BENCH_BUILD/bench-start" --runs "$STARTS" --socket "$T/start-notify.sock" \
	--timeout 10 -- "$DAEMON" --config "$T/start.conf" >"$T/start.out" 2>"$T/start.log" ||
	fail "start-up measurement failed: $(tail -n 5 "$T/start.log")"
# The floor: the echo client from exec to its SUBACK.
"$BENCH_BUILD/bench-start" --runs "$STARTS" --stdout-line '# subscribed' --timeout 10 -- "$BENCH_BUILD/echo-client" \
	--port "$BROKER_PORT" --capath "$T/ca-dir" --product-key "$PK" --device-name "$START_DN" \
	--secret-file "$T/device-secret" >"$T/start-echo.out" 2>"$T/start-echo.log" ||
	fail "start-up measurement of the echo client failed: $(tail -n 5 "$T/start-echo.log")"
read -r start_ready start_ready_min start_ready_max < <(field ready_ms <"$T/start.out" | stats)
read -r start_conn start_conn_min start_conn_max < <(field connected_ms <"$T/start.out" | stats)
read -r start_cpu start_cpu_min start_cpu_max < <(field cpu_ms <"$T/start.out" | stats)
read -r start_fconn start_fconn_min start_fconn_max < <(field connected_ms <"$T/start-echo.out" | stats)
read -r start_fcpu start_fcpu_min start_fcpu_max < <(field cpu_ms <"$T/start-echo.out" | stats)

# ---------------------------------------------------------------------------------------------------
# 1. Property-set round trip, interleaved with the echo client

phase "round trip: $RUNS x $SETS sets at $RATE/s each, interleaved"
daemon_start
daemon_wait_connected
echo_start echo "$ECHO_DN"
# Warm-up (not counted): the first sets allocate and create the journal.
bench_cloud --device "$DN" --device "$ECHO_DN" --count 200 --rate "$RATE" rtt >"$T/rtt-warmup.out" ||
	fail "warm-up round trips failed: $(cat "$T/rtt-warmup.out")"
: >"$T/rtt.out"
for r in $(seq 1 "$RUNS"); do
	d0=$(cpu_ns "$DAEMON_PID")
	e0=$(cpu_ns "$ECHO_PID")
	bench_cloud --device "$DN" --device "$ECHO_DN" --count "$SETS" --rate "$RATE" rtt >"$T/rtt-$r.out" ||
		fail "round trip run $r: $(cat "$T/rtt-$r.out")"
	# CPU time per set of each, over the run (the daemon's includes its property posts).
	echo "cpu run=$r daemon_us=$((($(cpu_ns "$DAEMON_PID") - d0) / SETS / 1000)) echo_us=$((($(cpu_ns "$ECHO_PID") - e0) / SETS / 1000))" \
		>>"$T/rtt-$r.out"
	sed "s/^/run=$r /" "$T/rtt-$r.out" >>"$T/rtt.out"
	log "   run $r: $(tr '\n' ' ' <"$T/rtt-$r.out")"
done
daemon_alive || fail "the daemon died during the round trips"
rtt_of() { grep -F " rtt $1 " "$T/rtt.out" | field "$2"; }
read -r rtt_d50 rtt_d50_min rtt_d50_max < <(rtt_of "$DN" p50 | stats)
read -r rtt_f50 rtt_f50_min rtt_f50_max < <(rtt_of "$ECHO_DN" p50 | stats)
read -r rtt_d99 rtt_d99_min rtt_d99_max < <(rtt_of "$DN" p99 | stats)
read -r rtt_f99 rtt_f99_min rtt_f99_max < <(rtt_of "$ECHO_DN" p99 | stats)
# The ratio of each run (both measured in the same seconds), then their median.
per_run_ratio() {
	paste -d' ' <(rtt_of "$DN" "$1") <(rtt_of "$ECHO_DN" "$1") | awk '{ printf "%.4f\n", $1 / $2 }'
}
read -r rtt_r50 rtt_r50_min rtt_r50_max < <(per_run_ratio p50 | stats)
read -r rtt_r99 rtt_r99_min rtt_r99_max < <(per_run_ratio p99 | stats)
read -r rtt_dcpu _ _ < <(grep " cpu " "$T/rtt.out" | field daemon_us | stats)
read -r rtt_fcpu _ _ < <(grep " cpu " "$T/rtt.out" | field echo_us | stats)

# ---------------------------------------------------------------------------------------------------
# 1b. The same round trip with a thing model of 300 features (the console's limit per module): the light's
# two properties among 298 others, so that every set is checked against a big model.

phase "round trip with a 300-feature thing model: $RUNS x $SETS sets"
{
	printf '{"schema":"https://iotx-tsl.oss-ap-southeast-1.aliyuncs.com/schema.json","profile":{"productKey":"%s"},"properties":[' "$PK"
	printf '{"identifier":"LightSwitch","accessMode":"rw","dataType":{"type":"bool","specs":{"0":"off","1":"on"}}}'
	printf ',{"identifier":"RGBColor","accessMode":"rw","dataType":{"type":"struct","specs":['
	printf '{"identifier":"%s","name":"%s","dataType":{"type":"int","specs":{"min":"0","max":"255","step":"1"}}}' Red Red
	printf ',{"identifier":"%s","name":"%s","dataType":{"type":"int","specs":{"min":"0","max":"255","step":"1"}}}' Green Green Blue Blue
	printf ']}}'
	for i in $(seq 1 298); do
		printf ',{"identifier":"Feature%03d","accessMode":"rw","dataType":{"type":"double","specs":{"min":"-1000","max":"1000","step":"0.1"}}}' "$i"
	done
	printf '],"events":[],"services":[]}\n'
} >"$T/tsl-300.json"
daemon_stop >/dev/null
cp "$T/ali-linkd.conf" "$T/ali-linkd.conf.light"
daemon_tsl "$T/tsl-300.json"
mv "$T/daemon.log" "$T/daemon-rtt.log"
daemon_start
daemon_wait_connected
bench_cloud --device "$DN" --device "$ECHO_DN" --count 200 --rate "$RATE" rtt >"$T/rtt300-warmup.out" ||
	fail "warm-up round trips (300 features) failed: $(cat "$T/rtt300-warmup.out")"
: >"$T/rtt300.out"
for r in $(seq 1 "$RUNS"); do
	d0=$(cpu_ns "$DAEMON_PID")
	e0=$(cpu_ns "$ECHO_PID")
	bench_cloud --device "$DN" --device "$ECHO_DN" --count "$SETS" --rate "$RATE" rtt >"$T/rtt300-$r.out" ||
		fail "round trip run $r (300 features): $(cat "$T/rtt300-$r.out")"
	echo "cpu run=$r daemon_us=$((($(cpu_ns "$DAEMON_PID") - d0) / SETS / 1000)) echo_us=$((($(cpu_ns "$ECHO_PID") - e0) / SETS / 1000))" \
		>>"$T/rtt300-$r.out"
	sed "s/^/run=$r /" "$T/rtt300-$r.out" >>"$T/rtt300.out"
	log "   run $r: $(tr '\n' ' ' <"$T/rtt300-$r.out")"
done
daemon_alive || fail "the daemon died during the round trips (300 features)"
rtt300_of() { grep -F " rtt $1 " "$T/rtt300.out" | field "$2"; }
read -r rtt300_r50 rtt300_r50_min rtt300_r50_max < <(paste -d' ' <(rtt300_of "$DN" p50) <(rtt300_of "$ECHO_DN" p50) |
	awk '{ printf "%.4f\n", $1 / $2 }' | stats)
read -r rtt300_dcpu _ _ < <(grep " cpu " "$T/rtt300.out" | field daemon_us | stats)
read -r rtt300_fcpu _ _ < <(grep " cpu " "$T/rtt300.out" | field echo_us | stats)
# Back to the light's model for the rest.
daemon_stop >/dev/null
mv "$T/ali-linkd.conf.light" "$T/ali-linkd.conf"
mv "$T/daemon.log" "$T/daemon-rtt300.log"
daemon_start
daemon_wait_connected

# ---------------------------------------------------------------------------------------------------
# 5. Burst

phase "burst: $RUNS x $BURST sets as fast as they can be sent"
: >"$T/burst.out"
for r in $(seq 1 "$RUNS"); do
	reset_peak "$DAEMON_PID"
	d0=$(cpu_ns "$DAEMON_PID")
	bench_cloud --device "$DN" --count "$BURST" --timeout 300 burst >"$T/burst-$r.out" ||
		fail "burst run $r: $(cat "$T/burst-$r.out")"
	echo "$(cat "$T/burst-$r.out") hwm=$(status_kb "$DAEMON_PID" VmHWM) cpu_us=$((($(cpu_ns "$DAEMON_PID") - d0) / BURST / 1000))" \
		>>"$T/burst.out"
	bench_cloud --device "$ECHO_DN" --count "$BURST" --timeout 300 --no-post burst >"$T/burst-echo-$r.out" ||
		fail "echo burst run $r: $(cat "$T/burst-echo-$r.out")"
	sed 's/^/echo /' "$T/burst-echo-$r.out" >>"$T/burst.out"
	log "   run $r: $(tail -n 2 "$T/burst.out" | tr '\n' ' ')"
done
daemon_alive || fail "the daemon died during the bursts"
burst_d() { grep "^burst $DN " "$T/burst.out" | field "$1"; }
read -r burst_ms burst_ms_min burst_ms_max < <(burst_d elapsed_ms | stats)
read -r burst_echo_ms burst_echo_ms_min burst_echo_ms_max < <(grep "^echo burst " "$T/burst.out" | field elapsed_ms | stats)
read -r burst_hwm burst_hwm_min burst_hwm_max < <(burst_d hwm | stats)
read -r burst_cpu _ _ < <(burst_d cpu_us | stats)
burst_answered=$(burst_d answered | awk '{ s += $1 } END { print s }')
burst_sent=$((RUNS * BURST))
burst_posts=$(grep -c "^burst $DN .* post=ok" "$T/burst.out" || true)

# ---------------------------------------------------------------------------------------------------
# 4. OTA

phase "OTA: $RUNS x $OTA_MIB MiB, full speed and at $OTA_RATE bytes/s"
nginx_start
ota_listen
SIZE=$((OTA_MIB * 1024 * 1024))
# Sparse: the server's copy takes no disk and is read at memory speed; TLS and MD5 cost the same on zeros.
truncate -s "$SIZE" "$T/www/image.bin"
MD5=$(md5sum <"$T/www/image.bin" | cut -d' ' -f1)
URL="$URL_BASE/image.bin"
ota_version=0
: >"$T/ota-smaps"

# The CPU time (user + system, ms) of the command, from bash's time keyword.
TIMEFORMAT='%3U %3S'
cpu_ms_of() { awk '{ printf "%.0f", ($1 + $2) * 1000 }' "$1"; }

curl_get() { # URL -> elapsed ms in CURL_MS; curl -o, then (two passes) md5sum in MD5_MS; CPU in *_CPU
	local t0
	rm -f "$OTA_DIR/curl.img"
	_now_us
	t0=$NOW_US
	{ time curl -sS --fail --cacert "$T/pki/ca.crt" -o "$OTA_DIR/curl.img" "$1" 2>"$T/curl.err"; } 2>"$T/curl.time" ||
		fail "curl -o $1 failed: $(cat "$T/curl.err")"
	_now_us
	CURL_MS=$(awk -v d=$((NOW_US - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
	CURL_CPU=$(cpu_ms_of "$T/curl.time")
	t0=$NOW_US
	{ time md5sum <"$OTA_DIR/curl.img" >"$T/md5.out"; } 2>"$T/md5.time"
	_now_us
	MD5_MS=$(awk -v d=$((NOW_US - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
	MD5_CPU=$(cpu_ms_of "$T/md5.time")
	[ "$(cut -d' ' -f1 "$T/md5.out")" = "$MD5" ] || fail "curl got other bytes"
	rm -f "$OTA_DIR/curl.img"
}

# daemon_get URL [sample] -> elapsed ms (push -> progress 100) in DAEMON_MS, peak RSS in DAEMON_HWM, CPU in
# DAEMON_CPU. With "sample", the daemon's memory by mapping is taken once the first progress step above 0
# is reported (the transfer is running), into $T/ota-smaps.
# helper_watch OUT: until $T/helper-stop exists, the download helpers' (the daemon's children running
# ali-linkd-fetch) peak VmHWM and their CPU time, sampled every 20 ms: "hwm=KB cpu_ns=N" in OUT. (A helper
# lives for one transfer; its last sample is within 20 ms of its end.)
helper_watch() {
	local hwm=0 p h c
	declare -A cpu=()
	while [ ! -e "$T/helper-stop" ]; do
		for p in $(cat "/proc/$DAEMON_PID/task/$DAEMON_PID/children" 2>/dev/null); do
			[ "$(cat "/proc/$p/comm" 2>/dev/null)" = ali-linkd-fetch ] || continue
			h=$(status_kb "$p" VmHWM 2>/dev/null) && [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
			c=$(cpu_ns "$p" 2>/dev/null) && [ -n "$c" ] && cpu[$p]=$c
		done
		sleep 0.02
	done
	c=0
	for p in "${!cpu[@]}"; do c=$((c + cpu[$p])); done
	echo "hwm=$hwm cpu_ns=$c" >"$1"
}

daemon_get() {
	local push pid watcher
	ota_version=$((ota_version + 1))
	push=$(ota_push_json "$1" "$SIZE" "2.0.$ota_version" Md5 "$MD5")
	reset_peak "$DAEMON_PID"
	DAEMON_IDLE=$(status_kb "$DAEMON_PID" VmRSS)
	rm -f "$T/helper-stop"
	helper_watch "$T/helper.out" &
	watcher=$!
	d0=$(cpu_ns "$DAEMON_PID")
	ota_mark
	bench_cloud --device "$DN" --push "$push" --timeout 300 ota >"$T/ota-daemon.out" &
	pid=$!
	# (Progress is reported at most once a second: a download shorter than that has no step between 0 and
	# 100, and no sample.)
	if [ "${2:-}" = sample ] && wait_step '([1-9]|[1-9][0-9])' 10; then
		smaps_of "$DAEMON_PID" >"$T/ota-smaps"
	fi
	wait "$pid" || fail "OTA by the daemon failed: $(cat "$T/ota-daemon.out")"
	DAEMON_MS=$(field elapsed_ms <"$T/ota-daemon.out")
	DAEMON_HWM=$(status_kb "$DAEMON_PID" VmHWM)
	DAEMON_CPU=$((($(cpu_ns "$DAEMON_PID") - d0) / 1000000))
	touch "$T/helper-stop"
	wait "$watcher"
	HELPER_HWM=$(field hwm <"$T/helper.out")
	HELPER_CPU=$(($(field cpu_ns <"$T/helper.out") / 1000000))
	# The daemon's growth while downloading: its peak over its resident size just before the push.
	DAEMON_GROWTH=$((DAEMON_HWM - DAEMON_IDLE))
}

: >"$T/ota-runs.out"
for r in $(seq 1 "$RUNS"); do
	# Alternate who goes first, so a drift in the machine's load does not favour either.
	if [ $((r % 2)) = 1 ]; then
		curl_get "$URL"
		daemon_get "$URL"
	else
		daemon_get "$URL"
		curl_get "$URL"
	fi
	echo "full run=$r curl_ms=$CURL_MS md5_ms=$MD5_MS daemon_ms=$DAEMON_MS hwm=$DAEMON_HWM" \
		"growth=$DAEMON_GROWTH helper_hwm=$HELPER_HWM curl_cpu=$CURL_CPU md5_cpu=$MD5_CPU" \
		"daemon_cpu=$DAEMON_CPU helper_cpu=$HELPER_CPU" >>"$T/ota-runs.out"
	if [ $((r % 2)) = 1 ]; then
		curl_get "$URL?rate=$OTA_RATE"
		daemon_get "$URL?rate=$OTA_RATE" "$([ "$r" = 1 ] && echo sample)"
	else
		daemon_get "$URL?rate=$OTA_RATE"
		curl_get "$URL?rate=$OTA_RATE"
	fi
	echo "rate run=$r curl_ms=$CURL_MS daemon_ms=$DAEMON_MS hwm=$DAEMON_HWM growth=$DAEMON_GROWTH" \
		"helper_hwm=$HELPER_HWM curl_cpu=$CURL_CPU daemon_cpu=$DAEMON_CPU helper_cpu=$HELPER_CPU" >>"$T/ota-runs.out"
	log "   run $r: $(tail -n 2 "$T/ota-runs.out" | tr '\n' ' ')"
done
daemon_alive || fail "the daemon died during the downloads"
ota_of() { grep "^$1 " "$T/ota-runs.out" | field "$2"; }
read -r ota_curl ota_curl_min ota_curl_max < <(ota_of full curl_ms | stats)
read -r ota_daemon ota_daemon_min ota_daemon_max < <(ota_of full daemon_ms | stats)
read -r ota_two ota_two_min ota_two_max < <(kv_eval full "$T/ota-runs.out" 'print v["curl_ms"] + v["md5_ms"]' | stats)
read -r ota_rcurl ota_rcurl_min ota_rcurl_max < <(ota_of rate curl_ms | stats)
read -r ota_rdaemon ota_rdaemon_min ota_rdaemon_max < <(ota_of rate daemon_ms | stats)
read -r ota_hwm ota_hwm_min ota_hwm_max < <(grep -E "^(full|rate) " "$T/ota-runs.out" | field hwm | stats)
read -r ota_curl_cpu _ _ < <(ota_of full curl_cpu | stats)
read -r ota_md5_cpu _ _ < <(ota_of full md5_cpu | stats)
read -r ota_daemon_cpu _ _ < <(ota_of full daemon_cpu | stats)
read -r ota_helper_cpu _ _ < <(ota_of full helper_cpu | stats)
read -r ota_growth ota_growth_min ota_growth_max < <(grep -E "^(full|rate) " "$T/ota-runs.out" | field growth | stats)
read -r ota_helper_hwm ota_helper_hwm_min ota_helper_hwm_max < <(grep -E "^(full|rate) " "$T/ota-runs.out" | field helper_hwm | stats)
# Total CPU: the daemon and its helper against curl -o and md5sum, per run.
read -r ota_cpu_ratio ota_cpu_ratio_min ota_cpu_ratio_max < <(kv_eval full "$T/ota-runs.out" \
	'printf "%.4f\n", (v["daemon_cpu"] + v["helper_cpu"]) / (v["curl_cpu"] + v["md5_cpu"])' | stats)
ota_r2() { kv_eval full "$T/ota-runs.out" 'printf "%.4f\n", v["daemon_ms"] / (v["curl_ms"] + v["md5_ms"])'; }
ota_r1() { kv_eval "$1" "$T/ota-runs.out" 'printf "%.4f\n", v["daemon_ms"] / v["curl_ms"]'; }
read -r ota_ratio_two ota_ratio_two_min ota_ratio_two_max < <(ota_r2 | stats)
read -r ota_ratio_curl ota_ratio_curl_min ota_ratio_curl_max < <(ota_r1 full | stats)
read -r ota_ratio_rate ota_ratio_rate_min ota_ratio_rate_max < <(ota_r1 rate | stats)
nginx_stop
[ "$(daemon_stop TERM 5)" = 0 ] || fail "the daemon's exit status after SIGTERM"

# ---------------------------------------------------------------------------------------------------
# 2 (end). The idle window closes.

phase "idle footprint: waiting for the end of the window"
wait_for "$T/idle-done" '^done$' $((WAKE_FROM + WAKE_S + 60)) || fail "the idle sampler did not finish"
for p in "${IDLE_DPIDS[@]}" "${IDLE_EPIDS[@]}"; do kill -0 "$p" 2>/dev/null || fail "idle process $p died"; done
# Keepalive pings each idle client sent in the wakeup window, as the broker logged them (whole seconds: a
# ping in the second the window opens or closes may be counted or not; for the record only).
IDLE_W0=$(awk 'NR == 1 { print $3 }' "$T/idle-wake0")
IDLE_W1=$(awk 'NR == 1 { print $3 }' "$T/idle-wake")
pings() { awk -v a="$IDLE_W0" -v b="$IDLE_W1" -v c="$1" -F': ' '$2 ~ "^Received PINGREQ from " c "$" && $1 >= a && $1 <= b' "$T/broker.log" | wc -l; }
: >"$T/idle.out"
for k in $(seq 1 "$RUNS"); do
	p=${IDLE_DPIDS[$((k - 1))]}
	read -r _ rss anon pss < <(grep "^$p " "$T/idle-mem")
	read -r _ v0 _ < <(grep "^$p " "$T/idle-wake0")
	read -r _ v1 _ < <(grep "^$p " "$T/idle-wake")
	echo "daemon rss=$rss anon=$anon pss=$pss wake=$((v1 - v0)) pings=$(pings "$PK\\.BENCH-IDLE-$k\\|.*")" >>"$T/idle.out"
	p=${IDLE_EPIDS[$((k - 1))]}
	read -r _ rss anon pss < <(grep "^$p " "$T/idle-mem")
	read -r _ v0 _ < <(grep "^$p " "$T/idle-wake0")
	read -r _ v1 _ < <(grep "^$p " "$T/idle-wake")
	echo "echo rss=$rss anon=$anon pss=$pss wake=$((v1 - v0)) pings=$(pings "$PK\\.BENCH-IDLE-ECHO-$k\\|.*")" >>"$T/idle.out"
done
idle_of() { grep "^$1 " "$T/idle.out" | field "$2"; }
# Wakeups beyond keepalive traffic, at most: a keepalive cycle costs the daemon one wakeup or two (the
# timer, then the PINGRESP, unless both are ready at once); only one per ping the broker logged is taken off,
# so an extra wakeup cannot hide in a cycle that cost one.
beyond() { kv_eval "$1" "$T/idle.out" 'print v["wake"] - v["pings"]'; }
read -r idle_drss idle_drss_min idle_drss_max < <(idle_of daemon rss | stats)
read -r idle_frss idle_frss_min idle_frss_max < <(idle_of echo rss | stats)
read -r idle_danon idle_danon_min idle_danon_max < <(idle_of daemon anon | stats)
read -r idle_fanon idle_fanon_min idle_fanon_max < <(idle_of echo anon | stats)
read -r idle_dpss idle_dpss_min idle_dpss_max < <(idle_of daemon pss | stats)
read -r idle_fpss idle_fpss_min idle_fpss_max < <(idle_of echo pss | stats)
read -r idle_dwake idle_dwake_min idle_dwake_max < <(idle_of daemon wake | stats)
read -r idle_fwake idle_fwake_min idle_fwake_max < <(idle_of echo wake | stats)
read -r idle_dbeyond idle_dbeyond_min idle_dbeyond_max < <(beyond daemon | stats)
read -r idle_dpings _ _ < <(idle_of daemon pings | stats)
per_idle_ratio() { paste -d' ' <(idle_of daemon rss) <(idle_of echo rss) | awk '{ printf "%.4f\n", $1 / $2 }'; }
read -r idle_rss_ratio idle_rss_ratio_min idle_rss_ratio_max < <(per_idle_ratio | stats)
# Where the first idle daemon's memory is.
SMAPS="$T/idle-smaps-${IDLE_DPIDS[0]}"
LOAD_END=$(loadavg)

# Resident memory of libcurl and the libraries only it brings in, in the first idle daemon (0 when
# libcurl is not loaded while idle).
curl_chain='libcurl|libz|libnghttp2|libidn2|librtmp|libssh2|libpsl|libgssapi_krb5|libldap|liblber|libbrotli|libunistring|libgnutls|libhogweed|libnettle|libgmp|libkrb5|libk5crypto|libcom_err|libkrb5support|libsasl2|libp11-kit|libtasn1|libkeyutils|libresolv|libffi'
systemd_chain='libgcrypt|libgpg-error|liblz4|liblzma|libzstd|libcap'
chain_kb() { grep -E "/($1)[.-]" "${3:-$SMAPS}" | awk -v c="$2" '{ s += $c } END { print s + 0 }'; }
total_kb() { awk '{ s += $1 } END { print s + 0 }' "$1"; }

# ---------------------------------------------------------------------------------------------------
# The figures

bench rtt_p50_daemon "$rtt_d50" us
bench rtt_p50_floor "$rtt_f50" us
bench rtt_p50_ratio "$rtt_r50" x
bench rtt_p99_daemon "$rtt_d99" us
bench rtt_p99_floor "$rtt_f99" us
bench rtt_p99_ratio "$rtt_r99" x
bench rtt_cpu_per_set_daemon "$rtt_dcpu" us
bench rtt_cpu_per_set_floor "$rtt_fcpu" us
bench rtt300_p50_ratio "$rtt300_r50" x
bench rtt300_cpu_per_set_daemon "$rtt300_dcpu" us
bench rtt300_cpu_per_set_floor "$rtt300_fcpu" us
bench idle_rss_daemon "$idle_drss" kB
bench idle_rss_floor "$idle_frss" kB
bench idle_rss_ratio "$idle_rss_ratio" x
bench idle_rss_anon_daemon "$idle_danon" kB
bench idle_rss_anon_floor "$idle_fanon" kB
bench idle_pss_daemon "$idle_dpss" kB
bench idle_pss_floor "$idle_fpss" kB
bench idle_wakeups_daemon "$idle_dwake" per_${WAKE_S}s
bench idle_wakeups_beyond_keepalive_daemon "$idle_dbeyond" per_${WAKE_S}s
bench idle_wakeups_floor "$idle_fwake" per_${WAKE_S}s
bench start_ready "$start_ready" ms
bench start_connected "$start_conn" ms
bench start_connected_floor "$start_fconn" ms
bench start_cpu "$start_cpu" ms
bench start_cpu_floor "$start_fcpu" ms
bench ota_full_daemon "$ota_daemon" ms
bench ota_full_curl "$ota_curl" ms
bench ota_full_curl_md5sum "$ota_two" ms
bench ota_full_ratio_two_pass "$ota_ratio_two" x
bench ota_full_ratio_curl "$ota_ratio_curl" x
bench ota_rate_daemon "$ota_rdaemon" ms
bench ota_rate_curl "$ota_rcurl" ms
bench ota_rate_ratio_curl "$ota_ratio_rate" x
bench ota_peak_rss_daemon "$ota_hwm_max" kB
bench ota_rss_libcurl_chain "$(chain_kb "$curl_chain" 1 "$T/ota-smaps")" kB
bench ota_full_cpu_daemon "$ota_daemon_cpu" ms
bench ota_full_cpu_helper "$ota_helper_cpu" ms
bench ota_full_cpu_ratio "$ota_cpu_ratio" x
bench ota_rss_growth_daemon "$ota_growth_max" kB
bench ota_peak_rss_helper "$ota_helper_hwm_max" kB
bench ota_full_cpu_curl "$ota_curl_cpu" ms
bench ota_full_cpu_md5sum "$ota_md5_cpu" ms
bench burst_elapsed_daemon "$burst_ms" ms
bench burst_elapsed_floor "$burst_echo_ms" ms
bench burst_answered "$burst_answered" of_$burst_sent
bench burst_peak_rss_daemon "$burst_hwm_max" kB
bench burst_cpu_per_set_daemon "$burst_cpu" us

# ---------------------------------------------------------------------------------------------------
# results.md

ok() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "yes" : "**no**" }'; }
rng() { printf '%s (%s–%s)' "$1" "$2" "$3"; }


{
	cat <<-EOF
		# ali-linkd benchmarks

		Written by \`make bench\` (bench/run.sh) on $DATE. Every figure is measured side by side with its floor
		in the same run, on loopback, against the real test broker (mosquitto over TLS with the Alink login
		plugin, \`set_tcp_nodelay true\`) and nginx over HTTPS. Each measurement was repeated $RUNS times:
		median (min–max).

		## Machine

		| | |
		|---|---|
		| CPU | $CPU |
		| cores | $CORES |
		| memory | $MEM_MB MiB |
		| kernel | $KERNEL |
		| system | $OS |
		| parts | $(printf '%s, ' "${versions[@]}" | sed 's/, $//') |
		| load average (1, 5, 15 min) | $LOAD_START at the start, $LOAD_END at the end |

		The machine is shared: other builds and test suites ran on its $CORES cores during the run (load per
		phase below). Absolute times are noisy on it; the ratios compare figures taken in the same seconds.

		## Figures

		| # | figure | ali-linkd | floor | ratio | target | met |
		|---|---|---|---|---|---|---|
		| 1 | property-set round trip p50 ($SETS sets at $RATE/s, µs) | $(rng "$rtt_d50" "$rtt_d50_min" "$rtt_d50_max") | $(rng "$rtt_f50" "$rtt_f50_min" "$rtt_f50_max") echo client | $(rng "$rtt_r50" "$rtt_r50_min" "$rtt_r50_max") | ≤ 1.10 × | $(ok "$rtt_r50" 1.10) |
		| 1 | property-set round trip p99 (µs) | $(rng "$rtt_d99" "$rtt_d99_min" "$rtt_d99_max") | $(rng "$rtt_f99" "$rtt_f99_min" "$rtt_f99_max") echo client | $(rng "$rtt_r99" "$rtt_r99_min" "$rtt_r99_max") | ≤ 1.5 × | $(ok "$rtt_r99" 1.5) |
		| 1 | CPU time per set, over the run (µs) | $rtt_dcpu (with its property posts) | $rtt_fcpu echo client | $(awk -v a="$rtt_dcpu" -v b="$rtt_fcpu" 'BEGIN { printf "%.2f", a / b }') | ≤ 1.5 × | $(ok "$(awk -v a="$rtt_dcpu" -v b="$rtt_fcpu" 'BEGIN { print a / b }')" 1.5) |
		| 1b | round trip p50 with a 300-feature thing model | | echo client | $(rng "$rtt300_r50" "$rtt300_r50_min" "$rtt300_r50_max") | ≤ 1.10 × | $(ok "$rtt300_r50" 1.10) |
		| 1b | CPU time per set, 300-feature model (µs) | $rtt300_dcpu | $rtt300_fcpu echo client | $(awk -v a="$rtt300_dcpu" -v b="$rtt300_fcpu" 'BEGIN { printf "%.2f", a / b }') | ≤ 1.5 × | $(ok "$(awk -v a="$rtt300_dcpu" -v b="$rtt300_fcpu" 'BEGIN { print a / b }')" 1.5) |
		| 2 | idle VmRSS after ${IDLE_S} s connected (kB) | $(rng "$idle_drss" "$idle_drss_min" "$idle_drss_max") | $(rng "$idle_frss" "$idle_frss_min" "$idle_frss_max") echo client | $(rng "$idle_rss_ratio" "$idle_rss_ratio_min" "$idle_rss_ratio_max") | ≤ 1.25 × | $(ok "$idle_rss_ratio" 1.25) |
		| 2 | idle RssAnon (kB) | $(rng "$idle_danon" "$idle_danon_min" "$idle_danon_max") | $(rng "$idle_fanon" "$idle_fanon_min" "$idle_fanon_max") echo client | | ≤ 1536 kB | $(ok "$idle_danon" 1536) |
		| 2 | idle PSS (kB) | $(rng "$idle_dpss" "$idle_dpss_min" "$idle_dpss_max") | $(rng "$idle_fpss" "$idle_fpss_min" "$idle_fpss_max") echo client | | (reported) | |
		| 2 | idle wakeups in ${WAKE_S} s | $(rng "$idle_dwake" "$idle_dwake_min" "$idle_dwake_max"), of which beyond keepalive: $(rng "$idle_dbeyond" "$idle_dbeyond_min" "$idle_dbeyond_max") | $(rng "$idle_fwake" "$idle_fwake_min" "$idle_fwake_max") echo client | | ≤ 6 beyond keepalive | $(ok "$idle_dbeyond" 6) |
		| 3 | exec → READY=1 (ms, $STARTS starts) | $(rng "$start_ready" "$start_ready_min" "$start_ready_max") | | | | |
		| 3 | exec → READY=1 → connected (ms, $STARTS starts) | $(rng "$start_conn" "$start_conn_min" "$start_conn_max") | $(rng "$start_fconn" "$start_fconn_min" "$start_fconn_max") echo client, exec → SUBACK | | ≤ 50 ms | $(ok "$start_conn" 50) |
		| 3 | CPU time until connected (ms) | $(rng "$start_cpu" "$start_cpu_min" "$start_cpu_max") | $(rng "$start_fcpu" "$start_fcpu_min" "$start_fcpu_max") echo client | | (reported) | |
		| 4 | OTA $OTA_MIB MiB at full speed (ms) | $(rng "$ota_daemon" "$ota_daemon_min" "$ota_daemon_max") | $(rng "$ota_two" "$ota_two_min" "$ota_two_max") curl -o + md5sum | $(rng "$ota_ratio_two" "$ota_ratio_two_min" "$ota_ratio_two_max") | ≤ 0.7 × | $(ok "$ota_ratio_two" 0.7) |
		| 4 | | | $(rng "$ota_curl" "$ota_curl_min" "$ota_curl_max") curl -o | $(rng "$ota_ratio_curl" "$ota_ratio_curl_min" "$ota_ratio_curl_max") | ≤ 1.25 × | $(ok "$ota_ratio_curl" 1.25) |
		| 4 | OTA $OTA_MIB MiB at $OTA_RATE bytes/s (ms) | $(rng "$ota_rdaemon" "$ota_rdaemon_min" "$ota_rdaemon_max") | $(rng "$ota_rcurl" "$ota_rcurl_min" "$ota_rcurl_max") curl -o | $(rng "$ota_ratio_rate" "$ota_ratio_rate_min" "$ota_ratio_rate_max") | ≤ 1.03 × | $(ok "$ota_ratio_rate" 1.03) |
		| 4 | CPU time per $OTA_MIB MiB at full speed (ms) | $ota_daemon_cpu daemon + $ota_helper_cpu helper | $ota_curl_cpu curl -o + $ota_md5_cpu md5sum | $(rng "$ota_cpu_ratio" "$ota_cpu_ratio_min" "$ota_cpu_ratio_max") | ≤ 1.05 × | $(ok "$ota_cpu_ratio" 1.05) |
		| 4 | daemon RSS growth during OTA: peak − resident before the push (kB) | $(rng "$ota_growth" "$ota_growth_min" "$ota_growth_max") | | | ≤ 1024 kB | $(ok "$ota_growth_max" 1024) |
		| 4 | download helper peak RSS (kB) | $(rng "$ota_helper_hwm" "$ota_helper_hwm_min" "$ota_helper_hwm_max") | | | (reported) | |
		| 4 | daemon peak RSS during OTA (kB, all $((2 * RUNS)) downloads) | $(rng "$ota_hwm" "$ota_hwm_min" "$ota_hwm_max") | | | ≤ 8192 kB | $(ok "$ota_hwm_max" 8192) |
		| 5 | burst of $BURST sets: time to the last answer (ms) | $(rng "$burst_ms" "$burst_ms_min" "$burst_ms_max") | $(rng "$burst_echo_ms" "$burst_echo_ms_min" "$burst_echo_ms_max") echo client | | | |
		| 5 | burst: answered, last state posted | $burst_answered of $burst_sent answered; last state posted in $burst_posts of $RUNS runs | | | all | yes (a run that is not fails make bench) |
		| 5 | burst: daemon peak RSS (kB) | $(rng "$burst_hwm" "$burst_hwm_min" "$burst_hwm_max") | | | (reported) | |
		| 5 | burst: daemon CPU time per set (µs) | $burst_cpu | | | (reported) | |

		How each is taken:
		1. One cloud client (bench/bench-cloud.c) publishes property sets at QoS 1 on a fixed schedule,
		   alternating between ali-linkd and the echo client (bench/echo-client.c: libmosquitto, the same
		   broker, TLS, trust and login, TCP_NODELAY, answering with strstr() and no JSON parser), each at
		   $RATE sets a second; a round trip ends when the set_reply with the request's id arrives. The
		   ratio is taken per run (both in the same seconds), then its median. 200 sets of warm-up first.
		2. $RUNS daemons and $RUNS echo clients with their own device identities, connected at the same time
		   (each daemon on its own private system bus, as under systemd); VmRSS and RssAnon from
		   /proc/PID/status and PSS from /proc/PID/smaps_rollup ${IDLE_S} s after connecting; wakeups are
		   voluntary context switches over ${WAKE_S} s from ${WAKE_FROM} s after connecting. Keepalive is
		   ${KEEPALIVE_S} s: an idle daemon pings every ${WAKE_S} s (libmosquitto counts whole seconds), first
		   ${WAKE_S} s after connecting, so the window, opening halfway between two pings, holds exactly one
		   keepalive cycle, which costs one or two wakeups (the timer, the PINGRESP, unless both are ready at
		   once); "beyond keepalive" is the rest with only one wakeup taken off per ping the broker logged
		   in the window, an upper bound ($idle_dpings ping per daemon at the median). The window runs while the other figures are measured; nothing is sent
		   to these devices. PSS divides shared pages among every process mapping them, so it depends on
		   what else runs.
		3. bench/bench-start.c plays systemd's notify socket: from just before fork() to READY=1 (sent once
		   the daemon owns its name on a private system bus) and to STATUS=connected (sent once CONNACK and
		   every SUBACK are in, so it bounds CONNACK from above). The floor is the echo client from fork() to
		   its "# subscribed" line (CONNACK and SUBACK). CPU time from /proc/PID/schedstat at that moment.
		4. The daemon's time is from the OTA push to progress "100": downloaded, MD5 computed while
		   downloading, checked, synced, renamed, the installer (/bin/true) run, the result sent. curl's time
		   is the process's, start to exit, and md5sum's is added for the two-pass floor. All files on a
		   tmpfs. The daemon's peak RSS is VmHWM, reset (clear_refs 5) before each download. CPU times:
		   the daemon's from /proc/PID/schedstat, curl's and md5sum's from bash's \`time\`.
		5. $BURST property sets published back to back at QoS 1 with no limit on messages in flight; the
		   time is to the last set_reply; every id must come back exactly once with code 200, and the last
		   property post must show the last set's colour.

		## Load per phase

	EOF
	for l in "${PHASE_LOADS[@]}"; do printf -- '- %s\n' "$l"; done
	cat <<-EOF

		## Where the idle daemon's memory is

		Resident kB by mapping, of one idle daemon, at the end of the idle window (first 16):

		| Rss kB | of which anonymous | mapping |
		|---|---|---|
	EOF
	head -n 16 "$SMAPS" | awk '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
	cat <<-EOF

		libcurl and the libraries only it brings in: $(chain_kb "$curl_chain" 1) kB resident ($(chain_kb "$curl_chain" 2) kB anonymous) while idle.
		libsystemd's own dependencies (libgcrypt, libgpg-error, liblz4, liblzma, libzstd, libcap): $(chain_kb "$systemd_chain" 1) kB resident.

		$(if [ -s "$T/ota-smaps" ]; then
			echo "During a download (first run at $OTA_RATE bytes/s, sampled once progress passed 0): $(total_kb "$T/ota-smaps") kB"
			echo "resident in all, of which libcurl and the libraries only it brings in: $(chain_kb "$curl_chain" 1 "$T/ota-smaps") kB"
			echo "($(grep -cE "/($curl_chain)[.-]" "$T/ota-smaps") libraries; $(chain_kb "$curl_chain" 2 "$T/ota-smaps") kB anonymous). The heap then: $(awk '$3 == "[heap]" { print $1 }' "$T/ota-smaps") kB."
		else
			echo "(No sample during a download: it was shorter than a progress step.)"
		fi)

		## Runs

		\`\`\`
	EOF
	cat "$T/rtt.out" "$T/burst.out" "$T/ota-runs.out" "$T/idle.out"
	field ready_ms <"$T/start.out" | tr '\n' ' ' | sed 's/^/start ready_ms: /'
	echo
	field connected_ms <"$T/start.out" | tr '\n' ' ' | sed 's/^/start connected_ms: /'
	echo
	field connected_ms <"$T/start-echo.out" | tr '\n' ' ' | sed 's/^/start echo connected_ms: /'
	echo
	echo '```'
	if [ -f "$top_srcdir/bench/bounds.md" ]; then
		echo
		cat "$top_srcdir/bench/bounds.md"
	fi
} >"$RESULTS"
log "bench: results in $RESULTS"
assert_no_secrets
