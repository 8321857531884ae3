#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# tests/guest/build-kernel.sh OUTDIR: provide OUTDIR/bzImage and OUTDIR/ali-linkd-test.ko, the kernel of the
# hardware test guest and its test module.
#
# The host kernel may have no GPIO support at all, so the test boots a small kernel of its own under qemu.
# It is built from Debian's linux-source-6.12 with "make tinyconfig" plus tests/guest/kernel.fragment, with
# the module tests/guest/module built against it, and cached as OUTDIR/kernel-HASH/, HASH covering the
# fragment, the module's source and the source tarball: a clean build takes about two minutes, a cached
# one nothing. OUTDIR/bzImage and OUTDIR/ali-linkd-test.ko are symlinks to the current ones.
#
# Never fails the make run that calls it: when the kernel cannot be built, OUTDIR/bzImage is removed and
# OUTDIR/bzImage.why says why (the test reads it and fails or skips with that reason).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-kernel.sh OUTDIR}
fragment=$here/kernel.fragment
tarball=${LINUX_SOURCE_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
arch=x86_64

mkdir -p "$out"
why() {
	rm -f "$out/bzImage" "$out/ali-linkd-test.ko"
	printf '%s\n' "$*" >"$out/bzImage.why"
	printf 'build-kernel.sh: %s\n' "$*" >&2
	exit 0
}

command -v qemu-system-x86_64 >/dev/null 2>&1 || why "qemu-system-x86_64 is not installed (package qemu-system-x86)"
[ -r "$tarball" ] || why "$tarball is missing (package linux-source-6.12, bookworm-backports on Debian 12)"
for tool in make gcc bison flex bc cpio xz; do
	command -v "$tool" >/dev/null 2>&1 || why "$tool is not installed (needed to build the test kernel)"
done
[ -e /usr/include/libelf.h ] || why "libelf.h is missing (package libelf-dev, needed to build the test kernel)"

key=$( {
	cat "$fragment" "$here"/module/*
	stat -L -c '%n %s %Y' "$tarball"
	echo "$arch"
} | sha256sum | cut -c1-16)
dest=$out/kernel-$key

if [ ! -s "$dest/bzImage" ]; then
	work=$out/linux-build
	rm -rf "$work" "$dest"
	mkdir -p "$work" "$dest"
	start=$(date +%s)
	echo "build-kernel.sh: building the test kernel from $tarball (about 2 minutes; cached as $dest)" >&2
	{
		tar -C "$work" -xf "$tarball" --strip-components=1 &&
			unset MAKEFLAGS MFLAGS MAKELEVEL &&
			make -C "$work" ARCH=$arch tinyconfig &&
			"$work/scripts/kconfig/merge_config.sh" -m -O "$work" "$work/.config" "$fragment" &&
			make -C "$work" ARCH=$arch olddefconfig
	} >"$dest/build.log" 2>&1 || why "configuring the test kernel failed; see $dest/build.log"

	# olddefconfig silently drops what a dependency does not allow: every option must have survived.
	missing=
	while IFS= read -r line; do
		case "$line" in CONFIG_*=*) ;; *) continue ;; esac
		grep -qxF "$line" "$work/.config" || missing="$missing ${line%%=*}"
	done <"$fragment"
	[ -z "$missing" ] || why "the test kernel's configuration lost:$missing (see $work/.config)"

	make -C "$work" ARCH=$arch -j"${KERNEL_JOBS:-$(nproc)}" bzImage modules >>"$dest/build.log" 2>&1 ||
		why "building the test kernel failed; see $dest/build.log"
	# The module is built out of tree, in a copy (the source tree may be read-only).
	cp -r "$here/module" "$work/ali-linkd-test" &&
		make -C "$work" ARCH=$arch M="$work/ali-linkd-test" modules >>"$dest/build.log" 2>&1 ||
		why "building the test module failed; see $dest/build.log"
	cp "$work/.config" "$dest/config"
	cp "$work/ali-linkd-test/ali-linkd-test.ko" "$dest/ali-linkd-test.ko"
	cp "$work/arch/x86/boot/bzImage" "$dest/bzImage.tmp" && mv "$dest/bzImage.tmp" "$dest/bzImage"
	echo "build-kernel.sh: test kernel built in $(($(date +%s) - start)) s" | tee -a "$dest/build.log" >&2
	rm -rf "$work"
fi

ln -sfn "kernel-$key/ali-linkd-test.ko" "$out/ali-linkd-test.ko"
ln -sfn "kernel-$key/bzImage" "$out/bzImage"
rm -f "$out/bzImage.why"
