/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-limits.h: the IoT Platform's limits per device, each defined once.
 *
 * Source: Alibaba Cloud IoT Platform, "Limits"
 * (https://www.alibabacloud.com/help/en/iot/product-overview/limits, doc-detail/30527), communication
 * section; the Link SDK C 4.x enforces the same message size in core/aiot_mqtt_api.c. Everything that checks
 * one of these includes this header. */
#pragma once

/* An MQTT message, payload only: 256 KB. Larger ones are refused unparsed, on the way in and out. */
#define ALINK_MAX_PAYLOAD (256u * 1024u)
/* Topic filters per SUBSCRIBE packet. */
#define ALINK_MAX_FILTERS_PER_SUBSCRIBE 8
/* QoS 1 publishes the platform keeps un-acknowledged per device. */
#define ALINK_MAX_INFLIGHT 100
/* Connection attempts per device per minute. */
#define ALINK_MAX_CONNECTS_PER_MINUTE 5
/* Slashes in a whole topic ("/${pk}/${dn}/user/a/b" has 5). */
#define ALINK_MAX_TOPIC_SLASHES 7
/* The keepalive the platform accepts, in seconds. */
#define ALINK_KEEPALIVE_MIN 30
#define ALINK_KEEPALIVE_MAX 1200
