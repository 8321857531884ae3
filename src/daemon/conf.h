/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conf.h: /etc/ali-linkd.conf (+ /etc/ali-linkd.conf.d/NAME.conf), parsed into one Conf object.
 *
 * Owns the parsed configuration and the device secret read from wherever it lives (device_secret,
 * device_secret_file, or the systemd credential "device-secret" in $CREDENTIALS_DIRECTORY). Parsing never
 * stops at the first problem: every problem is logged as "file:line: message" (or "file: message" when no
 * line is to blame), then conf_load() says whether the result is usable. Unknown sections and keys warn.
 * A Conf is immutable once loaded: reload builds a fresh one and swaps it in (the Manager does that). The
 * secret is wiped when the Conf is freed, and this module never logs it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "binding.h"
#include "led-model.h"
#include "macro.h"

#define CONF_DEFAULT_PATH SYSCONFDIR "/ali-linkd.conf"
#define CONF_DEFAULT_STATE_DIRECTORY LOCALSTATEDIR "/lib/ali-linkd"
#define CONF_DEFAULT_CA_PATH "/etc/ssl/certs"
#define CONF_DEFAULT_REGION "cn-shanghai"
#define CONF_SECRET_CREDENTIAL "device-secret"
#define CONF_DEFAULT_OTA_VERSION_FILE SYSCONFDIR "/ali-linkd/firmware-version"

/* Expected outcomes of conf_load(); negative errno means the load itself failed (out of memory). */
enum {
        CONF_E_INVALID = 1,      /* problems were logged: the file cannot be used */
        CONF_E_UNCONFIGURED = 2, /* valid, but the device triple is not set yet */
};

typedef enum SecretSource {
        SECRET_NONE,
        SECRET_INLINE,     /* device_secret= in the config */
        SECRET_FILE,       /* device_secret_file= */
        SECRET_CREDENTIAL, /* $CREDENTIALS_DIRECTORY/device-secret */
} SecretSource;

/* A [subdevice.NAME] section: a sub-device the gateway binds and logs in (its own identity and thing model),
 * with its [subdevice.NAME.binding.IDENTIFIER] sections. */
typedef struct SubdeviceConf {
        char *name;
        char *product_key, *device_name;
        char *device_secret; /* resolved: the credential subdevice-NAME, device_secret_file or inline; wiped
                              */
        char *inline_secret, *device_secret_file;
        char *tsl_path;
        struct Tsl *tsl;
        BindingConfig *bindings;
        size_t n_bindings;
} SubdeviceConf;

typedef struct Conf {
        char *path;

        /* [device] */
        char *product_key;
        char *device_name;
        char *device_secret; /* resolved secret, whatever its source; wiped on free */
        char *device_secret_file;
        char *region;
        char *instance_id;
        SecretSource secret_source;
        char *tsl_path;                /* [device] tsl: NULL for the RGB light's, built in */
        struct Tsl *tsl;               /* the thing model, loaded */
        uint64_t handler_timeout_usec; /* [device] handler_timeout: how long a local handler may take */
        bool gateway;                  /* [device] gateway: serve sub-devices (also added over D-Bus) */
        /* [binding.IDENTIFIER] sections: properties bound to hardware (binding.h), checked against tsl. */
        BindingConfig *bindings;
        size_t n_bindings;
        SubdeviceConf *subdevices; /* [subdevice.NAME] sections */
        size_t n_subdevices;

        /* [mqtt] */
        char *host; /* resolved: configured or derived from instance_id / product_key + region */
        uint16_t port;
        char *ca_file;
        char *ca_path;
        unsigned keepalive;
        bool clean_session;
        char **user_topics; /* names under /${pk}/${dn}/user/ to subscribe */

        /* [daemon] */
        int log_level;
        char *state_directory;

        /* [outbox] */
        unsigned outbox_max_messages;
        unsigned outbox_max_bytes;
        unsigned outbox_max_rate;

        /* [bus] */
        char **bus_forward_topics; /* user topic names whose messages become D-Bus Message signals */

        /* [led] */
        LedModel led_model;
        LedConfig led;

        /* [ota] */
        struct {
                char *version_file; /* default CONF_DEFAULT_OTA_VERSION_FILE unless version_command is set */
                char *version_command; /* absolute path and arguments, split at blanks, no shell */
                char *installer;       /* NULL: pushes are refused (unless install_unit is set) */
                char *install_unit;    /* "ali-linkd-install": hand images to <unit>@ID.service over D-Bus */
                char *download_dir;    /* default: state_directory */
                char *ca_file;         /* NULL: the system trust store */
                bool allow_http;
                uint64_t max_size;
                unsigned installer_timeout; /* seconds */
                uint16_t connect_timeout;   /* seconds */
                uint16_t stall_timeout;     /* seconds under 1 KiB/s before a transfer is abandoned */
                bool applies_diff;          /* delta packages (isDiff) go to the installer */
                uint16_t cloud_timeout;     /* seconds to wait for the cloud's firmware/get reply */
        } ota;

        /* Bookkeeping for the secret as configured (before resolution), to tell sources apart. */
        char *inline_secret;
        unsigned line_inline_secret, line_secret_file;
} Conf;

/* Loads path (NULL = CONF_DEFAULT_PATH) and its drop-in directory. Logs every problem. Returns 0 with *ret
 * set, CONF_E_UNCONFIGURED with *ret set (usable for an idle daemon), CONF_E_INVALID with *ret unset, or a
 * negative errno. */
int conf_load(const char *path, Conf **ret);
Conf *conf_free(Conf *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Conf *, conf_free);

/* True when the settings that shape the MQTT connection differ (a reload must reconnect). */
bool conf_connection_changed(const Conf *a, const Conf *b);
