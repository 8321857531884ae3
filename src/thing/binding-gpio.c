/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding-gpio.c: a property on one GPIO line, through libgpiod 2 (chip and line found as gpio-util.h
 * says).
 *
 * Output: the line is requested on the first write, with that write's value as its initial one (nothing
 * glitches at start), and kept; each write sets it and reads it back. Read before the first write, the line
 * is requested "as is" for a moment, so reading changes nothing. After a failed set or read the request is
 * dropped and made again by the next write.
 *
 * Input: requested at once with edge detection (edge = both, rising or falling), the bias and, when
 * debounce is set, the kernel's debounce period (gpiod_line_settings_set_debounce_period_us(); kernels
 * without it are asked again without). Its fd is watched on the event loop (no thread, no blocking read).
 * Debouncing is also done here, so it holds on every kernel: an edge (re)arms a timer of the debounce
 * period, and only when it fires is the level read and reported, so a level must have been stable that long.
 * With edge = both a level is reported when it differs from the last one reported; with rising (falling)
 * each debounced edge to 1 (0) is reported, as an event-like property. While the line cannot be requested, a
 * timer tries again every BINDING_GPIO_RETRY_USEC. active_low makes every value logical. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "binding-internal.h"
#include "event-util.h"
#include "gpio-util.h"
#include "log.h"
#include "macro.h"

#define BINDING_GPIO_RETRY_USEC (5 * USEC_PER_SEC)
#define BINDING_GPIO_EVENTS 16

typedef struct GpioState {
        struct gpiod_line_request *request;
        unsigned offset;
        char *desc; /* "line N of /dev/gpiochipM", for the log */
        bool warned;

        /* input */
        sd_event_source *io, *debounce_timer, *retry_timer;
        struct gpiod_edge_event_buffer *events;
        int last; /* the level last reported, or the initial one */
} GpioState;

/* Opens the chip and finds the line. 0 with *ret_chip; BINDING_CODE_UNAVAILABLE (logged at level); -ENOMEM.
 */
static int gpio_locate(Binding *b, int level, struct gpiod_chip **ret_chip)
{
        GpioState *g = b->data;
        const char *name = b->settings.chip ?: BINDING_DEFAULT_GPIO_CHIP;
        _cleanup_(freep) char *path = NULL;
        _cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
        _cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *info = NULL;
        int r;

        r = gpio_chip_find(name, &path);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r == -ENOENT)
                        log_full(level,
                                "Property %s: GPIO chip \"%s\" not found: no /dev/%s, and no chip has "
                                "that label",
                                b->identifier, name, name);
                else
                        (void) log_full_errno(level, r, "Property %s: GPIO chip \"%s\" not found: %m",
                                b->identifier, name);
                return BINDING_CODE_UNAVAILABLE;
        }
        chip = gpiod_chip_open(path);
        if (chip)
                info = gpiod_chip_get_info(chip);
        if (!chip || !info) {
                (void) log_full_errno(
                        level, errno, "Property %s: cannot open GPIO chip %s: %m", b->identifier, path);
                return BINDING_CODE_UNAVAILABLE;
        }
        r = gpio_line_resolve(chip, gpiod_chip_info_get_num_lines(info), b->settings.line, &g->offset);
        if (r < 0) {
                if (r == -ERANGE)
                        log_full(level, "Property %s: GPIO chip %s has %zu lines: there is no line %s",
                                b->identifier, path, gpiod_chip_info_get_num_lines(info), b->settings.line);
                else if (r == -ENOENT)
                        log_full(level, "Property %s: GPIO chip %s has no line named \"%s\"", b->identifier,
                                path, b->settings.line);
                else
                        (void) log_full_errno(level, r,
                                "Property %s: cannot look up GPIO line \"%s\" of %s: %m", b->identifier,
                                b->settings.line, path);
                return BINDING_CODE_UNAVAILABLE;
        }
        free(g->desc);
        if (asprintf(&g->desc, "line %u of %s (\"%s\")", g->offset, path, gpiod_chip_info_get_label(info)) <
                0) {
                g->desc = NULL;
                return -ENOMEM;
        }
        *ret_chip = TAKE_PTR(chip);
        return 0;
}

static enum gpiod_line_bias gpiod_bias(BindingBias bias)
{
        switch (bias) {
        case BINDING_BIAS_DISABLED:
                return GPIOD_LINE_BIAS_DISABLED;
        case BINDING_BIAS_PULL_UP:
                return GPIOD_LINE_BIAS_PULL_UP;
        case BINDING_BIAS_PULL_DOWN:
                return GPIOD_LINE_BIAS_PULL_DOWN;
        default:
                return GPIOD_LINE_BIAS_AS_IS;
        }
}

/* Requests the line with the settings fill() gives. 0, BINDING_CODE_UNAVAILABLE (logged at level), or
 * -ENOMEM. */
static int gpio_request(Binding *b, int level, enum gpiod_line_direction direction, int value,
        bool with_debounce, struct gpiod_line_request **ret)
{
        GpioState *g = b->data;
        const BindingSettings *s = &b->settings;
        _cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
        _cleanup_(gpiod_line_settings_freep) struct gpiod_line_settings *settings = NULL;
        _cleanup_(gpiod_line_config_freep) struct gpiod_line_config *line_config = NULL;
        _cleanup_(gpiod_request_config_freep) struct gpiod_request_config *request_config = NULL;
        static const enum gpiod_line_edge edges[] = {
                [BINDING_EDGE_BOTH] = GPIOD_LINE_EDGE_BOTH,
                [BINDING_EDGE_RISING] = GPIOD_LINE_EDGE_RISING,
                [BINDING_EDGE_FALLING] = GPIOD_LINE_EDGE_FALLING,
        };
        int r;

        r = gpio_locate(b, level, &chip);
        if (r != 0)
                return r;
        settings = gpiod_line_settings_new();
        line_config = gpiod_line_config_new();
        request_config = gpiod_request_config_new();
        if (!settings || !line_config || !request_config)
                return -ENOMEM;
        gpiod_request_config_set_consumer(request_config, BINDING_CONSUMER);
        if (gpiod_line_settings_set_direction(settings, direction) < 0 ||
                gpiod_line_settings_set_bias(settings, gpiod_bias(s->bias)) < 0)
                return -EINVAL;
        gpiod_line_settings_set_active_low(settings, s->active_low);
        if (direction == GPIOD_LINE_DIRECTION_OUTPUT &&
                gpiod_line_settings_set_output_value(
                        settings, value ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0)
                return -EINVAL;
        if (direction == GPIOD_LINE_DIRECTION_INPUT) {
                if (gpiod_line_settings_set_edge_detection(settings, edges[s->edge]) < 0)
                        return -EINVAL;
                if (with_debounce)
                        gpiod_line_settings_set_debounce_period_us(
                                settings, (unsigned long) s->debounce_usec);
        }
        if (gpiod_line_config_add_line_settings(line_config, &g->offset, 1, settings) < 0)
                return errno == ENOMEM ? -ENOMEM : -EINVAL;

        *ret = gpiod_chip_request_lines(chip, request_config, line_config);
        if (!*ret) {
                r = errno;
                if (r == EBUSY) {
                        _cleanup_(gpiod_line_info_freep) struct gpiod_line_info *info = NULL;

                        info = gpiod_chip_get_line_info(chip, g->offset);
                        (void) log_full_errno(level, r, "Property %s: GPIO %s is busy: used by \"%s\"",
                                b->identifier, g->desc,
                                info ? strna(gpiod_line_info_get_consumer(info)) : "?");
                } else if (!(r == EINVAL && with_debounce))
                        (void) log_full_errno(
                                level, r, "Property %s: cannot request GPIO %s: %m", b->identifier, g->desc);
                return r == EINVAL && with_debounce ? -EINVAL : BINDING_CODE_UNAVAILABLE;
        }
        return 0;
}

static void gpio_release(GpioState *g)
{
        g->io = sd_event_source_disable_unref(g->io);
        g->debounce_timer = sd_event_source_disable_unref(g->debounce_timer);
        if (g->request) {
                gpiod_line_request_release(g->request);
                g->request = NULL;
        }
}

static int gpio_new_state(Binding *b)
{
        GpioState *g = calloc(1, sizeof(*g));

        if (!g)
                return -ENOMEM;
        b->data = g;
        return 0;
}

static void gpio_free(Binding *b)
{
        GpioState *g = b->data;

        if (!g)
                return;
        gpio_release(g);
        g->retry_timer = sd_event_source_disable_unref(g->retry_timer);
        if (g->events)
                gpiod_edge_event_buffer_free(g->events);
        free(g->desc);
        free(g);
        b->data = NULL;
}

static int get_level(Binding *b, struct gpiod_line_request *request, int *ret)
{
        GpioState *g = b->data;
        enum gpiod_line_value v = gpiod_line_request_get_value(request, g->offset);

        if (v != GPIOD_LINE_VALUE_ACTIVE && v != GPIOD_LINE_VALUE_INACTIVE)
                return log_warning_errno(
                        errno, "Property %s: cannot read GPIO %s: %m", b->identifier, g->desc);
        *ret = v == GPIOD_LINE_VALUE_ACTIVE;
        return 0;
}

static int level_to_json(int level, struct json_object **ret)
{
        *ret = json_object_new_int(level);
        return *ret ? 0 : -ENOMEM;
}

/* ---- output ---- */

static int gpio_output_open(Binding *b)
{
        _cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
        int r;

        r = gpio_new_state(b);
        if (r < 0)
                return r;
        /* Only looked for: the line is requested by the first write. */
        r = gpio_locate(b, LOG_WARNING, &chip);
        if (r == -ENOMEM)
                return r;
        ((GpioState *) b->data)->warned = r != 0;
        return 0;
}

static int gpio_output_write(Binding *b, struct json_object *value, struct json_object **ret_actual)
{
        GpioState *g = b->data;
        int64_t v = json_object_get_int64(value);
        int got, r;

        *ret_actual = NULL;
        if (!(json_object_is_type(value, json_type_int) || json_object_is_type(value, json_type_boolean)) ||
                (v != 0 && v != 1)) {
                log_warning("Property %s: a GPIO line is 0 or 1, not %s", b->identifier,
                        json_object_to_json_string(value));
                return BINDING_CODE_WRITE_FAILED;
        }
        if (!g->request) {
                r = gpio_request(b, g->warned ? LOG_DEBUG : LOG_WARNING, GPIOD_LINE_DIRECTION_OUTPUT,
                        (int) v, false, &g->request);
                g->warned = r != 0;
                if (r != 0)
                        return r;
                log_info("Property %s: requested GPIO %s as an output%s", b->identifier, g->desc,
                        b->settings.active_low ? ", active low" : "");
        } else if (gpiod_line_request_set_value(g->request, g->offset,
                           v ? GPIOD_LINE_VALUE_ACTIVE : GPIOD_LINE_VALUE_INACTIVE) < 0) {
                log_warning_errno(errno, "Property %s: cannot set GPIO %s: %m", b->identifier, g->desc);
                gpio_release(g); /* the request may be gone with its chip: again on the next write */
                return BINDING_CODE_WRITE_FAILED;
        }
        if (get_level(b, g->request, &got) < 0) {
                gpio_release(g);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        r = level_to_json(got, ret_actual);
        if (r < 0)
                return r;
        if (got != v) {
                log_warning("Property %s: GPIO %s reads back %d instead of %d", b->identifier, g->desc, got,
                        (int) v);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        return 200;
}

static int gpio_output_read(Binding *b, struct json_object **ret)
{
        GpioState *g = b->data;
        _cleanup_(gpiod_line_request_releasep) struct gpiod_line_request *request = NULL;
        int level, r;

        if (g->request)
                r = get_level(b, g->request, &level);
        else {
                /* Not driven yet: a request "as is", for the moment of the read, changes nothing. */
                r = gpio_request(b, LOG_DEBUG, GPIOD_LINE_DIRECTION_AS_IS, 0, false, &request);
                if (r == -ENOMEM)
                        return r;
                if (r == 0)
                        r = get_level(b, request, &level);
        }
        if (r != 0)
                return -ENODATA;
        return level_to_json(level, ret);
}

const BindingOps binding_gpio_output_ops = {
        .open = gpio_output_open,
        .free = gpio_free,
        .write = gpio_output_write,
        .read = gpio_output_read,
};

/* ---- input ---- */

static void report(Binding *b, int level)
{
        GpioState *g = b->data;
        _cleanup_(json_object_putp) struct json_object *v = NULL;

        g->last = level;
        if (level_to_json(level, &v) < 0) {
                log_oom();
                return;
        }
        log_debug("Property %s: GPIO %s is %d", b->identifier, g->desc, level);
        binding_value_changed(b, v);
}

/* A (debounced) edge to level, or the level found when the debounce period is over. */
static void level_seen(Binding *b, int level)
{
        GpioState *g = b->data;

        switch (b->settings.edge) {
        case BINDING_EDGE_RISING:
                if (level == 1)
                        report(b, 1);
                break;
        case BINDING_EDGE_FALLING:
                if (level == 0)
                        report(b, 0);
                break;
        default:
                if (level != g->last)
                        report(b, level);
        }
}

static int on_debounced(sd_event_source *s, uint64_t usec, void *userdata)
{
        Binding *b = userdata;
        GpioState *g = b->data;
        int level;

        if (g->request && get_level(b, g->request, &level) >= 0)
                level_seen(b, level);
        return 0;
}

static int gpio_input_request(Binding *b, int level);

static int on_edge(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Binding *b = userdata;
        GpioState *g = b->data;
        int n, r, edge_level = -1;

        /* Drain what is there (the fd is readable; the read does not block). */
        do {
                n = gpiod_line_request_read_edge_events(g->request, g->events, BINDING_GPIO_EVENTS);
                if (n < 0) {
                        log_warning_errno(errno,
                                "Property %s: cannot read the events of GPIO %s, requesting it "
                                "again: %m",
                                b->identifier, g->desc);
                        gpio_release(g);
                        (void) gpio_input_request(b, LOG_WARNING);
                        return 0;
                }
                for (int i = 0; i < n; i++) {
                        struct gpiod_edge_event *e =
                                gpiod_edge_event_buffer_get_event(g->events, (unsigned long) i);
                        edge_level = gpiod_edge_event_get_event_type(e) == GPIOD_EDGE_EVENT_RISING_EDGE;
                        if (b->settings.debounce_usec == 0)
                                level_seen(b, edge_level);
                }
        } while (n == BINDING_GPIO_EVENTS && gpiod_line_request_wait_edge_events(g->request, 0) > 0);

        if (edge_level >= 0 && b->settings.debounce_usec > 0) {
                /* Stable for the whole period before it counts: every edge starts the period again. */
                r = event_timer_arm_relative(g->debounce_timer, b->settings.debounce_usec);
                if (r < 0)
                        log_error_errno(r, "Property %s: cannot arm the debounce timer: %m", b->identifier);
        }
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        Binding *b = userdata;

        (void) gpio_input_request(b, LOG_DEBUG);
        return 0;
}

/* Requests the input and watches it; when it cannot be, arms the retry timer. 0, BINDING_CODE_UNAVAILABLE,
 * or a negative errno. */
static int gpio_input_request(Binding *b, int level)
{
        GpioState *g = b->data;
        bool debounce = b->settings.debounce_usec > 0;
        int r;

        r = gpio_request(b, level, GPIOD_LINE_DIRECTION_INPUT, 0, debounce, &g->request);
        if (r == -EINVAL && debounce) {
                log_info("Property %s: the kernel does not debounce GPIO %s; debouncing it here only",
                        b->identifier, g->desc);
                r = gpio_request(b, level, GPIOD_LINE_DIRECTION_INPUT, 0, false, &g->request);
        }
        if (r == 0 && get_level(b, g->request, &g->last) < 0)
                r = BINDING_CODE_UNAVAILABLE;
        if (r == 0)
                r = sd_event_add_io(
                        b->event, &g->io, gpiod_line_request_get_fd(g->request), EPOLLIN, on_edge, b);
        if (r == 0) {
                (void) sd_event_source_set_description(g->io, "binding-gpio");
                r = sd_event_add_time(
                        b->event, &g->debounce_timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_debounced, b);
        }
        if (r == 0) {
                (void) sd_event_source_set_description(g->debounce_timer, "binding-gpio-debounce");
                (void) sd_event_source_set_enabled(g->debounce_timer, SD_EVENT_OFF);
                log_info("Property %s: watching GPIO %s (edge %s, debounce %" PRIu64 " ms%s), level %d",
                        b->identifier, g->desc, binding_edge_to_string(b->settings.edge),
                        b->settings.debounce_usec / USEC_PER_MSEC,
                        b->settings.active_low ? ", active low" : "", g->last);
                g->retry_timer = sd_event_source_disable_unref(g->retry_timer);
                return 0;
        }
        gpio_release(g);
        if (r < 0 && r != -EINVAL)
                return r;
        if (!g->retry_timer) {
                int k = sd_event_add_time_relative(
                        b->event, &g->retry_timer, CLOCK_MONOTONIC, BINDING_GPIO_RETRY_USEC, 0, on_retry, b);
                if (k < 0)
                        return k;
                (void) sd_event_source_set_description(g->retry_timer, "binding-gpio-retry");
        } else
                (void) event_timer_arm_relative(g->retry_timer, BINDING_GPIO_RETRY_USEC);
        return BINDING_CODE_UNAVAILABLE;
}

static int gpio_input_open(Binding *b)
{
        GpioState *g;
        int r;

        r = gpio_new_state(b);
        if (r < 0)
                return r;
        g = b->data;
        g->events = gpiod_edge_event_buffer_new(BINDING_GPIO_EVENTS);
        if (!g->events)
                return -ENOMEM;
        r = gpio_input_request(b, LOG_WARNING);
        return r < 0 ? r : 0;
}

static int gpio_input_read(Binding *b, struct json_object **ret)
{
        GpioState *g = b->data;
        int level, r;

        if (!g->request) {
                r = gpio_input_request(b, LOG_DEBUG);
                if (r < 0)
                        return r;
                if (r != 0)
                        return -ENODATA;
        }
        if (get_level(b, g->request, &level) < 0)
                return -ENODATA;
        return level_to_json(level, ret);
}

const BindingOps binding_gpio_input_ops = {
        .open = gpio_input_open,
        .free = gpio_free,
        .read = gpio_input_read,
};
