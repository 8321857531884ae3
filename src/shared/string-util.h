/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* string-util.h: small string helpers the libraries we use do not offer. Pure, no logging. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

/* Lower-case hex of len bytes; returns a malloc'ed string or NULL. */
char *hex_encode(const void *p, size_t len);
/* Decodes exactly 2*len hex digits (either case) into buf. Returns 0 or -EINVAL. */
int hex_decode(const char *s, void *buf, size_t len);
/* Split s at any of the separators into a NULL-terminated vector of non-empty, trimmed words. */
int strv_split(const char *s, const char *separators, char ***ret);
char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
size_t strv_length(char *const *l);
bool strv_contains(char *const *l, const char *s);
/* Same length, same strings in the same order; NULL equals an empty vector. */
bool strv_equal(char *const *a, char *const *b);
/* A deep copy; NULL copies to NULL. Returns 0 or -ENOMEM. */
int strv_copy(char *const *l, char ***ret);
/* Parse a non-negative decimal with no sign, no spaces, no trailing junk, within [min, max]. */
int safe_atou64_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* True when every character of s is an ASCII letter, a digit, or one of extra. */
bool alnum_or_chars(const char *s, const char *extra);
/* Parse a finite decimal floating-point number (strtod, C locale digits), no spaces, no trailing junk. */
int safe_atod(const char *s, double *ret);
/* Parse a decimal integer with an optional sign, no spaces, no trailing junk. */
int safe_atoi64(const char *s, int64_t *ret);
/* True when s has no blank, control character or DEL (a name: a chip, a line, an LED). */
bool printable_word(const char *s);
/* "yes/no/true/false/on/off/1/0" → 1/0, else -EINVAL. */
int parse_boolean(const char *s);
/* True when s is valid UTF-8 without NUL bytes (len bytes). */
bool utf8_is_valid_n(const char *s, size_t len);

/* Whether host is a numeric IPv4 or IPv6 address rather than a name. */
bool host_is_address(const char *host);

/* Does a string of the JSON text hold \u0000? json-c keeps keys as C strings: "LightSwitch\u0000junk"
 * would be read as "LightSwitch". A backslash inside a string escapes the next character. */
bool json_text_has_escaped_nul(const char *p, size_t len);

/* The error messages of the parsers and checks: *ret_error = the formatted text (nothing when ret_error is
 * NULL), and result is returned; -ENOMEM when the text cannot be made. */
int error_printf(char **ret_error, int result, const char *format, ...) _printf_(3, 4);
int error_vprintf(char **ret_error, int result, const char *format, va_list ap) _printf_(3, 0);
