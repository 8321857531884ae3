/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-sign.c: client id, user name and HMAC password for the Alink MQTT login. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#include "alink-sign.h"
#include "macro.h"
#include "string-table.h"
#include "string-util.h"

static const char *const alink_sign_method_table[_ALINK_SIGN_METHOD_MAX] = {
        [ALINK_SIGN_HMACMD5] = "hmacmd5",
        [ALINK_SIGN_HMACSHA1] = "hmacsha1",
        [ALINK_SIGN_HMACSHA256] = "hmacsha256",
};

DEFINE_STRING_TABLE_CASE(alink_sign_method, AlinkSignMethod);

int alink_sign_client_id_prefix(const char *product_key, const char *device_name, char **ret)
{
        if (isempty(product_key) || isempty(device_name) || !ret)
                return -EINVAL;
        if (asprintf(ret, "%s.%s", product_key, device_name) < 0)
                return -ENOMEM;
        return 0;
}

int alink_sign_client_id(const char *product_key, const char *device_name, AlinkSignMethod m, char **ret)
{
        const char *method = alink_sign_method_to_string(m);

        if (isempty(product_key) || isempty(device_name) || !method || !ret)
                return -EINVAL;
        /* _ss=1 asks for the platform's auto-subscription; we still SUBSCRIBE explicitly (§1.5). ext=3
         * selects the SDK 4 form of RRPC (§2.7). */
        if (asprintf(ret, "%s.%s|timestamp=" ALINK_SIGN_TIMESTAMP ",_ss=1,securemode=2,signmethod=%s,ext=3|",
                    product_key, device_name, method) < 0)
                return -ENOMEM;
        return 0;
}

int alink_sign_username(const char *product_key, const char *device_name, char **ret)
{
        if (isempty(product_key) || isempty(device_name) || !ret)
                return -EINVAL;
        /* Name first, then key: "dn&pk", not "pk&dn". */
        if (asprintf(ret, "%s&%s", device_name, product_key) < 0)
                return -ENOMEM;
        return 0;
}

int alink_sign_content(const char *client_id_prefix, const char *product_key, const char *device_name,
        const char *timestamp, char **ret)
{
        int r;

        if (isempty(product_key) || isempty(device_name) || !ret)
                return -EINVAL;
        /* Parameters sorted by name: clientId, deviceName, productKey, timestamp. clientId and timestamp are
         * optional; when present they must equal what the MQTT client id carries. */
        r = asprintf(ret, "%s%sdeviceName%sproductKey%s%s%s", client_id_prefix ? "clientId" : "",
                strempty(client_id_prefix), device_name, product_key, timestamp ? "timestamp" : "",
                strempty(timestamp));
        return r < 0 ? -ENOMEM : 0;
}

int alink_sign_hmac(AlinkSignMethod m, const char *secret, const char *content, char **ret)
{
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        const EVP_MD *md;
        char *hex;

        if (isempty(secret) || !content || !ret)
                return -EINVAL;
        switch (m) {
        case ALINK_SIGN_HMACMD5:
                md = EVP_md5();
                break;
        case ALINK_SIGN_HMACSHA1:
                md = EVP_sha1();
                break;
        case ALINK_SIGN_HMACSHA256:
                md = EVP_sha256();
                break;
        default:
                return -EINVAL;
        }

        /* The secret is the raw ASCII key: no base64 decoding. */
        if (!HMAC(md, secret, (int) strlen(secret), (const unsigned char *) content, strlen(content), mac,
                    &mac_len))
                return -EIO;

        hex = hex_encode(mac, mac_len);
        explicit_bzero(mac, sizeof(mac));
        if (!hex)
                return -ENOMEM;
        *ret = hex;
        return 0;
}

int alink_sign_password(AlinkSignMethod m, const char *device_secret, const char *product_key,
        const char *device_name, const char *timestamp, char **ret)
{
        _cleanup_(freep) char *prefix = NULL, *content = NULL;
        int r;

        if (isempty(device_secret) || !ret)
                return -EINVAL;
        r = alink_sign_client_id_prefix(product_key, device_name, &prefix);
        if (r < 0)
                return r;
        r = alink_sign_content(prefix, product_key, device_name, timestamp, &content);
        if (r < 0)
                return r;
        return alink_sign_hmac(m, device_secret, content, ret);
}

int alink_sign_subdevice(AlinkSignMethod m, const char *device_secret, const char *client_id,
        const char *product_key, const char *device_name, const char *timestamp, char **ret)
{
        _cleanup_(freep) char *content = NULL;
        int r;

        r = alink_sign_content(client_id, product_key, device_name, timestamp, &content);
        if (r < 0)
                return r;
        return alink_sign_hmac(m, device_secret, content, ret);
}
