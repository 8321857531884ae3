/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-led.c: aliLinkctl led: the light (switch, colour, brightness) set over D-Bus the way a cloud property
 * set sets it: SetLed and SetBrightness. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl-common.h"
#include "string-util.h"

static int parse_byte(const char *s, uint8_t *ret)
{
        uint64_t v;
        int r = safe_atou64_range(s, 0, 255, &v);
        if (r >= 0)
                *ret = (uint8_t) v;
        return r;
}

/* led brightness 0..100: the colour and the switch stay as they are. */
static int led_brightness(sd_bus *bus, int argc, char *argv[])
{
        uint64_t v;
        int r;

        if (argc != 3)
                return usage_error("led brightness: expected a percentage 0..100");
        if (safe_atou64_range(argv[2], 0, 100, &v) < 0)
                return usage_error("led brightness: expected 0..100, got \"%s\"", argv[2]);
        r = call(bus, "Cannot set the brightness", "SetBrightness", NULL, "y", (uint8_t) v);
        if (r < 0)
                return r;
        if (!arg_json)
                printf("LED brightness %u%%\n", (unsigned) v);
        return 0;
}

int verb_led(sd_bus *bus, int argc, char *argv[])
{
        const char *a = argv[1];
        uint8_t c[3];
        int on;

        if (streq(a, "brightness"))
                return led_brightness(bus, argc, argv);
        if (argc != 2)
                return usage_error("usage: aliLinkctl led on|off|RRGGBB|R,G,B|brightness 0..100");
        if (streq(a, "on") || streq(a, "off")) {
                _cleanup_(status_done) Status s = {};
                int r = get_status(bus, &s);
                if (r < 0)
                        return r;
                on = streq(a, "on");
                c[0] = s.v[PROP_LED].led.red, c[1] = s.v[PROP_LED].led.green, c[2] = s.v[PROP_LED].led.blue;
                /* Switching on a light whose colour is black would show nothing: use white. */
                if (on && c[0] == 0 && c[1] == 0 && c[2] == 0)
                        c[0] = c[1] = c[2] = 255;
        } else if (strchr(a, ',')) {
                _cleanup_(strv_freep) char **l = NULL;
                if (strv_split(a, ",", &l) < 0)
                        return -ENOMEM;
                if (strv_length(l) != 3 || parse_byte(l[0], &c[0]) < 0 || parse_byte(l[1], &c[1]) < 0 ||
                        parse_byte(l[2], &c[2]) < 0)
                        return usage_error("led: expected R,G,B with each 0..255, got \"%s\"", a);
                on = 1;
        } else {
                const char *hex = a[0] == '#' ? a + 1 : a;
                if (hex_decode(hex, c, 3) < 0)
                        return usage_error("led: expected on, off, RRGGBB or R,G,B, got \"%s\"", a);
                on = 1;
        }
        int r = call(bus, "Cannot set the LED", "SetLed", NULL, "byyy", on, c[0], c[1], c[2]);
        if (r < 0)
                return r;
        if (!arg_json)
                printf("LED %s, colour #%02x%02x%02x\n", on ? "on" : "off", c[0], c[1], c[2]);
        return 0;
}
