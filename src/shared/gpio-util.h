/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gpio-util.h: finding a GPIO chip and a line on it with libgpiod 2, for every user of GPIO lines (the
 * light's gpio backend, the gpio bindings), and the cleanup helpers of libgpiod's types.
 *
 * A chip is named by its device name in /dev ("gpiochip0"), by path ("/dev/gpiochip0") or by label (the
 * first /dev/gpiochip* whose label matches); a line by offset ("17") or by name ("LED_RED"). Nothing here
 * logs: the callers say what was not found, in their own words. */
#pragma once

#include <gpiod.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip *, gpiod_chip_close);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_chip_info *, gpiod_chip_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_info *, gpiod_line_info_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_settings *, gpiod_line_settings_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_config *, gpiod_line_config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_request_config *, gpiod_request_config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_line_request *, gpiod_line_request_release);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct gpiod_edge_event_buffer *, gpiod_edge_event_buffer_free);

/* The path of the chip called name. 0 with *ret_path (malloc'ed); -ENOENT when no chip has that name or
 * label; -EACCES when none was found but some /dev/gpiochip* that might have the label cannot be opened;
 * another negative errno when /dev cannot be listed; -ENOMEM. */
int gpio_chip_find(const char *name, char **ret_path);
/* The offset of line (an offset or a line name) on chip, which has num_lines lines. 0; -ERANGE for an
 * offset the chip does not have; -ENOENT for a name it does not have; another negative errno when the
 * lookup failed. */
int gpio_line_resolve(struct gpiod_chip *chip, size_t num_lines, const char *line, unsigned *ret_offset);
