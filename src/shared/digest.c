/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* digest.c: streaming digests with OpenSSL EVP. */
#include <openssl/evp.h>
#include <strings.h>

#include "digest.h"
#include "string-table.h"
#include "string-util.h"

struct Digest {
        DigestMethod method;
        EVP_MD_CTX *ctx;
};

static const char *const digest_method_table[_DIGEST_METHOD_MAX] = {
        [DIGEST_MD5] = "MD5",
        [DIGEST_SHA256] = "SHA256",
};

DEFINE_STRING_TABLE_CASE(digest_method, DigestMethod);

size_t digest_method_hex_length(DigestMethod m)
{
        return m == DIGEST_SHA256 ? 64 : m == DIGEST_MD5 ? 32 : 0;
}

static const EVP_MD *method_md(DigestMethod m)
{
        return m == DIGEST_SHA256 ? EVP_sha256() : EVP_md5();
}

int digest_new(Digest **ret, DigestMethod m)
{
        Digest *d;

        if (m < 0 || m >= _DIGEST_METHOD_MAX)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->method = m;
        d->ctx = EVP_MD_CTX_new();
        if (!d->ctx || digest_reset(d) < 0) {
                digest_free(d);
                return -ENOMEM;
        }
        *ret = d;
        return 0;
}

Digest *digest_free(Digest *d)
{
        if (!d)
                return NULL;
        EVP_MD_CTX_free(d->ctx);
        free(d);
        return NULL;
}

int digest_reset(Digest *d)
{
        return EVP_DigestInit_ex(d->ctx, method_md(d->method), NULL) == 1 ? 0 : -EIO;
}

int digest_update(Digest *d, const void *buf, size_t len)
{
        return EVP_DigestUpdate(d->ctx, buf, len) == 1 ? 0 : -EIO;
}

int digest_final_hex(Digest *d, char **ret)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_DigestFinal_ex(d->ctx, md, &n) != 1)
                return -EIO;
        *ret = hex_encode(md, n);
        return *ret ? 0 : -ENOMEM;
}
