#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The light's backends on real kernel interfaces, in a small qemu guest: gpio on the kernel's gpio-sim (a
# real GPIO character device), pwm on a real PWM chip's sysfs, ledclass on a real multicolor LED and on
# leds-gpio driving gpio-sim lines (the last three registered by tests/guest/module/ali-linkd-test.ko).
#
# This host's kernel may have no GPIO support, so the test boots a kernel of the project's own
# (tests/guest/build-kernel.sh builds it and the module once per configuration, as a prerequisite of make
# check) with an initramfs of busybox, tests/guest/init, the module and tests/guest/led-guest (the daemon's
# own backend code, linked statically with libgpiod 2). qemu runs with TCG only: the KVM of some hosts
# hangs such a kernel. The guest reports through isa-debug-exit: status 1 is a pass, 3 a failure,
# anything else (0 after a panic, 124 from the timeout) a broken guest; a pass also needs the guest's
# "all led-guest cases passed" line.
. "$(dirname "$0")/lib.sh"

guest_dir=$top_builddir/tests/guest
kernel=$guest_dir/bzImage
program=$guest_dir/led-guest
module=$guest_dir/ali-linkd-test.ko

command -v qemu-system-x86_64 >/dev/null 2>&1 || skip "qemu-system-x86_64 is not installed (package qemu-system-x86)"
need busybox cpio gzip timeout
busybox_bin=$(command -v busybox)
# The guest has no shared libraries: busybox must be the static one.
! ldd "$busybox_bin" >/dev/null 2>&1 || fail "$busybox_bin is not statically linked (install busybox-static)"
if [ ! -e "$kernel" ]; then
	fail "no test kernel: $(cat "$guest_dir/bzImage.why" 2>/dev/null || echo "tests/guest/build-kernel.sh did not run (make check runs it)")"
fi
[ -e "$module" ] || fail "no test module: $(cat "$guest_dir/bzImage.why" 2>/dev/null || echo "$module is missing")"
[ -x "$program" ] || fail "$program is not built: configure could not link it statically (libgpiod-dev without libgpiod.a?)"

# The initramfs: busybox, /init, the module, the test program.
root=$T/initramfs
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/lib"
cp "$busybox_bin" "$root/bin/busybox"
cp "$top_srcdir/tests/guest/init" "$root/init"
cp "$module" "$root/lib/ali-linkd-test.ko"
cp "$program" "$root/bin/led-guest"
chmod 0755 "$root/init" "$root/bin/busybox" "$root/bin/led-guest"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$T/initramfs.cpio.gz" || fail "cannot pack the initramfs"

start=$(date +%s%N)
rc=0
timeout "${GUEST_TIMEOUT:-120}" qemu-system-x86_64 \
	-accel tcg -m 256 -smp 1 -nodefaults -no-reboot \
	-display none -serial stdio -monitor none -net none \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$kernel" -initrd "$T/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 rdinit=/init" \
	</dev/null >"$T/guest.log" 2>&1 || rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
sed 's/^/  | /' "$T/guest.log" >&2

case $rc in
1) ;;
3) fail "the guest's tests failed (qemu status 3)" ;;
124) fail "the guest did not finish within ${GUEST_TIMEOUT:-120} s" ;;
0) fail "the guest died without reporting (qemu status 0: panic or reboot)" ;;
*) fail "qemu exited with status $rc" ;;
esac
grep -q "^guest: all led-guest cases passed" "$T/guest.log" || fail "the guest reported success without running its cases"
n=$(grep -cE '^ok [0-9]+ - ' "$T/guest.log")
[ "$n" -ge 11 ] || fail "only $n guest cases ran"
pass "gpio-sim, a PWM chip, a multicolor LED and leds-gpio in a qemu guest: $n cases, $elapsed ms"
