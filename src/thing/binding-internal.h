/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding-internal.h: what binding.c shares with the files of each kind (binding-gpio.c, binding-pwm.c,
 * binding-led.c, binding-file.c, binding-command.c): the settings of a [binding.IDENTIFIER] section, the
 * Binding itself, and the table of operations each kind fills in (libgpiod's lib/internal.h is the model).
 *
 * binding.c parses and checks the settings, owns the Binding and its event sources, and turns a kind's
 * synchronous answer into a deferred call of done; the kinds only touch their hardware. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "binding.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(struct json_object *, json_object_put);

#define BINDING_DEFAULT_GPIO_CHIP "gpiochip0"
#define BINDING_DEFAULT_PWM_CHIP "pwmchip0"
#define BINDING_DEFAULT_PERIOD_NS 1000000
#define BINDING_DEFAULT_SYSFS_ROOT "/sys"
#define BINDING_DEFAULT_TIMEOUT_USEC (5 * USEC_PER_SEC)
#define BINDING_CONSUMER "ali-linkd"

typedef enum BindingEdge {
        BINDING_EDGE_BOTH,
        BINDING_EDGE_RISING,
        BINDING_EDGE_FALLING,
        _BINDING_EDGE_MAX,
        _BINDING_EDGE_INVALID = -EINVAL,
} BindingEdge;

typedef enum BindingBias {
        BINDING_BIAS_AS_IS,
        BINDING_BIAS_DISABLED,
        BINDING_BIAS_PULL_UP,
        BINDING_BIAS_PULL_DOWN,
        _BINDING_BIAS_MAX,
        _BINDING_BIAS_INVALID = -EINVAL,
} BindingBias;

/* The keys of a section, in binding.c's table order: bit i of BindingSettings.set is key i. */
typedef struct BindingSettings {
        uint64_t set; /* which keys were given */

        /* gpio */
        bool input;
        char *chip; /* gpio: a chip name, path or label; pwm: pwmchipN */
        char *line;
        bool active_low;
        BindingEdge edge;
        BindingBias bias;
        uint64_t debounce_usec;
        char *event; /* gpio input: an event posted with each change, besides the property */
        /* pwm */
        uint64_t channel;
        uint64_t period_ns;
        /* led */
        char *led;
        /* pwm, led */
        char *sysfs_root;
        /* file */
        char *path;
        bool create;
        bool readback;
        uint64_t interval_usec;
        double scale, offset;
        /* command */
        char **exec;
        char **environment;
        uint64_t timeout_usec;
} BindingSettings;

typedef struct BindingOps {
        /* Makes b->data. Missing hardware is not an error: logged once, then each write tries again. */
        int (*open)(Binding *b);
        void (*free)(Binding *b);
        /* A synchronous write: returns 200 or a BINDING_CODE_* (or -ENOMEM), *ret_actual a new reference or
         * NULL. binding.c calls done later, from a defer source. */
        int (*write)(Binding *b, struct json_object *value, struct json_object **ret_actual);
        /* An asynchronous write (command): 0 and binding_complete() later; a BINDING_CODE_* to answer at
         * once (from the defer source); or a negative errno. */
        int (*start)(Binding *b, struct json_object *value, BindingWriteDone done, void *userdata);
        int (*read)(Binding *b, struct json_object **ret);
} BindingOps;

struct Binding {
        sd_event *event;
        char *identifier;
        BindingKind kind;
        BindingSettings settings; /* a copy of the configuration's */
        BindingType type;
        BindingHost host;
        const BindingOps *ops;
        void *data; /* the kind's state */

        /* Synchronous answers waiting for the defer source. */
        struct BindingCompletion *completions, *completions_tail;
        sd_event_source *defer_source;
};

extern const BindingOps binding_gpio_output_ops, binding_gpio_input_ops, binding_pwm_ops, binding_led_ops,
        binding_file_ops, binding_command_ops;

/* An asynchronous write is over: calls done (from an event callback, never from binding_write()). */
void binding_complete(
        Binding *b, BindingWriteDone done, void *userdata, int code, struct json_object *actual);
/* Reports a new value to the host. */
void binding_value_changed(Binding *b, struct json_object *value);

/* The value as text for a file or a command: int, bool and enum as the decimal integer, float and double
 * as the shortest text that reads back as the same double, text and date as they are, struct and array as
 * JSON. 0 or -ENOMEM, -EINVAL for a value that is not of the type. */
int binding_value_format(const BindingType *type, struct json_object *value, char **ret);
/* Text read back from a file as a value of the type (leading and trailing blanks ignored for numbers).
 * -EBADMSG when it is not one. */
int binding_value_parse(const BindingType *type, const char *s, struct json_object **ret);
/* A number as a value of the type: int, bool, enum rounded to the nearest integer (-ERANGE beyond int32);
 * float and double as they are. */
int binding_value_from_double(const BindingType *type, double x, struct json_object **ret);
/* A numeric value (int, bool, enum, float, double) as a double; -EINVAL for any other. */
int binding_value_to_double(struct json_object *value, double *ret);
/* The number the value means on min..max, as a fraction 0..1 (clamped). */
double binding_range_fraction(const BindingType *type, double v);
/* x >= 0 rounded half up to an integer, without libm. */
uint64_t binding_round_u64(double x);

const char *binding_edge_to_string(BindingEdge e);
BindingEdge binding_edge_from_string(const char *s);
const char *binding_bias_to_string(BindingBias b);
BindingBias binding_bias_from_string(const char *s);
