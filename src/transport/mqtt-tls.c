/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mqtt-tls.h"
#include "string-util.h"

struct MqttTls {
        SSL_CTX *ctx;
        MqttTlsSocketErrorFn socket_error;
        void *userdata;
        long verify_error;    /* X509_V_ERR_* of the first certificate check that failed, or X509_V_OK */
        char *verify_subject; /* the certificate it failed on */
};

/* Certificate checks: keep the first failure of the handshake so the log can name it. */
static int on_verify(int ok, X509_STORE_CTX *store)
{
        SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
        MqttTls *t = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;

        if (!ok && t && t->verify_error == X509_V_OK) {
                X509 *cert = X509_STORE_CTX_get_current_cert(store);
                char *subject = cert ? X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0) : NULL;

                t->verify_error = X509_STORE_CTX_get_error(store);
                t->verify_subject = subject ? strdup(subject) : NULL;
                OPENSSL_free(subject);
        }
        return ok;
}

/* libmosquitto reports a TCP failure inside the handshake as "a TLS error" with errno replaced. OpenSSL
 * calls this when SSL_connect() returns, while errno still holds the socket's error. */
static void on_ssl_info(const SSL *ssl, int where, int ret)
{
        MqttTls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
        int e = errno;

        if (t && t->socket_error && (where & SSL_CB_EXIT) && ret < 0 && e != 0 && e != EAGAIN &&
                e != EWOULDBLOCK && e != EINPROGRESS && e != EINTR)
                t->socket_error(t->userdata, SSL_get_fd(ssl), e);
        errno = e;
}

int mqtt_tls_new(MqttTls **ret, const char *host, const char *ca_file, const char *ca_path,
        MqttTlsSocketErrorFn socket_error, void *userdata)
{
        _cleanup_(mqtt_tls_freep) MqttTls *t = NULL;
        X509_VERIFY_PARAM *param;
        int ok;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        *t = (MqttTls){.socket_error = socket_error, .userdata = userdata, .verify_error = X509_V_OK};
        t->ctx = SSL_CTX_new(TLS_client_method());
        if (!t->ctx)
                return -ENOMEM;
        SSL_CTX_set_app_data(t->ctx, t);
        SSL_CTX_set_mode(t->ctx, SSL_MODE_RELEASE_BUFFERS);
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, on_verify);
        SSL_CTX_set_info_callback(t->ctx, on_ssl_info);
        param = SSL_CTX_get0_param(t->ctx);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        ok = SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) == 1 &&
             SSL_CTX_load_verify_locations(t->ctx, ca_file, ca_path) == 1 &&
             (host_is_address(host) ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                                    : X509_VERIFY_PARAM_set1_host(param, host, 0)) == 1;
        if (!ok) {
                ERR_clear_error();
                return -EINVAL;
        }
        *ret = TAKE_PTR(t);
        return 0;
}

MqttTls *mqtt_tls_free(MqttTls *t)
{
        if (!t)
                return NULL;
        SSL_CTX_free(t->ctx);
        free(t->verify_subject);
        free(t);
        return NULL;
}

void *mqtt_tls_ssl_ctx(MqttTls *t)
{
        return t->ctx;
}

void mqtt_tls_reset(MqttTls *t)
{
        if (!t)
                return;
        t->verify_error = X509_V_OK;
        t->verify_subject = mfree(t->verify_subject);
}

bool mqtt_tls_verify_failed(const MqttTls *t, const char **ret_reason, const char **ret_subject)
{
        if (!t || t->verify_error == X509_V_OK)
                return false;
        *ret_reason = X509_verify_cert_error_string(t->verify_error);
        *ret_subject = t->verify_subject ?: "?";
        return true;
}

const char *mqtt_tls_error_reason(const char *message)
{
        const char *p;

        if (!message || !strstr(message, "OpenSSL Error"))
                return NULL;
        p = strrchr(message, ':');
        return p && p[1] ? p + 1 : message;
}

bool mqtt_tls_handshake_done(void *ssl)
{
        return ssl && SSL_is_init_finished(ssl);
}

void mqtt_tls_describe(
        void *ssl, const char **ret_version, const char **ret_cipher, uint64_t *ret_not_after_usec)
{
        X509 *cert;
        struct tm tm;
        time_t t;

        *ret_version = ssl ? SSL_get_version(ssl) : "?";
        *ret_cipher = ssl ? SSL_get_cipher_name(ssl) : "?";
        *ret_not_after_usec = 0;
        if (!ssl)
                return;
        cert = SSL_get1_peer_certificate(ssl);
        if (cert && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1 && (t = timegm(&tm)) > 0)
                *ret_not_after_usec = (uint64_t) t * USEC_PER_SEC;
        X509_free(cert);
}
