/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding.h: one thing-model property bound to the board's hardware, declared in the configuration, so that
 * a simple board needs no code of its own.
 *
 * Kinds: gpio output (a line set from a bool, an enum or 0..1, read back), gpio input (edge events from
 * libgpiod on the event loop, debounced, reported as a new value), pwm (a number mapped onto the duty cycle
 * over the property's min..max), led (LED class brightness), file (the formatted value written to a file
 * such as a sysfs attribute, read back; or, for a read-only property, sampled at an interval with scale and
 * offset and reported when it changes), command (a program run with the value: explicit environment,
 * timeout, exit status mapped to a device code). The RGB light is not a binding here: it is src/light,
 * bound by [led].
 *
 * Values are json-c objects of the property's TSL type, already checked against the thing model by the
 * caller (tsl.h). Everything runs on the caller's sd-event loop; nothing blocks on it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "tsl.h"

struct json_object;

/* Device-defined reply codes of bindings (the range is 100000-110000,
 * https://www.alibabacloud.com/help/doc-detail/89309.html); 100001-100003 mean what they mean for the
 * light (led-model.h). */
enum {
        BINDING_CODE_WRITE_FAILED = 100001,     /* the hardware (or file) could not be written */
        BINDING_CODE_READBACK_DIFFERS = 100002, /* written, but reading back gave another value */
        BINDING_CODE_UNAVAILABLE = 100003,      /* the hardware could not be opened */
        BINDING_CODE_TIMEOUT = 100006,          /* a command did not finish within its timeout */
        BINDING_CODE_COMMAND_FAILED = 100100,   /* + the exit status (1..255) of a command; 100356: killed */
};

typedef enum BindingKind {
        BINDING_GPIO_OUTPUT,
        BINDING_GPIO_INPUT,
        BINDING_PWM,
        BINDING_LED,
        BINDING_FILE,
        BINDING_COMMAND,
        _BINDING_KIND_MAX,
        _BINDING_KIND_INVALID = -22,
} BindingKind;

/* One [binding.IDENTIFIER] section of the configuration. */
typedef struct BindingConfig {
        char *identifier; /* the property (the section name after "binding.") */
        BindingKind kind; /* type = gpio | pwm | led | file | command (gpio: direction picks in or out) */
        /* ... the kind's settings, owned by binding.c ... */
        void *settings;
} BindingConfig;

/* The property's type, from the TSL (the caller fills it; the binding does not see the model). */
typedef struct BindingType {
        TslTypeKind kind;
        bool has_range;
        double min, max;
        bool writable;
} BindingType;

/* The type of property p, from the thing model, as a binding sees it. */
void binding_type_from_property(const TslProperty *p, BindingType *ret);

typedef struct Binding Binding;

typedef struct BindingHost {
        /* An input or a sampled file has a new value. value is borrowed: take a reference to keep it. */
        void (*value_changed)(Binding *b, struct json_object *value, void *userdata);
        void *userdata;
} BindingHost;

/* Parses one key of a [binding.IDENTIFIER] section into c (allocating c->settings as needed): 0, or
 * -EINVAL with *ret_error ("line = x: not a line offset or name"), or -ENOMEM. Unknown keys are -ENOKEY. */
int binding_config_set(BindingConfig *c, const char *key, const char *value, char **ret_error);
/* Once all keys are in: the settings are complete and consistent. 0 or -EINVAL with *ret_error. */
int binding_config_verify(const BindingConfig *c, char **ret_error);
/* Against the property's type: a gpio output needs bool, enum or int 0..1; pwm a number with a range; an
 * input or a sampled file a property the device reports; a write binding a writable property. */
int binding_config_check_type(const BindingConfig *c, const BindingType *type, char **ret_error);
bool binding_config_equal(const BindingConfig *a, const BindingConfig *b);
void binding_config_done(BindingConfig *c);

/* Opens the hardware. A binding whose hardware is missing is still made: it is logged, and each write
 * tries again (BINDING_CODE_UNAVAILABLE until then). */
int binding_new(Binding **ret, sd_event *e, const BindingConfig *c, const BindingType *type,
        const BindingHost *host);
Binding *binding_free(Binding *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Binding *, binding_free);

const char *binding_identifier(const Binding *b);
/* A gpio input's event = EVENT: the event posted with each change (its output {IDENTIFIER: value}), or NULL.
 */
const char *binding_event(const Binding *b);
const char *binding_config_event(const BindingConfig *c);
bool binding_can_write(const Binding *b);

/* A write finished: code is 200 or a BINDING_CODE_*; actual is what reading back gave (borrowed; NULL when
 * nothing could be read). */
typedef void (*BindingWriteDone)(Binding *b, int code, struct json_object *actual, void *userdata);

/* Writes value (checked by the caller against the TSL). done is called exactly once, never from within
 * this call. Returns 0, or -EBUSY while a write is still running (command), or -EOPNOTSUPP for a binding
 * that cannot be written. */
int binding_write(Binding *b, struct json_object *value, BindingWriteDone done, void *userdata);
/* The value as the hardware has it now, as a new reference; -ENODATA when it cannot be read. */
int binding_read(Binding *b, struct json_object **ret);

const char *binding_kind_to_string(BindingKind k);
