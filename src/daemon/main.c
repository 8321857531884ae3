/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* main.c: ali-linkd, the Alibaba Cloud IoT gateway daemon. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>

#include "conf.h"
#include "log.h"
#include "manager.h"

static const char *arg_config = CONF_DEFAULT_PATH;
static bool arg_check_config = false;

static void help(void)
{
        printf("%s [OPTIONS...]\n\n"
               "Keeps one MQTT-over-TLS session to Alibaba Cloud IoT Platform and bridges the board's\n"
               "RGB light and firmware updates to it.\n\n"
               "  -h --help            Show this help\n"
               "     --version         Show the version\n"
               "  -c --config=FILE     Read FILE instead of %s\n"
               "     --check-config    Check the configuration, print every problem, and exit\n\n"
               "See ali-linkd(8) and ali-linkd.conf(5).\n",
                program_invocation_short_name, CONF_DEFAULT_PATH);
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_VERSION = 0x100, ARG_CHECK_CONFIG };
        static const struct option options[] = {
                {"help", no_argument, NULL, 'h'},
                {"version", no_argument, NULL, ARG_VERSION},
                {"config", required_argument, NULL, 'c'},
                {"check-config", no_argument, NULL, ARG_CHECK_CONFIG},
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("ali-linkd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'c':
                        arg_config = optarg;
                        break;
                case ARG_CHECK_CONFIG:
                        arg_check_config = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("%s takes no arguments; see --help", program_invocation_short_name);
                return -EINVAL;
        }
        return 1;
}

static int check_config(void)
{
        _cleanup_(conf_freep) Conf *c = NULL;
        int r;

        r = conf_load(arg_config, &c);
        if (r < 0)
                return log_error_errno(r, "Cannot load %s: %m", arg_config);
        if (r == CONF_E_INVALID)
                return -EINVAL;
        if (r == CONF_E_UNCONFIGURED) {
                log_error("%s: the device is not configured yet", arg_config);
                return -EINVAL;
        }
        printf("%s: OK (device %s/%s, endpoint %s:%u)\n", arg_config, c->product_key, c->device_name,
                c->host, c->port);
        return 0;
}

static int run(int argc, char *argv[])
{
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r;
        if (arg_check_config)
                return check_config();

        /* A peer that closes its end must not kill the daemon: writes to it fail with EPIPE instead
         * (OpenSSL writes to the MQTT socket without MSG_NOSIGNAL; systemd's IgnoreSIGPIPE= would cover
         * this under a unit, but not when run by hand or in tests). Children get the default back (spawn.c).
         */
        if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
                return log_error_errno(errno, "Cannot ignore SIGPIPE: %m");

        /* Signals arrive through sd-event (signalfd): block them first. SIGCHLD too: the OTA installer hook
         * and version command are watched with sd_event_add_child(). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Cannot block signals: %m");

        r = manager_new(&m, arg_config);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the daemon: %m");
        r = manager_start(m);
        if (r < 0)
                return r;
        r = manager_run(m);
        (void) sd_notify(false, "STOPPING=1");
        return r;
}

int main(int argc, char *argv[])
{
        int r = run(argc, argv);

        log_flush();
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
