#!/usr/bin/python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""A local program that handles a device for ali-linkd, as a board maker would write one (python3-dbus).

It exports org.alilinkd1.Handler at /handler, finds the device with org.alilinkd1.Manager.GetDevice and
claims it. Every call it gets is printed as one line on stdout ("set PARAMS", "call SERVICE PARAMS"), so
the test can check what reached it. Services: GetReport and Reboot answer at once, Slow answers after 7 s
(later than the daemon's deadline), Broken answers output the thing model does not allow, Quit exits
(as does SIGTERM).

Usage: thing-handler.py PRODUCT_KEY DEVICE_NAME [--add SECRET TSL_FILE]
With --add it first adds the device as a sub-device of the daemon's gateway (AddSubDevice, not persistent:
it belongs to this program, and goes when the program does).
"""
import json
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

HANDLER = "org.alilinkd1.Handler"


def say(*words):
    print(*words, flush=True)


class Handler(dbus.service.Object):
    def __init__(self, bus, loop):
        super().__init__(bus, "/handler")
        self.loop = loop

    @dbus.service.method(HANDLER, in_signature="os", out_signature="is")
    def SetProperties(self, device, params):
        say("set", params)
        values = json.loads(params)
        if values.get("Label") == "refuse":
            return (100042, "the label is not wanted here")
        return (200, "")

    @dbus.service.method(HANDLER, in_signature="oss", out_signature="is",
                         async_callbacks=("reply", "error"))
    def CallService(self, device, service, params, reply, error):
        say("call", service, params)
        if service == "GetReport":
            reply(200, json.dumps({"Uptime": 42, "Note": "all good"}))
        elif service == "Reboot":
            reply(200, json.dumps({"Accepted": 1}))
        elif service == "Slow":
            GLib.timeout_add(7000, lambda: reply(200, "{}") and False)
        elif service == "Broken":
            reply(200, json.dumps({"Uptime": 1000}))
        elif service == "Quit":
            reply(200, "{}")
            GLib.idle_add(self.loop.quit)
        else:
            reply(100050, "no such service here")


def main():
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    loop = GLib.MainLoop()
    Handler(bus, loop)
    manager = bus.get_object("org.alilinkd1", "/org/alilinkd1")
    if len(sys.argv) > 3 and sys.argv[3] == "--add":
        with open(sys.argv[5]) as f:
            tsl = f.read()
        path = manager.AddSubDevice(sys.argv[1], sys.argv[2], sys.argv[4],
                                    {"Tsl": dbus.String(tsl), "Persistent": dbus.Boolean(False)},
                                    dbus_interface="org.alilinkd1.Manager")
        say("added", path)
    path = manager.GetDevice(sys.argv[1], sys.argv[2], dbus_interface="org.alilinkd1.Manager")
    device = bus.get_object("org.alilinkd1", path)
    device.Claim(dbus.ObjectPath("/handler"), dbus_interface="org.alilinkd1.Device")
    say("claimed", path)
    loop.run()
    say("bye")


if __name__ == "__main__":
    main()
