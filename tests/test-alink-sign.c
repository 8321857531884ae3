/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-alink-sign.c: the MQTT credentials against known-answer vectors (computed with
 * OpenSSL and Python's hmac, independently). */
#include "alink-sign.h"
#include "macro.h"
#include "test.h"

#define PK "a1HETlEuvri"
#define DN "RGB-LED-DEV-1"
#define SECRET "Ghuiyd9nmGowdZzjPqFtxhm3WUHEbIlI"

TEST(content)
{
        _cleanup_(freep) char *c = NULL, *no_ts = NULL;

        CHECK(alink_sign_content(PK "." DN, PK, DN, ALINK_SIGN_TIMESTAMP, &c) == 0);
        CHECK_STREQ(c, "clientIda1HETlEuvri.RGB-LED-DEV-1deviceNameRGB-LED-DEV-1productKeya1HETlEuvri"
                       "timestamp2524608000000");
        /* Without a timestamp in the client id, none is signed. */
        CHECK(alink_sign_content(PK "." DN, PK, DN, NULL, &no_ts) == 0);
        CHECK_STREQ(no_ts, "clientIda1HETlEuvri.RGB-LED-DEV-1deviceNameRGB-LED-DEV-1productKeya1HETlEuvri");
}

TEST(username_and_client_id)
{
        _cleanup_(freep) char *u = NULL, *id = NULL, *p = NULL;

        CHECK(alink_sign_username(PK, DN, &u) == 0);
        CHECK_STREQ(u, "RGB-LED-DEV-1&a1HETlEuvri");
        CHECK(alink_sign_client_id(PK, DN, ALINK_SIGN_HMACSHA256, &id) == 0);
        CHECK_STREQ(id, "a1HETlEuvri.RGB-LED-DEV-1|timestamp=2524608000000,_ss=1,securemode=2,"
                        "signmethod=hmacsha256,ext=3|");
        CHECK(alink_sign_client_id_prefix(PK, DN, &p) == 0);
        CHECK_STREQ(p, "a1HETlEuvri.RGB-LED-DEV-1");
}

TEST(known_answers)
{
        static const struct {
                AlinkSignMethod m;
                const char *expected;
        } v[] = {
                {ALINK_SIGN_HMACSHA256, "503bb16c57060a2750fc291c4cbd1c24b9393cfeb14dcece31e15fc09d9c5157"},
                {ALINK_SIGN_HMACSHA1, "293d10007ae1d20df14482f6f92a605b4be79c50"},
                {ALINK_SIGN_HMACMD5, "dfdf20b5f4fbbdce35c7f9a16120a89c"},
        };

        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                _cleanup_(erase_and_freep) char *pw = NULL;
                CHECK(alink_sign_password(v[i].m, SECRET, PK, DN, ALINK_SIGN_TIMESTAMP, &pw) == 0);
                CHECK_STREQ(pw, v[i].expected);
        }
}

TEST(method_names)
{
        CHECK(alink_sign_method_from_string("hmacsha256") == ALINK_SIGN_HMACSHA256);
        CHECK(alink_sign_method_from_string("HmacSha1") == ALINK_SIGN_HMACSHA1);
        CHECK(alink_sign_method_from_string("sha256") == _ALINK_SIGN_METHOD_INVALID);
        CHECK(alink_sign_method_from_string(NULL) == _ALINK_SIGN_METHOD_INVALID);
        CHECK_STREQ(alink_sign_method_to_string(ALINK_SIGN_HMACMD5), "hmacmd5");
}

TEST(invalid_arguments)
{
        char *x = NULL;

        CHECK(alink_sign_password(ALINK_SIGN_HMACSHA256, "", PK, DN, NULL, &x) == -EINVAL);
        CHECK(alink_sign_password(ALINK_SIGN_HMACSHA256, SECRET, "", DN, NULL, &x) == -EINVAL);
        CHECK(alink_sign_password(_ALINK_SIGN_METHOD_INVALID, SECRET, PK, DN, NULL, &x) == -EINVAL);
        CHECK(alink_sign_username(PK, NULL, &x) == -EINVAL);
        CHECK(alink_sign_client_id(PK, DN, _ALINK_SIGN_METHOD_MAX, &x) == -EINVAL);
        CHECK(x == NULL);
}
