# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/lib-ota.sh: OTA test helpers on top of lib.sh (source lib.sh first).
#
# A real HTTPS server: Debian's nginx on a free port of 127.0.0.1 with a certificate from the test CA,
# serving $T/www. Its access log has one line per finished request with the Range header and the status,
# which is how the tests prove a download resumed. URLs may carry ?rate=N (nginx limit_rate, e.g. 512k) to
# make a transfer last, and ?Expires=E: once $T/www/expired-E exists, that URL answers 403 (an expired
# pre-signed URL, as OSS does). An installer hook script records what it got and exits as told.

NGINX_PID=
OTA_PUSH_TOPIC=/ota/device/upgrade/$PK/$DN
OTA_PROGRESS_TOPIC=/ota/device/progress/$PK/$DN
OTA_INFORM_TOPIC=/ota/device/inform/$PK/$DN
OTA_GET_TOPIC=/sys/$PK/$DN/thing/ota/firmware/get
OTA_GET_REPLY_TOPIC=/sys/$PK/$DN/thing/ota/firmware/get_reply

nginx_start() {
	local user= started
	need nginx
	[ -d "$T/pki" ] || pki_create
	mkdir -p "$T/www" "$T/nginx"
	NGINX_PORT=$("$TESTS_BUILD/free-port")
	[ "$(id -u)" -eq 0 ] && user="user root;"
	cat >"$T/nginx.conf" <<-EOF
		daemon off;
		$user
		worker_processes 1;
		pid $T/nginx/nginx.pid;
		error_log $T/nginx-error.log info;
		events { worker_connections 64; }
		http {
			log_format ota '\$request_method \$uri args="\$args" range="\$http_range" status=\$status sent=\$body_bytes_sent';
			access_log $T/nginx-access.log ota;
			client_body_temp_path $T/nginx/body;
			proxy_temp_path $T/nginx/proxy;
			fastcgi_temp_path $T/nginx/fastcgi;
			uwsgi_temp_path $T/nginx/uwsgi;
			scgi_temp_path $T/nginx/scgi;
			default_type application/octet-stream;
			sendfile on;
			map \$arg_rate \$ota_rate { default 0; ~^[0-9]+[km]?\$ \$arg_rate; }
			server {
				listen 127.0.0.1:$NGINX_PORT ssl;
				server_name localhost;
				ssl_certificate $T/pki/server.crt;
				ssl_certificate_key $T/pki/server.key;
				root $T/www;
				location / {
					if (-f $T/www/expired-\$arg_Expires) { return 403; }
					limit_rate \$ota_rate;
				}
			}
		}
	EOF
	: >>"$T/nginx-error.log"
	started=$(count_lines "$T/nginx-error.log" "start worker process")
	nginx -p "$T/nginx" -c "$T/nginx.conf" -e "$T/nginx-error.log" >>"$T/nginx.stderr" 2>&1 &
	NGINX_PID=$!
	wait_for_count "$T/nginx-error.log" "start worker process" $((started + 1)) 10 ||
		fail "nginx did not start: $(cat "$T/nginx.stderr")"
	URL_BASE="https://localhost:$NGINX_PORT"
}

# nginx_stop: a fast shutdown; the master exits only after its workers did. (SIGKILL to the master, as
# lib.sh's cleanup does with background processes, would leave the workers running.)
nginx_stop() {
	[ -n "$NGINX_PID" ] || return 0
	kill -TERM "$NGINX_PID" 2>/dev/null || true
	wait "$NGINX_PID" 2>/dev/null || true
	NGINX_PID=
}

_ota_cleanup() {
	local rc=$?
	# Not under set -e: "(exit $rc)" hands the status on to _cleanup, it must not end the trap.
	set +e
	nginx_stop
	(exit $rc)
	_cleanup
}
trap _ota_cleanup EXIT

# The pid of nginx's (single) worker: the child of the master.
nginx_worker_pid() {
	cat "/proc/$NGINX_PID/task/$NGINX_PID/children" 2>/dev/null | awk '{print $1}'
}

# make_image NAME SIZE_BYTES: random content in $T/www/NAME.
make_image() {
	head -c "$2" /dev/urandom >"$T/www/$1"
}

# The installer hook: records its argv, environment and the file, then does what $T/hook-mode says:
# "exit N" or "hang". Every run appends a line to $T/hook-runs.
hook_install() {
	cat >"$T/hook" <<-EOF
		#!/bin/bash
		echo "\$1" >>"$T/hook-runs"
		env | sort >"$T/hook-env"
		printf '%s\n' "\$@" >"$T/hook-argv"
		cp -- "\$1" "$T/installed.bin"
		mode=\$(cat "$T/hook-mode" 2>/dev/null || echo "exit 0")
		echo "test-hook: \$\$ got \$1 (\$ALI_LINKD_OTA_VERSION), mode \$mode" >&2
		case "\$mode" in
		hang) echo \$\$ >"$T/hook-pid"; sleep 600 & echo \$! >"$T/hook-child-pid"; wait ;;
		exit*) exit \${mode#exit } ;;
		esac
	EOF
	chmod 0755 "$T/hook"
	echo "exit 0" >"$T/hook-mode"
}

# ota_config [EXTRA_OTA_LINES]: the daemon's config plus an [ota] section for the test server.
ota_config() {
	daemon_config
	echo "${VERSION:-1.0.0}" >"$T/firmware-version"
	cat >>"$T/ali-linkd.conf" <<-EOF

		[ota]
		version_file = $T/firmware-version
		installer = $T/hook
		installer_timeout = ${INSTALLER_TIMEOUT:-30}
		ca_file = $T/pki/ca.crt
		connect_timeout = 5
		stall_timeout = 10
		${1:-}
	EOF
}

# ota_push URL SIZE VERSION METHOD SIGN: publish an upgrade push as the cloud does (code "1000", numeric id).
ota_push_json() {
	local url=$1 size=$2 version=$3 method=$4 sign=$5
	printf '{"code":"1000","data":{"size":%s,"version":"%s","url":"%s","sign":"%s","signMethod":"%s","md5":"%s"},"id":%s,"message":"success"}' \
		"$size" "$version" "$url" "$sign" "$method" "$sign" "$(date +%s%3N)"
}

ota_push() {
	cloud --pub "$OTA_PUSH_TOPIC" "$(ota_push_json "$@")" --timeout 5 >/dev/null || fail "cannot publish the push"
}

# The OTA listener: progress, inform and firmware/get, one line per message in $T/ota.out.
ota_listen() {
	cloud_listen ota --sub "$OTA_PROGRESS_TOPIC" --sub "$OTA_INFORM_TOPIC" --sub "$OTA_GET_TOPIC"
}

# ota_mark: from now on, wait_step and wait_log only look at what comes after this point.
MARK_OTA=0
MARK_LOG=0
ota_mark() {
	MARK_OTA=$(wc -l <"$T/ota.out")
	MARK_LOG=$(wc -l <"$T/daemon.log")
}

# _wait_after FILE MARK REGEX TIMEOUT: a line matching REGEX after the first MARK lines of FILE.
_wait_after() {
	local n
	n=$(head -n "$2" "$1" | grep -cE -- "$3" || true)
	wait_for_count "$1" "$3" $((n + 1)) "$4"
}

# wait_step REGEX_OF_STEP [TIMEOUT]: a progress message whose step matches, e.g. '-3' or '(1[0-9]|[2-9][0-9])'.
wait_step() {
	_wait_after "$T/ota.out" "$MARK_OTA" "^$OTA_PROGRESS_TOPIC \\{\"id\":\"[0-9]+\",\"params\":\\{\"step\":\"$1\"" "${2:-20}"
}

# wait_log REGEX [TIMEOUT]: a daemon log line after the mark.
wait_log() {
	_wait_after "$T/daemon.log" "$MARK_LOG" "$1" "${2:-20}"
}

# log_since_mark: the daemon's log after the mark.
log_since_mark() {
	tail -n +$((MARK_LOG + 1)) "$T/daemon.log"
}

# wait_inform VERSION [N]: the N-th (default 1st) inform of VERSION.
wait_inform() {
	wait_for_count "$T/ota.out" "^$OTA_INFORM_TOPIC \\{\"id\":\"[0-9]+\",\"params\":\\{\"version\":\"$1\"\\}\\}$" "${2:-1}" "${3:-20}"
}

# The desc of the last progress message with the given step.
step_desc() {
	grep -F "$OTA_PROGRESS_TOPIC " "$T/ota.out" | grep -F "\"step\":\"$1\"" | tail -n 1 |
		sed -E 's/.*"desc":"((\\.|[^"\\])*)".*/\1/'
}

# All steps reported so far, one per line.
steps() {
	grep -F "$OTA_PROGRESS_TOPIC " "$T/ota.out" | sed -E 's/.*"step":"(-?[0-9]+)".*/\1/'
}

# ota_setup [EXTRA_OTA_LINES]: broker, nginx, hook, config, listener, the daemon connected and its first
# inform of ${VERSION:-1.0.0} seen.
ota_setup() {
	broker_start
	nginx_start
	hook_install
	ota_config "${1:-}"
	ota_listen
	daemon_start
	daemon_wait_connected
	wait_inform "${VERSION:-1.0.0}" || fail "no version inform on connect"
}
