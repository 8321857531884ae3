/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led.c: the light's state, the backend dispatch, the "none" (simulated) backend and the state file. */
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "led-class.h"
#include "led-gpio.h"
#include "led-pwm.h"
#include "led.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"

const char *const led_color_names[3] = {"red", "green", "blue"};

struct Led {
        LedConfig config;
        LedState state;
        char *state_path;  /* NULL: nothing is saved */
        bool state_loaded; /* the state came from the state file */
        bool state_dirty;  /* changed since it was last saved */

        /* Exactly one of these, by config.backend (none of them for "none"). */
        LedGpio *gpio;
        LedPwm *pwm;
        LedClass *class;
};

int led_log_fault(int error, const char *format, ...)
{
        _cleanup_(freep) char *msg = NULL, *user = NULL;
        va_list ap;
        int r;

        error = error < 0 ? -error : error;
        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0)
                return log_oom();

        if (error == EACCES || error == EPERM) {
                struct passwd *pw;
                uid_t uid = geteuid();

                /* getpwuid() reads the user database once, and only on the path that explains a fault. */
                pw = getpwuid(uid);
                if (pw)
                        r = asprintf(&user, "user %s (uid %u)", pw->pw_name, (unsigned) uid);
                else
                        r = asprintf(&user, "uid %u", (unsigned) uid);
                if (r < 0)
                        return log_oom();
        }
        return log_warning_errno(error, "%s%s%s: %m", msg, user ? " as " : "", strempty(user));
}

bool led_readback_to_state(
        const LedReadback *rb, const LedState *want, const LedState *current, LedState *ret_actual)
{
        LedState actual = *want;
        uint8_t *v[3] = {&actual.red, &actual.green, &actual.blue};
        const uint8_t was[3] = {current->red, current->green, current->blue};
        bool all = true, none = true, lit_unexpectedly = false;

        for (size_t i = 0; i < 3; i++) {
                if (rb->known[i])
                        none = false;
                if (rb->known[i] && rb->matches[i])
                        continue;
                all = false;
                if (rb->known[i] && rb->lit[i] && !want->on)
                        lit_unexpectedly = true;
        }
        if (all) {
                *ret_actual = actual;
                return true;
        }
        if (none) {
                /* Nothing could be read: as far as we know, the light shows what it showed. */
                *ret_actual = *current;
                return false;
        }
        for (size_t i = 0; i < 3; i++)
                if (!rb->known[i])
                        *v[i] = was[i];

        if (want->on) {
                /* On as asked: the channels that differ show what they read. */
                for (size_t i = 0; i < 3; i++)
                        if (rb->known[i] && !rb->matches[i])
                                *v[i] = rb->lit[i] ? rb->value[i] : 0;
        } else if (lit_unexpectedly) {
                /* Asked to be off, but light comes out: it is on, with the colour the channels give. */
                actual.on = true;
                for (size_t i = 0; i < 3; i++)
                        if (rb->known[i])
                                *v[i] = rb->lit[i] ? rb->value[i] : 0;
        }
        *ret_actual = actual;
        return false;
}

/* --- the Led --- */

int led_new(Led **ret, const LedConfig *config, const char *state_directory)
{
        _cleanup_(led_freep) Led *l = NULL;
        _cleanup_(freep) char *state_text = NULL;
        int r;

        if (!ret || !config || config->backend < 0 || config->backend >= _LED_BACKEND_MAX)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->state = LED_STATE_INIT;
        r = led_config_copy(&l->config, config);
        if (r < 0)
                return r;

        switch (l->config.backend) {
        case LED_BACKEND_GPIO:
                r = led_gpio_new(&l->gpio, &l->config);
                break;
        case LED_BACKEND_PWM:
                r = led_pwm_new(&l->pwm, &l->config);
                break;
        case LED_BACKEND_LEDCLASS:
                r = led_class_new(&l->class, &l->config);
                break;
        default:
                r = 0;
        }
        if (r < 0)
                return r;

        if (state_directory && asprintf(&l->state_path, "%s/" LED_STATE_FILE, state_directory) < 0) {
                l->state_path = NULL;
                return -ENOMEM;
        }

        if (l->state_path) {
                r = led_state_load(l->state_path, &l->state);
                if (r == -ENOENT)
                        log_debug("No saved state of the light in %s, starting switched off", l->state_path);
                else if (r < 0) {
                        log_warning_errno(r, "Ignoring the saved state of the light in %s: %s",
                                l->state_path,
                                r == -EBADMSG ? "it is not a state file" : state_file_strerror(r));
                        l->state = LED_STATE_INIT;
                } else {
                        l->state_loaded = true;
                        if ((state_text = led_state_to_string(&l->state)))
                                log_info("Saved state of the light: %s", state_text);
                }
        }

        *ret = TAKE_PTR(l);
        return 0;
}

Led *led_free(Led *l)
{
        if (!l)
                return NULL;
        (void) led_save(l);
        led_gpio_free(l->gpio);
        led_pwm_free(l->pwm);
        led_class_free(l->class);
        led_config_done(&l->config);
        free(l->state_path);
        free(l);
        return NULL;
}

/* Shows want on the hardware; *actual is what it shows afterwards. */
static int led_write(Led *l, const LedState *want, LedState *actual)
{
        _cleanup_(freep) char *text = NULL;

        switch (l->config.backend) {
        case LED_BACKEND_NONE:
                /* Simulated: the state is what we keep. Say what a real light would show. */
                text = led_state_to_string(want);
                if (!text)
                        return -ENOMEM;
                log_info("LED (simulated): %s", text);
                *actual = *want;
                return 0;
        case LED_BACKEND_GPIO:
                return led_gpio_apply(l->gpio, want, &l->state, actual);
        case LED_BACKEND_PWM:
                return led_pwm_apply(l->pwm, want, &l->state, actual);
        case LED_BACKEND_LEDCLASS:
                return led_class_apply(l->class, want, &l->state, actual);
        default:
                return -EINVAL;
        }
}

bool led_needs_save(const Led *l)
{
        return l && l->state_path && l->state_dirty;
}

int led_save(Led *l)
{
        int r;

        if (!led_needs_save(l))
                return 0;
        r = led_state_save(l->state_path, &l->state);
        if (r < 0)
                return log_warning_errno(r, "Cannot save the light's state to %s: %m", l->state_path);
        l->state_dirty = false;
        return 0;
}

int led_apply(Led *l, const LedState *want, LedState *ret_actual)
{
        LedState actual;
        int r;

        if (!l || !want)
                return -EINVAL;

        actual = l->state;
        r = led_write(l, want, &actual);
        if (r < 0)
                return r;
        if (!led_state_equal(&actual, &l->state)) {
                l->state = actual;
                l->state_dirty = true;
        }
        if (ret_actual)
                *ret_actual = actual;
        if (r == 0 && !led_state_equal(&actual, want))
                r = LED_CODE_READBACK_DIFFERS;
        return r;
}

int led_restore(Led *l, LedState *ret_actual)
{
        _cleanup_(freep) char *text = NULL;
        LedState want = l->state, actual = l->state;
        int r;

        if (l->config.backend == LED_BACKEND_NONE) {
                /* Nothing to drive: the simulated light simply has the saved state. */
                if (ret_actual)
                        *ret_actual = l->state;
                return 0;
        }
        text = led_state_to_string(&want);
        if (!text)
                return -ENOMEM;
        r = led_write(l, &want, &actual);
        if (r < 0)
                return r;
        if (r == 0)
                log_info("The light shows its %s state through the %s backend: %s",
                        l->state_loaded ? "saved" : "initial", led_backend_to_string(l->config.backend),
                        text);
        else
                log_warning(
                        "Could not show the light's %s state (%s): device error %d; the next change tries "
                        "again",
                        l->state_loaded ? "saved" : "initial", text, r);
        /* The saved state stays what the user asked for: a restore that failed is retried by the next
         * change, and does not overwrite it. */
        l->state = actual;
        if (ret_actual)
                *ret_actual = actual;
        return r;
}

int led_stop(Led *l)
{
        LedState off, actual;
        int r;

        if (!l || l->config.on_exit != LED_ON_EXIT_OFF)
                return 0;

        off = l->state;
        off.on = false;
        actual = l->state;
        log_info("Switching the light off on exit (on_exit=off)");
        r = led_write(l, &off, &actual);
        if (r != 0)
                log_warning("Could not switch the light off on exit: %s %d",
                        r < 0 ? "error" : "device error", r);
        /* Not saved: the next start shows the state the user left, not the one we stopped with. */
        return r;
}

const LedState *led_get_state(const Led *l)
{
        return &l->state;
}
