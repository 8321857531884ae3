/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding-command.c: a property written by running a program.
 *
 * exec's words are the argv, the formatted value the last argument. The child gets exactly the
 * environment of the section's environment = (with a default PATH when that sets none), plus
 * ALI_LINKD_PROPERTY and ALI_LINKD_VALUE, and spawn.h's clean slate: stdin /dev/null, stdout to the
 * daemon's stderr (the journal under systemd), no other descriptors, its own process group. It is
 * watched with sd_event_add_child() (a pidfd where the kernel has them) and killed, with its group, when
 * the timeout passes. Exit 0 is 200 with the value as actual (a command cannot be read back); exit N is
 * BINDING_CODE_COMMAND_FAILED + N, death by a signal BINDING_CODE_COMMAND_FAILED + 256, the timeout
 * BINDING_CODE_TIMEOUT. One run at a time: a write while one runs is -EBUSY. */
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "binding-internal.h"
#include "log.h"
#include "macro.h"
#include "spawn.h"
#include "string-util.h"

typedef struct CommandState {
        pid_t pid;
        sd_event_source *child, *timer;
        bool timed_out;
        struct json_object *value; /* being written */
        BindingWriteDone done;
        void *userdata;
        bool warned; /* the program is missing, said once */
} CommandState;

static int command_open(Binding *b)
{
        CommandState *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        b->data = c;
        if (access(b->settings.exec[0], X_OK) < 0) {
                log_warning_errno(errno, "Property %s: %s cannot be run, each write tries again: %m",
                        b->identifier, b->settings.exec[0]);
                c->warned = true;
        }
        return 0;
}

static void command_stop(CommandState *c)
{
        c->timer = sd_event_source_disable_unref(c->timer);
        c->child = sd_event_source_disable_unref(c->child);
        c->pid = 0;
        c->value = NULL;
}

static void command_free(Binding *b)
{
        CommandState *c = b->data;

        if (!c)
                return;
        if (c->pid > 0) {
                /* The whole group; sd-event kills the child itself too and reaps it (process_own). */
                (void) kill(-c->pid, SIGKILL);
                json_object_put(c->value);
        }
        command_stop(c);
        free(c);
        b->data = NULL;
}

static int on_child(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Binding *b = userdata;
        CommandState *c = b->data;
        struct json_object *value = c->value;
        BindingWriteDone done = c->done;
        void *done_userdata = c->userdata;
        int code;

        if (c->timed_out) {
                log_warning("Property %s: %s (pid %d) did not finish within %" PRIu64 " ms and was killed",
                        b->identifier, b->settings.exec[0], (int) c->pid,
                        b->settings.timeout_usec / USEC_PER_MSEC);
                code = BINDING_CODE_TIMEOUT;
        } else if (si->si_code == CLD_EXITED && si->si_status == 0)
                code = 200;
        else if (si->si_code == CLD_EXITED) {
                log_warning("Property %s: %s exited with status %d", b->identifier, b->settings.exec[0],
                        si->si_status);
                code = BINDING_CODE_COMMAND_FAILED + (si->si_status & 0xff);
        } else {
                log_warning("Property %s: %s was killed by signal %s", b->identifier, b->settings.exec[0],
                        strsignal(si->si_status));
                code = BINDING_CODE_COMMAND_FAILED + 256;
        }
        command_stop(c);
        binding_complete(b, done, done_userdata, code, code == 200 ? value : NULL);
        json_object_put(value);
        return 0;
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Binding *b = userdata;
        CommandState *c = b->data;

        /* on_child() answers once the child is gone. */
        c->timed_out = true;
        (void) kill(-c->pid, SIGKILL);
        (void) kill(c->pid, SIGKILL);
        return 0;
}

static int command_start(Binding *b, struct json_object *value, BindingWriteDone done, void *userdata)
{
        CommandState *c = b->data;
        _cleanup_(freep) char *text = NULL, *e_property = NULL, *e_value = NULL;
        _cleanup_(freep) char **argv = NULL, **envp = NULL;
        size_t n_args = strv_length(b->settings.exec), n_env = strv_length(b->settings.environment), k = 0;
        bool has_path = false;
        int r;

        if (c->pid > 0)
                return -EBUSY;
        if (access(b->settings.exec[0], X_OK) < 0) {
                /* Answered like missing hardware: from the defer source, through a synchronous answer. */
                if (!c->warned)
                        log_warning_errno(errno, "Property %s: %s cannot be run: %m", b->identifier,
                                b->settings.exec[0]);
                c->warned = true;
                return BINDING_CODE_UNAVAILABLE;
        }
        if (c->warned)
                log_info("Property %s: %s can be run now", b->identifier, b->settings.exec[0]);
        c->warned = false;

        r = binding_value_format(&b->type, value, &text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -EINVAL;
        if (asprintf(&e_property, "ALI_LINKD_PROPERTY=%s", b->identifier) < 0 ||
                asprintf(&e_value, "ALI_LINKD_VALUE=%s", text) < 0)
                return -ENOMEM;

        argv = calloc(n_args + 2, sizeof(char *));
        envp = calloc(n_env + 4, sizeof(char *));
        if (!argv || !envp)
                return -ENOMEM;
        for (size_t i = 0; i < n_args; i++)
                argv[i] = b->settings.exec[i];
        argv[n_args] = text;
        for (size_t i = 0; i < n_env; i++) {
                envp[k++] = b->settings.environment[i];
                has_path = has_path || strncmp(b->settings.environment[i], "PATH=", 5) == 0;
        }
        if (!has_path)
                envp[k++] = (char *) SPAWN_DEFAULT_PATH;
        envp[k++] = e_property;
        envp[k++] = e_value;

        r = spawn_child(argv, envp, /* stdout_fd= */ -1, &c->pid);
        if (r < 0)
                return log_warning_errno(r, "Property %s: cannot start %s: %m", b->identifier, argv[0]);
        log_debug("Property %s: running %s (pid %d) with %s", b->identifier, argv[0], (int) c->pid, text);
        r = sd_event_add_child(b->event, &c->child, c->pid, WEXITED, on_child, b);
        if (r >= 0) {
                (void) sd_event_source_set_description(c->child, "binding-command");
                r = sd_event_source_set_child_process_own(c->child, true);
        }
        if (r >= 0)
                r = sd_event_add_time_relative(
                        b->event, &c->timer, CLOCK_MONOTONIC, b->settings.timeout_usec, 0, on_timeout, b);
        if (r < 0) {
                log_error_errno(r, "Property %s: cannot watch %s (pid %d): %m", b->identifier, argv[0],
                        (int) c->pid);
                (void) kill(-c->pid, SIGKILL);
                if (!c->child)
                        (void) waitpid(c->pid, NULL, 0); /* SIGKILL: at once */
                command_stop(c);
                return r;
        }
        (void) sd_event_source_set_description(c->timer, "binding-command-timeout");
        c->timed_out = false;
        c->value = json_object_get(value);
        c->done = done;
        c->userdata = userdata;
        return 0;
}

static int command_read(Binding *b, struct json_object **ret)
{
        return -ENODATA;
}

const BindingOps binding_command_ops = {
        .open = command_open,
        .free = command_free,
        .start = command_start,
        .read = command_read,
};
