/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aliLinkctl: control and inspect ali-linkd over D-Bus.
 *
 * A thin client: every verb is one or a few calls to org.alilinkd1 on the system bus. It never talks to
 * the cloud and never opens GPIO itself; "doctor" reads the configuration and local files, and takes
 * everything about the network from what the daemon observed on its own connection. Exit status: 0 on
 * success, 1 on failure, 2 on a usage error.
 *
 * This file holds the options, the verb table and main(); each verb group has a file of its own
 * (ctl-status.c: status, monitor; ctl-publish.c; ctl-led.c; ctl-ota.c; ctl-reload.c; ctl-doctor.c;
 * ctl-tsl.c), and
 * ctl-common.h what they share. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-bus.h>

#include "conf.h"
#include "ctl-common.h"
#include "log.h"
#include "string-util.h"

bool arg_json = false;
unsigned arg_qos = 0;
const char *arg_config = CONF_DEFAULT_PATH;
static bool arg_help = false;

/* --- dispatch --- */

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* positional arguments after the verb */
        bool needs_bus;         /* fail with the usual message when the bus is not there */
        int (*fn)(sd_bus *bus, int argc, char *argv[]);
        const char *usage, *help;
} Verb;

static const Verb verbs[] = {
        {"status", 0, 0, true, verb_status, "status [--json]",
                "Show the connection, endpoint, last error, counters, firmware and OTA state, and the LED."},
        {"publish", 2, 2, true, verb_publish, "publish TOPIC PAYLOAD [--qos 0|1]",
                "Publish PAYLOAD (\"-\" reads standard input) to one of this device's topics. TOPIC may be\n"
                "relative: user/data means /${pk}/${dn}/user/data, thing/event/... means "
                "/sys/${pk}/${dn}/thing/event/..."},
        {"led", 1, 2, true, verb_led, "led on|off|RRGGBB|R,G,B|brightness 0..100",
                "Set the light the way a cloud property set does: applied, read back, posted to the cloud.\n"
                "\"brightness N\" sets the brightness in percent and keeps the switch and the colour."},
        {"ota", 1, 1, true, verb_ota, "ota status|request",
                "Show the firmware version and OTA state, or ask the cloud for pending firmware."},
        {"devices", 0, 0, true, verb_devices, "devices [--json]",
                "List the devices the daemon serves, the gateway's own first, each with its state (online,\n"
                "offline, logging-in, disabled, parked)."},
        {"device", 1, 1, true, verb_device, "device PK/DN [--json]",
                "Show one device's state, object and last known values."},
        {"add", 2, 2, true, verb_add, "add PK/DN TSL_FILE",
                "Add a sub-device to the gateway, kept across restarts; its device secret is read from\n"
                "standard input (never give it on the command line)."},
        {"remove", 1, 2, true, verb_remove, "remove PK/DN [unbind]",
                "Log out and forget a sub-device added with add (or AddSubDevice); \"unbind\" also removes "
                "it\n"
                "from the gateway's topology."},
        {"get", 0, 100, true, verb_get, "get [ID...] [--json]",
                "Show the device's last known property values (all, or the identifiers given)."},
        {"set", 1, 100, true, verb_set, "set ID=VALUE...",
                "Set properties the way a cloud property set does: checked against the thing model, "
                "applied\n"
                "by the bindings, the light or the handler, then posted. VALUE is JSON (10, 2.5, "
                "{\"a\":1})\n"
                "or else a string."},
        {"post", 1, 1, true, verb_post, "post JSON",
                "Post property values (a JSON object) to the cloud, checked against the thing model."},
        {"event", 1, 2, true, verb_event, "event ID [JSON]",
                "Post event ID with its output (a JSON object), checked against the thing model."},
        {"call", 1, 2, true, verb_call, "call SERVICE [JSON]",
                "Call a service of the thing model through the local handler, as the cloud would, and "
                "print\n"
                "its output."},
        {"reload", 0, 0, true, verb_reload, "reload",
                "Reload /etc/ali-linkd.conf (as systemctl reload does)."},
        {"monitor", 0, 0, true, verb_monitor, "monitor [--json]",
                "Print one line per property change, cloud property set and forwarded message, until "
                "Ctrl-C."},
        {"doctor", 0, 0, false, verb_doctor, "doctor [--json] [--config FILE]",
                "Check the configuration, the secret's file, the clock, the daemon and its connection, the "
                "LED\n"
                "hardware and the free space for firmware, one line each with what to do. Exit 0 when none "
                "fails."},
        {"tsl", 2, 2, false, verb_tsl, "tsl check FILE",
                "Read a thing model (the TSL file the IoT Platform console exports) and print how many\n"
                "properties, services and events it has, or what is wrong with it. Needs no daemon."},
};

static const Verb *find_verb(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void help(const Verb *v)
{
        if (v) {
                printf("aliLinkctl %s\n\n%s\n", v->usage, v->help);
                return;
        }
        printf("aliLinkctl [OPTIONS...] COMMAND ...\n\n"
               "Control and inspect ali-linkd, the Alibaba Cloud IoT gateway daemon, over D-Bus.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-36s\n", verbs[i].usage);
        printf("\nOptions:\n"
               "  -h --help             Show this help (or a command's: aliLinkctl publish --help)\n"
               "     --version          Show the version\n"
               "     --json             Print JSON (status, ota status, monitor, doctor)\n"
               "     --qos 0|1          QoS of publish (default 0)\n"
               "  -c --config FILE      Configuration file for doctor (default %s)\n\n"
               "Exit status: 0 on success, 1 on failure, 2 on a usage error. See aliLinkctl(1).\n",
                CONF_DEFAULT_PATH);
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_QOS };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"json", no_argument, NULL, ARG_JSON},
                {"qos", required_argument, NULL, ARG_QOS},
                {"config", required_argument, NULL, 'c'},
                {},
        };
        uint64_t q;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        arg_help = true;
                        break;
                case ARG_VERSION:
                        printf("aliLinkctl (ali-linkd) %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_QOS:
                        if (safe_atou64_range(optarg, 0, 1, &q) < 0)
                                return usage_error("--qos must be 0 or 1, got \"%s\"", optarg);
                        arg_qos = (unsigned) q;
                        break;
                case 'c':
                        arg_config = optarg;
                        break;
                case '?':
                        return usage_error("unknown option %s", argv[optind - 1]);
                default:
                        return usage_error("option %s needs a value", argv[optind - 1]);
                }
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v;
        int n, r;

        log_set_prefix("aliLinkctl");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        if (r == EXIT_USAGE)
                return EXIT_USAGE;

        if (optind >= argc) {
                if (arg_help) {
                        help(NULL);
                        return EXIT_SUCCESS;
                }
                return usage_error("no command given");
        }
        v = find_verb(argv[optind]);
        if (!v)
                return usage_error("unknown command \"%s\"", argv[optind]);
        if (arg_help) {
                help(v);
                return EXIT_SUCCESS;
        }
        n = argc - optind - 1;
        if (n < v->min_args || n > v->max_args)
                return usage_error("usage: aliLinkctl %s", v->usage);

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                bus = NULL;
                if (v->needs_bus) {
                        fprintf(stderr, "ali-linkd is not running (cannot connect to the system bus: %s)\n",
                                strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        r = v->fn(bus, n + 1, argv + optind);
        if (r == EXIT_USAGE)
                return EXIT_USAGE;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
