/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* digest.h: a streaming MD5 or SHA-256 digest (OpenSSL EVP), for verifying firmware as it arrives.
 *
 * Owns one EVP digest context. Bytes are fed as they come (digest_update), the context can be started
 * over (digest_reset, when a server ignores a Range request and sends the file from byte 0), and the
 * result is read once as lower-case hex. Memory is constant whatever the amount of data. No logging, no
 * I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef enum DigestMethod {
        DIGEST_MD5,
        DIGEST_SHA256,
        _DIGEST_METHOD_MAX,
        _DIGEST_METHOD_INVALID = -EINVAL,
} DigestMethod;

typedef struct Digest Digest;

/* "MD5" or "SHA256", the canonical spellings ali-linkd uses in files and in the installer's environment. */
const char *digest_method_to_string(DigestMethod m);
/* Any capitalisation of "md5" or "sha256" (the cloud sends "Md5", "MD5", "SHA256" and "Sha256"). */
DigestMethod digest_method_from_string(const char *s);
/* Length of the hex digest: 32 or 64. */
size_t digest_method_hex_length(DigestMethod m);

int digest_new(Digest **ret, DigestMethod m);
Digest *digest_free(Digest *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Digest *, digest_free);

int digest_reset(Digest *d);
int digest_update(Digest *d, const void *buf, size_t len);
/* Finishes the digest; *ret is malloc'ed lower-case hex. The digest must be reset before further use. */
int digest_final_hex(Digest *d, char **ret);
