/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-status.c: aliLinkctl status and monitor: the daemon's properties, once or as they change. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-event.h>

#include "bus-names.h"
#include "ctl-common.h"
#include "string-util.h"

int verb_status(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(status_done) Status s = {};
        const PropertyValue *v = s.v;
        char b1[64], b2[64], t1[64], t2[64];
        int r;

        (void) argc;
        (void) argv;
        r = get_status(bus, &s);
        if (r < 0)
                return r;
        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = status_to_json(&s);
                print_json(o);
                return 0;
        }

        if (v[PROP_CONNECTED].b)
                printf("ali-linkd: connected to %s since %s (%s)\n", status_string(&s, PROP_ENDPOINT),
                        format_time(t1, sizeof(t1), v[PROP_CONNECTED_SINCE].t),
                        format_ago(t2, sizeof(t2), v[PROP_CONNECTED_SINCE].t));
        else
                printf("ali-linkd: %s%s%s\n", status_string(&s, PROP_STATE),
                        isempty(v[PROP_ENDPOINT].s) ? "" : ", endpoint ", status_string(&s, PROP_ENDPOINT));
        printf("      Device: %s/%s\n",
                isempty(v[PROP_PRODUCT_KEY].s) ? "(not configured)" : v[PROP_PRODUCT_KEY].s,
                status_string(&s, PROP_DEVICE_NAME));
        printf("  Last error: %s\n", isempty(v[PROP_LAST_ERROR].s) ? "none" : v[PROP_LAST_ERROR].s);
        printf("     Traffic: sent %" PRIu64 " messages (%s), received %" PRIu64 " (%s); %u reconnect%s\n",
                v[PROP_MESSAGES_SENT].t, format_bytes(b1, sizeof(b1), v[PROP_BYTES_SENT].t),
                v[PROP_MESSAGES_RECEIVED].t, format_bytes(b2, sizeof(b2), v[PROP_BYTES_RECEIVED].t),
                v[PROP_RECONNECTS].u, v[PROP_RECONNECTS].u == 1 ? "" : "s");
        printf("      Outbox: %u message%s waiting for the cloud\n", v[PROP_OUTBOX_DEPTH].u,
                v[PROP_OUTBOX_DEPTH].u == 1 ? "" : "s");
        printf("    Firmware: %s; OTA %s",
                isempty(v[PROP_FIRMWARE_VERSION].s) ? "unknown version" : v[PROP_FIRMWARE_VERSION].s,
                status_string(&s, PROP_OTA_STATE));
        if (v[PROP_OTA_PROGRESS].i != 0)
                printf(" (%d)", v[PROP_OTA_PROGRESS].i);
        printf("\n         LED: %s, brightness %u%%\n", property_to_text(&s, PROP_LED, b1, sizeof(b1)),
                v[PROP_BRIGHTNESS].y);
        if (v[PROP_SUB_DEVICES].u > 0)
                printf(" Sub-devices: %u online of %u (aliLinkctl devices)\n", v[PROP_SUB_DEVICES_ONLINE].u,
                        v[PROP_SUB_DEVICES].u);
        return 0;
}

/* --- monitor --- */

static void monitor_property(const Status *s, Property p)
{
        char buf[128];

        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object_object_add(o, "type", json_object_new_string("property"));
                json_object_object_add(o, "name", json_object_new_string(property_name(p)));
                json_object_object_add(o, "value", property_to_json(s, p));
                print_json(o);
                return;
        }
        printf("%s: %s\n", property_name(p), property_to_text(s, p, buf, sizeof(buf)));
        fflush(stdout);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        _cleanup_(status_done) Status s = {};
        _cleanup_(freep) Property *changed = NULL;
        const char *interface;
        int r;

        (void) userdata;
        (void) ret_error;
        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || !streq(interface, ALI_BUS_INTERFACE))
                return 0;
        r = status_read_dict(&s, m, &changed);
        if (r < 0)
                return 0;
        for (const Property *p = changed; *p < _PROP_MAX; p++)
                monitor_property(&s, *p);
        return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const char *a = NULL, *b = NULL;

        (void) userdata;
        (void) ret_error;
        if (sd_bus_message_is_signal(m, ALI_BUS_INTERFACE, "PropertySet")) {
                if (sd_bus_message_read(m, "s", &a) < 0)
                        return 0;
                if (arg_json) {
                        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                        json_object_object_add(o, "type", json_object_new_string("property-set"));
                        json_object *params = json_tokener_parse(a);
                        json_object_object_add(o, "params", params ?: json_object_new_string(a));
                        print_json(o);
                } else
                        printf("PropertySet from the cloud: %s\n", a);
        } else if (sd_bus_message_is_signal(m, ALI_BUS_INTERFACE, "Message")) {
                if (sd_bus_message_read(m, "ss", &a, &b) < 0)
                        return 0;
                if (arg_json) {
                        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                        json_object_object_add(o, "type", json_object_new_string("message"));
                        json_object_object_add(o, "topic", json_object_new_string(a));
                        json_object_object_add(o, "payload", json_object_new_string(b));
                        print_json(o);
                } else
                        printf("Message on %s: %s\n", a, b);
        }
        fflush(stdout);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const char *name, *old, *new;

        (void) userdata;
        (void) ret_error;
        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || !streq(name, ALI_BUS_NAME))
                return 0;
        if (isempty(new))
                fprintf(stderr, "ali-linkd went away\n");
        else
                fprintf(stderr, "ali-linkd is back\n");
        return 0;
}

int verb_monitor(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(status_done) Status s = {};
        sigset_t mask;
        int r;

        (void) argc;
        (void) argv;
        /* Fail early, and with the usual message, when the daemon is not there. */
        r = get_status(bus, &s);
        if (r < 0)
                return r;

        r = sd_bus_match_signal(bus, NULL, ALI_BUS_NAME, ALI_BUS_PATH, "org.freedesktop.DBus.Properties",
                "PropertiesChanged", on_properties_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(
                        bus, NULL, ALI_BUS_NAME, ALI_BUS_PATH, ALI_BUS_INTERFACE, NULL, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, NULL);
        if (r < 0) {
                fprintf(stderr, "Cannot subscribe to the daemon's signals: %s\n", strerror(-r));
                return r;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        /* The bus going away (dbus-daemon restarted, the system going down) ends the monitor too. */
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0) {
                fprintf(stderr, "Cannot set up the event loop: %s\n", strerror(-r));
                return r;
        }
        fprintf(stderr, "Monitoring ali-linkd (%s); press Ctrl-C to stop.\n", status_string(&s, PROP_STATE));
        r = sd_event_loop(e);
        sd_bus_detach_event(bus);
        return r < 0 ? r : 0;
}
