/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-publish.c: aliLinkctl publish: a message to one of this device's topics, through the daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-names.h"
#include "ctl-common.h"
#include "string-util.h"

/* "user/data" → "/pk/dn/user/data", "thing/event/x/post" → "/sys/pk/dn/thing/event/x/post". */
static int expand_topic(sd_bus *bus, const char *topic, char **ret)
{
        _cleanup_(status_done) Status s = {};
        int r;

        if (topic[0] == '/')
                return (*ret = strdup(topic)) ? 0 : -ENOMEM;
        r = get_status(bus, &s);
        if (r < 0)
                return r;
        if (isempty(s.v[PROP_PRODUCT_KEY].s) || isempty(s.v[PROP_DEVICE_NAME].s)) {
                fprintf(stderr, "The daemon is not configured: give the full topic\n");
                return -ENXIO;
        }
        if (strncmp(topic, "thing/", 6) == 0)
                r = asprintf(ret, "/sys/%s/%s/%s", s.v[PROP_PRODUCT_KEY].s, s.v[PROP_DEVICE_NAME].s, topic);
        else
                r = asprintf(ret, "/%s/%s/%s", s.v[PROP_PRODUCT_KEY].s, s.v[PROP_DEVICE_NAME].s, topic);
        return r < 0 ? -ENOMEM : 0;
}

static int read_stdin(char **ret)
{
        size_t size = 0, n = 0;
        char *buf = NULL;

        for (;;) {
                size_t k;
                if (n + 4096 + 1 > size) {
                        char *t;
                        size = n + 65536;
                        t = realloc(buf, size);
                        if (!t) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = t;
                }
                k = fread(buf + n, 1, size - n - 1, stdin);
                n += k;
                if (n > ALI_BUS_MAX_PAYLOAD) {
                        free(buf);
                        fprintf(stderr, "The payload on standard input exceeds %u bytes\n",
                                ALI_BUS_MAX_PAYLOAD);
                        return -EMSGSIZE;
                }
                if (k == 0)
                        break;
        }
        if (ferror(stdin)) {
                free(buf);
                return -EIO;
        }
        buf[n] = 0;
        if (strlen(buf) != n) {
                free(buf);
                fprintf(stderr, "The payload on standard input contains NUL bytes\n");
                return -EINVAL;
        }
        *ret = buf;
        return 0;
}

int verb_publish(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(freep) char *topic = NULL, *input = NULL;
        const char *payload = argv[2];
        int r;

        (void) argc;
        r = expand_topic(bus, argv[1], &topic);
        if (r < 0)
                return r;
        if (streq(payload, "-")) {
                r = read_stdin(&input);
                if (r < 0)
                        return r;
                payload = input;
        }
        r = call(bus, "Cannot publish", "Publish", NULL, "ssu", topic, payload, (uint32_t) arg_qos);
        if (r < 0)
                return r;
        if (!arg_json)
                printf("Published %zu bytes to %s (QoS %u)\n", strlen(payload), topic, arg_qos);
        return 0;
}
