/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-sign.h: the MQTT credentials of Alibaba's "one device, one secret" login
 * (https://help.aliyun.com/document_detail/73742.html; Link SDK C core/utils/core_auth.c).
 *
 * Pure functions, no state and no logging. The password is an HMAC keyed with the device secret over
 * "clientId<id>deviceName<dn>productKey<pk>timestamp<ts>" (keys sorted, no separators, the bare client id
 * without the |...| extension list). Strings returned here are owned by the caller; free the password
 * with erase_and_free(). */
#pragma once

#include <stddef.h>

/* Every official SDK signs this fixed timestamp (2050-01-01T00:00:00Z); the platform does not check
 * freshness, so a board without a set clock can still log in. */
#define ALINK_SIGN_TIMESTAMP "2524608000000"

typedef enum AlinkSignMethod {
        ALINK_SIGN_HMACMD5,
        ALINK_SIGN_HMACSHA1,
        ALINK_SIGN_HMACSHA256,
        _ALINK_SIGN_METHOD_MAX,
        _ALINK_SIGN_METHOD_INVALID = -22, /* -EINVAL */
} AlinkSignMethod;

/* "hmacmd5", "hmacsha1", "hmacsha256": the spelling the client id's signmethod= carries. */
const char *alink_sign_method_to_string(AlinkSignMethod m);
AlinkSignMethod alink_sign_method_from_string(const char *s);

/* "${pk}.${dn}" */
int alink_sign_client_id_prefix(const char *product_key, const char *device_name, char **ret);
/* "${pk}.${dn}|timestamp=2524608000000,_ss=1,securemode=2,signmethod=hmacsha256,ext=3|" */
int alink_sign_client_id(const char *product_key, const char *device_name, AlinkSignMethod m, char **ret);
/* "${dn}&${pk}" */
int alink_sign_username(const char *product_key, const char *device_name, char **ret);
/* The sorted content string the HMAC covers. timestamp may be NULL (then it is left out). */
int alink_sign_content(const char *client_id_prefix, const char *product_key, const char *device_name,
        const char *timestamp, char **ret);
/* Lower-case hex HMAC of the content, keyed with the secret's raw bytes. */
int alink_sign_password(AlinkSignMethod m, const char *device_secret, const char *product_key,
        const char *device_name, const char *timestamp, char **ret);

/* Lower-case hex HMAC of content, keyed with the secret's raw bytes (what the two above and below use). */
int alink_sign_hmac(AlinkSignMethod m, const char *secret, const char *content, char **ret);

/* A sub-device's sign in the gateway's topo/add and combine/login requests
 * (https://help.aliyun.com/document_detail/89299.html, .../89300.html): the HMAC with the sub-device's
 * secret over "clientId<client_id>deviceName<dn>productKey<pk>timestamp<ts>", the client id exactly as
 * sent (with its |...| list, if any). */
int alink_sign_subdevice(AlinkSignMethod m, const char *device_secret, const char *client_id,
        const char *product_key, const char *device_name, const char *timestamp, char **ret);
