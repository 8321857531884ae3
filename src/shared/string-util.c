/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* string-util.c */
#include <ctype.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "string-util.h"

char *hex_encode(const void *p, size_t len)
{
        static const char digits[] = "0123456789abcdef";
        const unsigned char *b = p;
        char *s;

        s = malloc(len * 2 + 1);
        if (!s)
                return NULL;
        for (size_t i = 0; i < len; i++) {
                s[2 * i] = digits[b[i] >> 4];
                s[2 * i + 1] = digits[b[i] & 15];
        }
        s[len * 2] = 0;
        return s;
}

static int unhexchar(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -EINVAL;
}

int hex_decode(const char *s, void *buf, size_t len)
{
        unsigned char *b = buf;

        if (!s || strlen(s) != len * 2)
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                int hi = unhexchar(s[2 * i]), lo = unhexchar(s[2 * i + 1]);
                if (hi < 0 || lo < 0)
                        return -EINVAL;
                b[i] = (unsigned char) (hi << 4 | lo);
        }
        return 0;
}

char **strv_free(char **l)
{
        if (l) {
                for (char **i = l; *i; i++)
                        free(*i);
                free(l);
        }
        return NULL;
}

size_t strv_length(char *const *l)
{
        size_t n = 0;

        if (l)
                while (l[n])
                        n++;
        return n;
}

bool strv_equal(char *const *a, char *const *b)
{
        size_t n = strv_length(a);

        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

int strv_copy(char *const *l, char ***ret)
{
        size_t n = strv_length(l);
        char **c;

        if (!l) {
                *ret = NULL;
                return 0;
        }
        c = calloc(n + 1, sizeof(char *));
        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!(c[i] = strdup(l[i]))) {
                        strv_free(c);
                        return -ENOMEM;
                }
        *ret = c;
        return 0;
}

bool strv_contains(char *const *l, const char *s)
{
        if (l)
                for (; *l; l++)
                        if (streq(*l, s))
                                return true;
        return false;
}

int strv_split(const char *s, const char *separators, char ***ret)
{
        char **l = NULL;
        size_t n = 0;

        if (!s || !separators || !ret)
                return -EINVAL;
        for (const char *p = s; *p;) {
                size_t k;
                char **t;

                p += strspn(p, separators);
                k = strcspn(p, separators);
                if (k == 0)
                        break;
                t = reallocarray(l, n + 2, sizeof(char *));
                if (!t)
                        goto oom;
                l = t;
                l[n] = strndup(p, k);
                if (!l[n])
                        goto oom;
                l[++n] = NULL;
                p += k;
        }
        if (!l) {
                l = calloc(1, sizeof(char *));
                if (!l)
                        return -ENOMEM;
        }
        *ret = l;
        return 0;
oom:
        if (l)
                l[n] = NULL;
        strv_free(l);
        return -ENOMEM;
}

int safe_atou64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
        unsigned long long v;
        char *end;

        if (isempty(s) || !isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        if (ret)
                *ret = v;
        return 0;
}

int safe_atod(const char *s, double *ret)
{
        char *end;
        double v;

        if (isempty(s) || isspace((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end || end == s || v != v || v - v != 0) /* NaN and infinities are not numbers here */
                return -EINVAL;
        if (ret)
                *ret = v;
        return 0;
}

int safe_atoi64(const char *s, int64_t *ret)
{
        long long v;
        char *end;

        if (isempty(s) || !(isdigit((unsigned char) s[0]) ||
                                  ((s[0] == '-' || s[0] == '+') && isdigit((unsigned char) s[1]))))
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        if (*end)
                return -EINVAL;
        if (ret)
                *ret = v;
        return 0;
}

bool printable_word(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

int parse_boolean(const char *s)
{
        static const char *const yes[] = {"1", "yes", "y", "true", "t", "on"};
        static const char *const no[] = {"0", "no", "n", "false", "f", "off"};

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        return -EINVAL;
}

bool utf8_is_valid_n(const char *str, size_t len)
{
        const unsigned char *s = (const unsigned char *) str;

        for (size_t i = 0; i < len;) {
                unsigned char c = s[i];
                size_t n;
                uint32_t cp;

                if (c == 0)
                        return false;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 2;
                        cp = c & 0x1F;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 3;
                        cp = c & 0x0F;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 4;
                        cp = c & 0x07;
                } else
                        return false;
                if (i + n > len)
                        return false;
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (s[i + k] & 0x3F);
                }
                /* Reject overlong forms, surrogates and values beyond U+10FFFF. */
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                        return false;
                i += n;
        }
        return true;
}

bool alnum_or_chars(const char *s, const char *extra)
{
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                            strchr(extra, *s)))
                        return false;
        return true;
}

bool host_is_address(const char *host)
{
        unsigned char addr[16];

        return host && (inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1);
}

bool json_text_has_escaped_nul(const char *p, size_t len)
{
        bool in_string = false;

        if (!memmem(p, len, "u0000", 5))
                return false;
        for (size_t i = 0; i < len; i++) {
                if (p[i] == '"')
                        in_string = !in_string;
                else if (in_string && p[i] == '\\' && i + 1 < len) {
                        if (p[i + 1] == 'u' && i + 5 < len && memcmp(p + i + 2, "0000", 4) == 0)
                                return true;
                        i++;
                }
        }
        return false;
}

int error_vprintf(char **ret_error, int result, const char *format, va_list ap)
{
        if (!ret_error)
                return result;
        if (vasprintf(ret_error, format, ap) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return result;
}

int error_printf(char **ret_error, int result, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = error_vprintf(ret_error, result, format, ap);
        va_end(ap);
        return r;
}
