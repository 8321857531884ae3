/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mqtt-tls.h: the MQTT session's TLS policy and what it learns from a handshake (OpenSSL).
 *
 * One MqttTls per session, handed to each libmosquitto handle as its SSL_CTX (MOSQ_OPT_SSL_CTX, with
 * libmosquitto's own defaults off, so nothing weakens it): the configured CA file or hashed directory
 * (looked up per certificate, not loaded whole), TLS 1.2 at least, peer verification always, and the host
 * name (or IP address) checked by OpenSSL itself. It records the first certificate check that failed in the
 * current attempt, and reports a TCP error that surfaced inside the handshake, so the session can say in
 * words why a connection failed. OpenSSL's types stay behind this header. */
#pragma once

#include <stdint.h>

#include "macro.h"

typedef struct MqttTls MqttTls;

/* A refused or reset TCP connection shows up in the first TLS read or write, with errno still holding the
 * socket's error: fd and that error. */
typedef void (*MqttTlsSocketErrorFn)(void *userdata, int fd, int error);

/* -EINVAL when the CA file or directory cannot be loaded or the host cannot be checked, -ENOMEM. */
int mqtt_tls_new(MqttTls **ret, const char *host, const char *ca_file, const char *ca_path,
        MqttTlsSocketErrorFn socket_error, void *userdata);
MqttTls *mqtt_tls_free(MqttTls *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(MqttTls *, mqtt_tls_free);

/* The SSL_CTX for MOSQ_OPT_SSL_CTX. */
void *mqtt_tls_ssl_ctx(MqttTls *t);
/* A new connection attempt: forget the previous one's certificate failure. */
void mqtt_tls_reset(MqttTls *t);
/* The first certificate check that failed in this attempt: true with OpenSSL's reason and the subject of
 * the certificate ("?" when unknown); false when none failed. */
bool mqtt_tls_verify_failed(const MqttTls *t, const char **ret_reason, const char **ret_subject);

/* libmosquitto logs OpenSSL errors as "OpenSSL Error[0]: error:0A00010B:SSL routines::wrong version
 * number": the words after the last colon; NULL when message is not one of those. */
const char *mqtt_tls_error_reason(const char *message);

/* Whether ssl (mosquitto_ssl_get(), NULL before the handshake starts) has finished its handshake. */
bool mqtt_tls_handshake_done(void *ssl);
/* Of an established connection's SSL (mosquitto_ssl_get()): protocol version and cipher ("?" when ssl is
 * NULL), and the server certificate's expiry in CLOCK_REALTIME µs (0 when unknown). */
void mqtt_tls_describe(
        void *ssl, const char **ret_version, const char **ret_cipher, uint64_t *ret_not_after_usec);
