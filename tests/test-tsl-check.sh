#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# aliLinkctl tsl check: the test fixtures, the shipped RGB light, a broken model, a missing file and bad
# usage; no daemon and no bus are needed.
. "$(dirname "$0")/lib.sh"

test_tsl_check_fixtures() {
	local f want
	for f in thermostat:"12 properties, 2 services, 2 events" \
		iotkit-solo:"17 properties, 0 services, 1 event" \
		custom-module:"2 properties, 1 service, 1 event"; do
		want="$top_srcdir/tests/data/tsl/${f%%:*}.json: ${f#*:}"
		"$CTL" tsl check "$top_srcdir/tests/data/tsl/${f%%:*}.json" >"$T/out" 2>&1 ||
			fail "${f%%:*}: $(cat "$T/out")"
		[ "$(cat "$T/out")" = "$want" ] || fail "expected \"$want\", got \"$(cat "$T/out")\""
	done
	"$CTL" tsl check "$top_srcdir/data/tsl/rgb-light.json" >"$T/out" 2>&1 || fail "rgb-light.json: $(cat "$T/out")"
	grep -qxF "$top_srcdir/data/tsl/rgb-light.json: 3 properties, 0 services, 0 events" "$T/out" ||
		fail "rgb-light.json: $(cat "$T/out")"
	pass "tsl check: the fixtures and the shipped model"
}

test_tsl_check_broken() {
	sed 's/"max": "40"/"max": "forty"/' "$top_srcdir/tests/data/tsl/thermostat.json" >"$T/broken.json"
	cmp -s "$T/broken.json" "$top_srcdir/tests/data/tsl/thermostat.json" && fail "the fixture changed: nothing to break"
	local rc=0
	"$CTL" tsl check "$T/broken.json" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || fail "a broken model: exit $rc"
	[ ! -s "$T/out" ] || fail "a broken model printed to stdout: $(cat "$T/out")"
	grep -qxF "$T/broken.json: \$.properties[0].dataType.specs.max: \"forty\" is not a number" "$T/err" ||
		fail "unexpected error: $(cat "$T/err")"

	printf '{"properties": [\n  {"identifier": "A",\n' >"$T/truncated.json"
	rc=0
	"$CTL" tsl check "$T/truncated.json" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || fail "a truncated model: exit $rc"
	grep -qF "$T/truncated.json: invalid JSON" "$T/err" || fail "unexpected error: $(cat "$T/err")"
	pass "tsl check: a broken model, with its JSON path"
}

test_tsl_check_missing() {
	local rc=0
	"$CTL" tsl check "$T/nope.json" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || fail "a missing file: exit $rc"
	grep -qxF "$T/nope.json: No such file or directory" "$T/err" || fail "unexpected error: $(cat "$T/err")"
	rc=0
	"$CTL" tsl check "$T" 2>"$T/err" || rc=$?
	[ "$rc" = 1 ] || fail "a directory: exit $rc"
	grep -qxF "$T: not a regular file" "$T/err" || fail "unexpected error: $(cat "$T/err")"
	pass "tsl check: a missing file, a directory"
}

test_tsl_check_usage() {
	local rc=0
	"$CTL" tsl frobnicate "$T/x" 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || fail "an unknown subcommand: exit $rc"
	rc=0
	"$CTL" tsl check 2>"$T/err" || rc=$?
	[ "$rc" = 2 ] || fail "no file: exit $rc"
	"$CTL" tsl --help | grep -qF "tsl check FILE" || fail "tsl --help"
	pass "tsl: usage errors"
}

test_tsl_check_fixtures
test_tsl_check_broken
test_tsl_check_missing
test_tsl_check_usage
