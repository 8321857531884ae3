/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-gpio.c: three GPIO lines in one libgpiod 2 request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gpio-util.h"
#include "led-gpio.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"

#define LED_GPIO_CONSUMER "ali-linkd"

struct LedGpio {
        const LedConfig *config; /* borrowed from the Led */
        struct gpiod_line_request *request;
        unsigned offsets[3];
        char *chip_path; /* of the chip the lines were requested from, for the log */
};

int led_gpio_new(LedGpio **ret, const LedConfig *config)
{
        LedGpio *g;

        if (strv_length(config->lines) != 3)
                return -EINVAL;
        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->config = config;
        *ret = g;
        return 0;
}

static void led_gpio_release(LedGpio *g)
{
        if (g->request) {
                gpiod_line_request_release(g->request);
                g->request = NULL;
                log_info("Released GPIO lines %u,%u,%u of %s", g->offsets[0], g->offsets[1], g->offsets[2],
                        g->chip_path);
        }
        g->chip_path = mfree(g->chip_path);
}

LedGpio *led_gpio_free(LedGpio *g)
{
        if (!g)
                return NULL;
        led_gpio_release(g);
        free(g);
        return NULL;
}

/* Finds the chip called name (gpio-util.h). Returns 0 with *ret_path set, LED_CODE_UNAVAILABLE (logged)
 * when there is none, -ENOMEM. */
static int chip_find(const char *name, char **ret_path)
{
        int r = gpio_chip_find(name, ret_path);

        if (r == 0 || r == -ENOMEM)
                return r;
        if (r == -EACCES)
                led_log_fault(r,
                        "GPIO chip \"%s\" not found: no /dev/%s, and some /dev/gpiochip* whose "
                        "label might match cannot be opened",
                        name, name);
        else if (r == -ENOENT)
                log_warning("GPIO chip \"%s\" not found: no /dev/%s, and no GPIO chip has that label", name,
                        name);
        else
                led_log_fault(r, "GPIO chip \"%s\" not found: cannot list /dev", name);
        return LED_CODE_UNAVAILABLE;
}

/* Offsets of the configured lines. LED_CODE_UNAVAILABLE (logged) when one does not exist. */
static int lines_resolve(LedGpio *g, struct gpiod_chip *chip, const char *chip_desc, size_t num_lines)
{
        for (size_t i = 0; i < 3; i++) {
                const char *line = g->config->lines[i];
                int r = gpio_line_resolve(chip, num_lines, line, &g->offsets[i]);

                if (r == -ERANGE) {
                        log_warning("GPIO chip %s has %zu lines: there is no line %s (%s)", chip_desc,
                                num_lines, line, led_color_names[i]);
                        return LED_CODE_UNAVAILABLE;
                }
                if (r == -ENOENT) {
                        log_warning("GPIO chip %s has no line named \"%s\" (%s)", chip_desc, line,
                                led_color_names[i]);
                        return LED_CODE_UNAVAILABLE;
                }
                if (r < 0) {
                        led_log_fault(r, "Cannot look up GPIO line \"%s\" (%s) of %s", line,
                                led_color_names[i], chip_desc);
                        return LED_CODE_UNAVAILABLE;
                }
        }
        for (size_t i = 0; i < 3; i++)
                for (size_t j = i + 1; j < 3; j++)
                        if (g->offsets[i] == g->offsets[j]) {
                                log_warning("GPIO lines for %s and %s are both line %u of %s: each colour "
                                            "needs a "
                                            "line of its own",
                                        led_color_names[i], led_color_names[j], g->offsets[i], chip_desc);
                                return LED_CODE_UNAVAILABLE;
                        }
        return 0;
}

/* Says who holds the lines we could not get. */
static void log_busy(LedGpio *g, struct gpiod_chip *chip, const char *chip_desc, int error)
{
        for (size_t i = 0; i < 3; i++) {
                _cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info = NULL;

                info = gpiod_chip_get_line_info(chip, g->offsets[i]);
                if (info && gpiod_line_info_is_used(info)) {
                        led_log_fault(error, "GPIO line %u (%s) of %s is busy: used by \"%s\"",
                                g->offsets[i], led_color_names[i], chip_desc,
                                strna(gpiod_line_info_get_consumer(info)));
                        return;
                }
        }
        led_log_fault(error, "Cannot request GPIO lines %u,%u,%u of %s", g->offsets[0], g->offsets[1],
                g->offsets[2], chip_desc);
}

/* Requests the three lines as outputs with the given initial values. */
static int led_gpio_open(LedGpio *g, const enum gpiod_line_value values[3])
{
        const char *name = g->config->chip ?: LED_DEFAULT_GPIO_CHIP;
        _cleanup_(freep) char *path = NULL, *desc = NULL;
        _cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
        _cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *info = NULL;
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        _cleanup_(gpiod_line_config_freep) struct gpiod_line_config *line_config = NULL;
        _cleanup_(gpiod_request_config_freep) struct gpiod_request_config *request_config = NULL;
        int r;

        r = chip_find(name, &path);
        if (r != 0)
                return r;
        chip = gpiod_chip_open(path);
        if (!chip) {
                led_log_fault(errno, "Cannot open GPIO chip %s", path);
                return LED_CODE_UNAVAILABLE;
        }
        info = gpiod_chip_get_info(chip);
        if (!info) {
                led_log_fault(errno, "Cannot read the information of GPIO chip %s", path);
                return LED_CODE_UNAVAILABLE;
        }
        if (asprintf(&desc, "%s (%s, \"%s\")", path, gpiod_chip_info_get_name(info),
                    gpiod_chip_info_get_label(info)) < 0) {
                desc = NULL;
                return -ENOMEM;
        }

        r = lines_resolve(g, chip, desc, gpiod_chip_info_get_num_lines(info));
        if (r != 0)
                return r;

        settings = gpiod_line_settings_new();
        line_config = gpiod_line_config_new();
        request_config = gpiod_request_config_new();
        if (!settings || !line_config || !request_config)
                return -ENOMEM;
        gpiod_request_config_set_consumer(request_config, LED_GPIO_CONSUMER);
        if (gpiod_line_settings_set_direction(settings, GPIOD_LINE_DIRECTION_OUTPUT) < 0)
                return -errno;
        gpiod_line_settings_set_active_low(settings, g->config->active_low);
        for (size_t i = 0; i < 3; i++)
                if (gpiod_line_settings_set_output_value(settings, values[i]) < 0 ||
                        gpiod_line_config_add_line_settings(line_config, &g->offsets[i], 1, settings) < 0)
                        return errno == ENOMEM ? -ENOMEM : -EINVAL;

        g->request = gpiod_chip_request_lines(chip, request_config, line_config);
        if (!g->request) {
                r = errno;
                if (r == EBUSY)
                        log_busy(g, chip, desc, r);
                else
                        led_log_fault(r, "Cannot request GPIO lines %u,%u,%u of %s", g->offsets[0],
                                g->offsets[1], g->offsets[2], desc);
                return LED_CODE_UNAVAILABLE;
        }
        log_info("Requested GPIO lines %u,%u,%u of %s for red, green, blue%s", g->offsets[0], g->offsets[1],
                g->offsets[2], desc, g->config->active_low ? ", active low" : "");
        g->chip_path = TAKE_PTR(path);
        return 0;
}

int led_gpio_apply(LedGpio *g, const LedState *want, const LedState *current, LedState *ret_actual)
{
        const uint8_t colour[3] = {want->red, want->green, want->blue};
        enum gpiod_line_value values[3], got[3];
        LedReadback rb = {};
        int r;

        *ret_actual = *current;
        for (size_t i = 0; i < 3; i++)
                values[i] = want->on && colour[i] >= g->config->threshold ? GPIOD_LINE_VALUE_ACTIVE
                                                                          : GPIOD_LINE_VALUE_INACTIVE;

        if (!g->request) {
                r = led_gpio_open(g, values);
                if (r != 0)
                        return r;
        } else if (gpiod_line_request_set_values_subset(g->request, 3, g->offsets, values) < 0) {
                led_log_fault(errno, "Cannot set GPIO lines %u,%u,%u of %s", g->offsets[0], g->offsets[1],
                        g->offsets[2], g->chip_path);
                /* The request may be gone with its chip: request again on the next change. */
                led_gpio_release(g);
                return LED_CODE_WRITE_FAILED;
        }
        log_debug("GPIO lines %u,%u,%u of %s set to %d,%d,%d", g->offsets[0], g->offsets[1], g->offsets[2],
                g->chip_path, values[0], values[1], values[2]);

        if (gpiod_line_request_get_values_subset(g->request, 3, g->offsets, got) < 0) {
                led_log_fault(errno, "Cannot read back GPIO lines %u,%u,%u of %s", g->offsets[0],
                        g->offsets[1], g->offsets[2], g->chip_path);
                led_gpio_release(g);
                return LED_CODE_READBACK_DIFFERS;
        }
        for (size_t i = 0; i < 3; i++) {
                if (got[i] != GPIOD_LINE_VALUE_ACTIVE && got[i] != GPIOD_LINE_VALUE_INACTIVE)
                        continue;
                rb.known[i] = true;
                rb.matches[i] = got[i] == values[i];
                rb.lit[i] = got[i] == GPIOD_LINE_VALUE_ACTIVE;
                rb.value[i] = 255; /* a lit line is all the light it can give */
                if (!rb.matches[i])
                        log_warning("GPIO line %u (%s) of %s reads back %d instead of %d", g->offsets[i],
                                led_color_names[i], g->chip_path, got[i], values[i]);
        }
        if (led_readback_to_state(&rb, want, current, ret_actual))
                return 0;
        return LED_CODE_READBACK_DIFFERS;
}
