/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-sysfs.h: a prepared directory tree shaped like sysfs, for the pwm and ledclass backends.
 *
 * The real parts run in the qemu guest (test-led-guest.sh: gpio-sim, a PWM chip, a multicolor LED,
 * leds-gpio). This tree covers what a real kernel will not stage on demand: a read-only duty_cycle, a
 * missing chip, unreadable channels, a read-back that differs, and the order of writes when the period
 * grows (recorded with inotify: every close after a write, in the order the kernel would have seen
 * them), and the values left in the files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* A fresh tree under /tmp; the path is returned (malloc'ed) and removed by fake_sysfs_remove(). */
char *fake_sysfs_new(void);
void fake_sysfs_remove(char *root);

/* root/relative: mkdir -p of its parent, then the file with content (mode 0644). */
void fake_sysfs_file(const char *root, const char *relative, const char *content);
void fake_sysfs_mkdir(const char *root, const char *relative);
/* The file's content without the trailing newline (malloc'ed). */
char *fake_sysfs_read(const char *root, const char *relative);
/* A PWM channel as the kernel shows it right after export: period, duty_cycle, enable all 0. */
void fake_sysfs_pwm_channel(const char *root, const char *chip, unsigned channel);

/* Records writes in the given directories of root (relative paths; those missing are skipped), until
 * fake_sysfs_writes(). */
typedef struct FakeSysfsWatch FakeSysfsWatch;
FakeSysfsWatch *fake_sysfs_watch(const char *root, const char *const *dirs);
/* The writes since the watch started, oldest first, as "dir/file dir/file ..." (malloc'ed); frees w. */
char *fake_sysfs_writes(FakeSysfsWatch *w);
