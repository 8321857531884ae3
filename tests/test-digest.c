/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-digest.c: streaming MD5 and SHA-256 against known answers, in any chunking, with reset. */
#include "digest.h"
#include "test.h"

static char *digest_of(DigestMethod m, const char *data, size_t len, size_t chunk)
{
        _cleanup_(digest_freep) Digest *d = NULL;
        char *hex = NULL;

        CHECK(digest_new(&d, m) == 0);
        for (size_t i = 0; i < len; i += chunk)
                CHECK(digest_update(d, data + i, MIN(chunk, len - i)) == 0);
        CHECK(digest_final_hex(d, &hex) == 0);
        return hex;
}

TEST(known_answers)
{
        /* RFC 1321 and FIPS 180-2 test vectors. */
        const char *abc = "abc";
        char *h;

        h = digest_of(DIGEST_MD5, "", 0, 1);
        CHECK_STREQ(h, "d41d8cd98f00b204e9800998ecf8427e");
        free(h);
        h = digest_of(DIGEST_MD5, abc, 3, 1);
        CHECK_STREQ(h, "900150983cd24fb0d6963f7d28e17f72");
        free(h);
        h = digest_of(DIGEST_SHA256, abc, 3, 2);
        CHECK_STREQ(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        free(h);
}

TEST(chunking_does_not_matter)
{
        static char data[100000];
        char *whole, *piece;

        for (size_t i = 0; i < sizeof(data); i++)
                data[i] = (char) (i * 7 + 3);
        for (DigestMethod m = 0; m < _DIGEST_METHOD_MAX; m++) {
                whole = digest_of(m, data, sizeof(data), sizeof(data));
                CHECK(strlen(whole) == digest_method_hex_length(m));
                for (size_t chunk = 1; chunk <= 65536; chunk *= 16) {
                        piece = digest_of(m, data, sizeof(data), chunk);
                        CHECK_STREQ(piece, whole);
                        free(piece);
                }
                free(whole);
        }
}

TEST(reset_starts_over)
{
        _cleanup_(digest_freep) Digest *d = NULL;
        char *hex = NULL;

        CHECK(digest_new(&d, DIGEST_MD5) == 0);
        CHECK(digest_update(d, "garbage", 7) == 0);
        CHECK(digest_reset(d) == 0);
        CHECK(digest_update(d, "abc", 3) == 0);
        CHECK(digest_final_hex(d, &hex) == 0);
        CHECK_STREQ(hex, "900150983cd24fb0d6963f7d28e17f72");
        free(hex);
}

TEST(method_names)
{
        /* Every spelling the cloud uses (upgrade pushes, https://help.aliyun.com/document_detail/89307.htm),
         * compared case-insensitively. */
        CHECK(digest_method_from_string("Md5") == DIGEST_MD5);
        CHECK(digest_method_from_string("MD5") == DIGEST_MD5);
        CHECK(digest_method_from_string("md5") == DIGEST_MD5);
        CHECK(digest_method_from_string("SHA256") == DIGEST_SHA256);
        CHECK(digest_method_from_string("Sha256") == DIGEST_SHA256);
        CHECK(digest_method_from_string("SHA-256") == _DIGEST_METHOD_INVALID);
        CHECK(digest_method_from_string("SHA1") == _DIGEST_METHOD_INVALID);
        CHECK(digest_method_from_string("") == _DIGEST_METHOD_INVALID);
        CHECK(digest_method_from_string(NULL) == _DIGEST_METHOD_INVALID);
        CHECK_STREQ(digest_method_to_string(DIGEST_MD5), "MD5");
        CHECK_STREQ(digest_method_to_string(DIGEST_SHA256), "SHA256");
        CHECK(digest_method_to_string(_DIGEST_METHOD_MAX) == NULL);
        CHECK(digest_new(&(Digest *){NULL}, _DIGEST_METHOD_INVALID) == -EINVAL);
}
