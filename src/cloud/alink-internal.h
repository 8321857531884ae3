/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-internal.h: the JSON helpers alink.c shares with the other files of src/cloud (alink-gateway.c).
 * Not for the other layers: they go through alink.h. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* The id of a message: a string of 1..ALINK_MAX_ID_LENGTH printable characters, or a whole number. */
int alink_read_id(json_object *o, char **ret, char **ret_error);
/* Compact JSON text of o, malloc'ed. */
int alink_json_to_string(json_object *o, char **ret);
/* json_object_object_add() taking v in every case; -ENOMEM for a NULL v. */
int alink_json_add(json_object *o, const char *key, json_object *v);
/* {"id","version":"1.0"[,"sys":{"ack":1}],"method"}, or NULL. */
json_object *alink_request_envelope(const char *id, const char *method, bool ack);
