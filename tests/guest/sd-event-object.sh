#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/guest/sd-event-object.sh CC OUTPUT: sd-event from libsystemd.a as one relocatable object whose only
# global symbols are sd_event_*, for the statically linked guest test program.
#
# libsystemd.a cannot be linked beside our own helpers as it is: its internal objects define strv_free(),
# parse_boolean() and more under the same names as src/shared. So the members sd-event needs are linked
# into one object (ld -r, pulling only what the sd_event_* symbols reach), and every other global of it is
# made local (objcopy --keep-global-symbols). What stays undefined is libc's, plus libcap's, which
# tests/guest/journal-stub.c provides (sd-event does not need capabilities).
set -euo pipefail
cc=${1:?usage: sd-event-object.sh CC OUTPUT}
out=${2:?usage: sd-event-object.sh CC OUTPUT}

archive=$($cc -print-file-name=libsystemd.a)
if [ ! -f "$archive" ]; then
	echo "sd-event-object.sh: libsystemd.a not found (package libsystemd-dev); the guest test needs it" >&2
	exit 1
fi
mapfile -t undefined < <(nm -g --defined-only "$archive" 2>/dev/null | awk '$2 == "T" && $3 ~ /^sd_event_/ { print "-u" $3 }' | sort -u)
[ "${#undefined[@]}" -gt 10 ] || { echo "sd-event-object.sh: no sd_event_* functions in $archive" >&2; exit 1; }
ld -r -o "$out.tmp" "${undefined[@]}" "$archive"
nm -g --defined-only "$out.tmp" | awk '$3 ~ /^sd_event_/ { print $3 }' >"$out.keep"
objcopy --keep-global-symbols="$out.keep" "$out.tmp" "$out"
rm -f "$out.tmp" "$out.keep"
