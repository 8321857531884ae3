/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding-file.c: a property as a file, such as a sysfs attribute.
 *
 * Written: the formatted value in one write(2) (O_TRUNC, so a plain file holds just the value; no O_CREAT
 * unless create = yes), then read back and compared unless readback = no. Read-only: sampled every
 * interval, the first line as a number, times scale plus offset; reported when the value changes (the
 * first good sample too). The file is opened for each access, like sysfs-util.h does, so one that comes
 * and goes (a hot-plugged sensor) is found again. */
#include <fcntl.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binding-internal.h"
#include "event-util.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"
#include "sysfs-util.h"

typedef struct FileState {
        sd_event_source *timer;   /* sampling, read-only properties only */
        struct json_object *last; /* the last value reported */
        bool failing;             /* the last sample failed (logged once until one succeeds) */
} FileState;

static bool sampled(const Binding *b)
{
        return !b->type.writable;
}

/* One sample: the first line as a number, scaled; text as it is. 0, or a negative errno (-EBADMSG: not
 * a number). */
static int file_sample(Binding *b, struct json_object **ret)
{
        _cleanup_(freep) char *content = NULL;
        double raw;
        int r;

        r = sysfs_read(b->settings.path, &content);
        if (r < 0)
                return r;
        content[strcspn(content, "\n")] = 0;
        if (b->type.kind == TSL_TYPE_TEXT || b->type.kind == TSL_TYPE_DATE)
                return binding_value_parse(&b->type, content, ret);
        if (safe_atod(content + strspn(content, " \t"), &raw) < 0)
                return -EBADMSG;
        r = binding_value_from_double(&b->type, raw * b->settings.scale + b->settings.offset, ret);
        return r == -ERANGE ? -EBADMSG : r;
}

static int on_sample(sd_event_source *s, uint64_t usec, void *userdata)
{
        Binding *b = userdata;
        FileState *f = b->data;
        _cleanup_(json_object_putp) struct json_object *v = NULL;
        int r;

        r = event_timer_arm_relative(s, b->settings.interval_usec);
        if (r < 0)
                log_error_errno(r, "Cannot arm the sampling timer of %s: %m", b->identifier);
        r = file_sample(b, &v);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0) {
                if (!f->failing)
                        log_warning_errno(r, "Property %s: cannot sample %s%s: %m", b->identifier,
                                b->settings.path, r == -EBADMSG ? " (not a number)" : "");
                f->failing = true;
                return 0;
        }
        if (f->failing)
                log_info("Property %s: sampling %s again", b->identifier, b->settings.path);
        f->failing = false;
        if (f->last && json_object_equal(f->last, v))
                return 0;
        json_object_put(f->last);
        f->last = json_object_get(v);
        binding_value_changed(b, v);
        return 0;
}

static int file_open(Binding *b)
{
        FileState *f;
        struct stat st;
        int r;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        b->data = f;
        if (stat(b->settings.path, &st) < 0 && !(errno == ENOENT && b->settings.create))
                log_warning_errno(errno, "Property %s: file %s is not available, %s: %m", b->identifier,
                        b->settings.path, sampled(b) ? "sampling goes on" : "each write tries again");
        if (!sampled(b))
                return 0;
        r = sd_event_add_time_relative(
                b->event, &f->timer, CLOCK_MONOTONIC, b->settings.interval_usec, 0, on_sample, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(f->timer, "binding-sample");
        return 0;
}

static void file_free(Binding *b)
{
        FileState *f = b->data;

        if (!f)
                return;
        sd_event_source_disable_unref(f->timer);
        json_object_put(f->last);
        free(f);
        b->data = NULL;
}

static bool values_equal(const BindingType *type, struct json_object *a, struct json_object *b)
{
        double x, y;

        if (binding_value_to_double(a, &x) >= 0 && binding_value_to_double(b, &y) >= 0)
                return x == y;
        return json_object_equal(a, b);
}

static int file_write(Binding *b, struct json_object *value, struct json_object **ret_actual)
{
        const char *path = b->settings.path;
        _cleanup_(freep) char *text = NULL, *back = NULL;
        _cleanup_(closep) int fd = -1;
        _cleanup_(json_object_putp) struct json_object *got = NULL;
        size_t len;
        ssize_t n;
        int r;

        *ret_actual = NULL;
        r = binding_value_format(&b->type, value, &text);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning("Property %s: the value does not fit the property's type", b->identifier);
                return BINDING_CODE_WRITE_FAILED;
        }
        fd = open(
                path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY | (b->settings.create ? O_CREAT : 0), 0644);
        if (fd < 0) {
                r = errno;
                if (r == ENOENT) {
                        log_debug_errno(r, "Property %s: cannot open %s: %m", b->identifier, path);
                        return BINDING_CODE_UNAVAILABLE;
                }
                log_warning_errno(r, "Property %s: cannot open %s for writing: %m", b->identifier, path);
                return BINDING_CODE_WRITE_FAILED;
        }
        /* Like a sysfs attribute: the whole value in one write; a short write means the rest was refused. */
        len = strlen(text);
        n = write(fd, text, len);
        if (n < 0 || (size_t) n != len) {
                log_warning_errno(n < 0 ? errno : EIO, "Property %s: cannot write \"%s\" to %s: %m",
                        b->identifier, text, path);
                return BINDING_CODE_WRITE_FAILED;
        }
        if (close(TAKE_FD(fd)) < 0) {
                log_warning_errno(
                        errno, "Property %s: writing \"%s\" to %s failed: %m", b->identifier, text, path);
                return BINDING_CODE_WRITE_FAILED;
        }
        log_debug("Property %s: %s = %s", b->identifier, path, text);

        if (!b->settings.readback) {
                *ret_actual = json_object_get(value);
                return 200;
        }
        r = sysfs_read(path, &back);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Property %s: cannot read back %s: %m", b->identifier, path);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        r = binding_value_parse(&b->type, back, &got);
        if (r == -ENOMEM)
                return r;
        if (r < 0 || !values_equal(&b->type, got, value)) {
                log_warning("Property %s: %s reads back \"%s\" instead of \"%s\"", b->identifier, path, back,
                        text);
                *ret_actual = TAKE_PTR(got);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        *ret_actual = TAKE_PTR(got);
        return 200;
}

static int file_read(Binding *b, struct json_object **ret)
{
        _cleanup_(freep) char *content = NULL;
        int r;

        if (sampled(b))
                r = file_sample(b, ret);
        else {
                r = sysfs_read(b->settings.path, &content);
                if (r >= 0)
                        r = binding_value_parse(&b->type, content, ret);
        }
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_debug_errno(r, "Property %s: cannot read %s: %m", b->identifier, b->settings.path);
                return -ENODATA;
        }
        return 0;
}

const BindingOps binding_file_ops = {
        .open = file_open,
        .free = file_free,
        .write = file_write,
        .read = file_read,
};
