/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-names.h: the D-Bus names the daemon and aliLinkctl share (the org.alilinkd1 API of README.md
 * and aliLinkctl(1)).
 *
 * One place for the well-known name, object path, interface and error names, so the daemon's vtable and
 * the CLI cannot drift apart. Constants only. */
#pragma once

#include "alink-limits.h"

#define ALI_BUS_NAME "org.alilinkd1"
#define ALI_BUS_PATH "/org/alilinkd1"
#define ALI_BUS_INTERFACE "org.alilinkd1.Manager"
/* Every device the daemon serves: <prefix>/<sd_bus_path_encode() of "pk/dn">, found with GetDevice. */
#define ALI_BUS_DEVICE_PATH_PREFIX "/org/alilinkd1/device"
#define ALI_BUS_DEVICE_INTERFACE "org.alilinkd1.Device"
/* What a local program exports at the object path it claims a device with. */
#define ALI_BUS_HANDLER_INTERFACE "org.alilinkd1.Handler"

/* Errors the daemon's methods return besides org.freedesktop.DBus.Error.InvalidArgs. */
#define ALI_BUS_ERROR_TOPIC_NOT_ALLOWED "org.alilinkd1.Error.TopicNotAllowed"
#define ALI_BUS_ERROR_NOT_CONNECTED "org.alilinkd1.Error.NotConnected"
#define ALI_BUS_ERROR_NOT_CONFIGURED "org.alilinkd1.Error.NotConfigured"
#define ALI_BUS_ERROR_INVALID_CONFIG "org.alilinkd1.Error.InvalidConfig"
#define ALI_BUS_ERROR_LED_FAILED "org.alilinkd1.Error.LedFailed"
#define ALI_BUS_ERROR_NOT_SUPPORTED "org.alilinkd1.Error.NotSupported"
#define ALI_BUS_ERROR_STORAGE_FAILED "org.alilinkd1.Error.StorageFailed"
#define ALI_BUS_ERROR_NO_SUCH_DEVICE "org.alilinkd1.Error.NoSuchDevice"
#define ALI_BUS_ERROR_ALREADY_EXISTS "org.alilinkd1.Error.AlreadyExists"
#define ALI_BUS_ERROR_ALREADY_CLAIMED "org.alilinkd1.Error.AlreadyClaimed"
#define ALI_BUS_ERROR_NOT_CLAIMED "org.alilinkd1.Error.NotClaimed"
/* A set or call the device answered with an Alink code other than 200: "code N: message". */
#define ALI_BUS_ERROR_DEVICE_ERROR "org.alilinkd1.Error.DeviceError"

/* The platform's message size limit, enforced on Publish and PostProperties. */
#define ALI_BUS_MAX_PAYLOAD ALINK_MAX_PAYLOAD
