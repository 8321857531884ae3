/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mqtt-session.c: libmosquitto on sd-event.
 *
 * Each connection attempt gets a fresh libmosquitto handle, destroyed when the connection ends. That
 * keeps teardown in one synchronous place (mosquitto_destroy() closes the socket and the TLS state), and no
 * half-dead handle is ever reused. Nothing is lost by it: messages that must survive a reconnect are the
 * business of the caller's outbox, not of libmosquitto's in-memory queue.
 *
 * libmosquitto's callbacks run inside mosquitto_loop_read()/_write()/_misc(); they only record what
 * happened. Everything that may destroy the handle runs after the loop call has returned, in
 * session_after_loop(). Messages are handed on there too: a reply the handler publishes then goes on the
 * wire at once (inside a callback libmosquitto only queues it), before whatever else the handler does
 * after it, so the cloud's round trip does not wait for that work.
 *
 * Keepalive without a 1 s tick: the timer fires when libmosquitto's keepalive is due (the earlier of the
 * last byte in and the last byte out, plus keepalive, plus 1 s because libmosquitto counts whole seconds);
 * mosquitto_loop_misc() then sends PINGREQ, and if nothing at all arrives within half a keepalive the link
 * is declared dead. A black-holed link is thus noticed within 1.5 x keepalive of the last traffic, and an
 * idle session wakes up about twice per keepalive period.
 *
 * Address families: libmosquitto starts a non-blocking connect to the first address the name resolves to
 * and never tries the others. When a host name has IPv6 and IPv4 addresses and the TCP connect to the one
 * tried fails (refused, unreachable, timed out), the next attempt is confined to the other family by
 * binding to its wildcard address, so a broken family costs one backoff step, not the connection. */
#include <errno.h>
#include <mosquitto.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include "alink-limits.h"
#include "backoff.h"
#include "event-util.h"
#include "log.h"
#include "macro.h"
#include "mqtt-session.h"
#include "mqtt-tls.h"
#include "string-util.h"
#include "time-util.h"

#define MQTT_CONNECT_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* How late the keepalive timer may fire (sd-event's accuracy), and the headroom kept for it. */
#define MQTT_TIMER_ACCURACY_USEC (50 * USEC_PER_MSEC)
#define MQTT_TIMER_SLACK_USEC (500 * USEC_PER_MSEC)

typedef struct SubscribeBatch {
        int mid;
        size_t first, count;
} SubscribeBatch;

/* A message read in this loop call, waiting to be handed on once libmosquitto has returned. */
typedef struct PendingMessage {
        struct PendingMessage *next;
        char *topic; /* points into data */
        size_t len;
        int qos;
        bool retained;
        char data[]; /* payload, then the topic */
} PendingMessage;

struct MqttSession {
        sd_event *event;
        MqttSessionHandlers handlers;
        void *userdata;

        /* Configuration (copies; the password is wiped on free). */
        char *host;
        uint16_t port;
        unsigned keepalive;
        char *ca_file, *ca_path;
        char *client_id, *username, *password;
        bool clean_session;
        char **subscriptions;

        /* The current connection: handle, socket, what we wait for. */
        struct mosquitto *mosq;
        int fd;
        sd_event_source *io;
        uint32_t io_events;
        SubscribeBatch *batches;
        size_t n_batches, pending_subacks;
        PendingMessage *pending, **pending_tail; /* messages of this loop call, in order */
        int connack_rc;                          /* -1 until CONNACK */
        bool subscribed;   /* every SUBACK arrived: report CONNECTED after the loop call */
        char *lib_error;   /* first error libmosquitto logged during this connection */
        int socket_error;  /* SO_ERROR of a TCP connect that failed */
        int socket_family; /* the address family of the socket it failed on */
        uint64_t attempt_usec, connected_usec, last_in_usec, last_out_usec, ping_deadline_usec;

        MqttTls *tls; /* ours: trust, verification and host name check; handed to each handle */

        MqttState state;
        sd_event_source *timer;        /* connect timeout, keepalive, ping deadline */
        uint64_t timer_keepalive_usec; /* when it is armed for the keepalive, that time; else 0 */
        sd_event_source *retry;        /* backoff */
        Backoff *backoff;              /* the caller's, or own_backoff */
        Backoff own_backoff;
        bool ever_connected;
        int next_family;    /* AF_INET or AF_INET6 for the next attempt after a failed TCP connect; else 0 */
        bool single_family; /* the host had no address of the other family: not tried again until connected
                             */

        char *last_error;   /* why the last connection ended or failed */
        char *logged_error; /* the last reason logged at warning level: log changes, not repeats */
        MqttStats stats;
};

static const char *const state_names[_MQTT_STATE_MAX] = {
        [MQTT_STATE_IDLE] = "idle",
        [MQTT_STATE_CONNECTING] = "connecting",
        [MQTT_STATE_CONNECTED] = "connected",
        [MQTT_STATE_BACKOFF] = "backoff",
};

const char *mqtt_state_to_string(MqttState state)
{
        if (state < 0 || state >= _MQTT_STATE_MAX)
                return NULL;
        return state_names[state];
}

/* MOSQ_ERR_* to negative errno, in one place (STYLE rule 7). */
static int errno_from_mosq(int rc, int saved_errno)
{
        switch (rc) {
        case MOSQ_ERR_SUCCESS:
                return 0;
        case MOSQ_ERR_NOMEM:
                return -ENOMEM;
        case MOSQ_ERR_INVAL:
        case MOSQ_ERR_MALFORMED_UTF8:
                return -EINVAL;
        case MOSQ_ERR_NO_CONN:
                return -ENOTCONN;
        case MOSQ_ERR_CONN_LOST:
                return -ECONNRESET;
        case MOSQ_ERR_CONN_REFUSED:
                return -ECONNREFUSED;
        case MOSQ_ERR_TLS:
                return -EPROTO;
        case MOSQ_ERR_PAYLOAD_SIZE:
        case MOSQ_ERR_OVERSIZE_PACKET:
                return -EMSGSIZE;
        case MOSQ_ERR_EAI:
                return -EHOSTUNREACH;
        case MOSQ_ERR_KEEPALIVE:
                return -ETIMEDOUT;
        case MOSQ_ERR_ERRNO:
                return saved_errno > 0 ? -saved_errno : -EIO;
        default:
                return -EIO;
        }
}

static void session_set_state(MqttSession *s, MqttState state, const char *why, uint64_t retry_usec)
{
        if (s->state == state && state != MQTT_STATE_BACKOFF)
                return;
        s->state = state;
        if (s->handlers.state_changed)
                s->handlers.state_changed(s, state, why, retry_usec, s->userdata);
}

/* --- libmosquitto callbacks: record, do not tear down --- */

static void on_mosq_connect(struct mosquitto *mosq, void *userdata, int rc)
{
        MqttSession *s = userdata;

        s->connack_rc = rc;
        if (rc != 0)
                return;

        /* Subscribe after every CONNACK, at most ALINK_MAX_FILTERS_PER_SUBSCRIBE filters per packet. */
        size_t n = strv_length(s->subscriptions);
        free(s->batches);
        s->n_batches = 0;
        s->pending_subacks = 0;
        s->batches = calloc(n / ALINK_MAX_FILTERS_PER_SUBSCRIBE + 1, sizeof(SubscribeBatch));
        if (!s->batches) {
                s->lib_error = s->lib_error ?: strdup("out of memory");
                return;
        }
        for (size_t first = 0; first < n; first += ALINK_MAX_FILTERS_PER_SUBSCRIBE) {
                SubscribeBatch *b = &s->batches[s->n_batches];
                int r;

                b->first = first;
                b->count = MIN(n - first, (size_t) ALINK_MAX_FILTERS_PER_SUBSCRIBE);
                r = mosquitto_subscribe_multiple(mosq, &b->mid, (int) b->count, s->subscriptions + first,
                        /* qos= */ 1, /* options= */ 0, /* properties= */ NULL);
                if (r != MOSQ_ERR_SUCCESS) {
                        log_warning("Cannot subscribe to %s (and %zu more): %s", s->subscriptions[first],
                                b->count - 1, mosquitto_strerror(r));
                        continue;
                }
                s->n_batches++;
                s->pending_subacks++;
        }
        if (s->pending_subacks == 0)
                s->subscribed = true;
}

static void on_mosq_subscribe(
        struct mosquitto *mosq, void *userdata, int mid, int qos_count, const int *granted)
{
        MqttSession *s = userdata;

        (void) mosq;
        for (size_t i = 0; i < s->n_batches; i++) {
                SubscribeBatch *b = &s->batches[i];

                if (b->mid != mid)
                        continue;
                for (size_t k = 0; k < b->count && k < (size_t) qos_count; k++) {
                        if (granted[k] >= 0x80)
                                log_warning("The server refused the subscription to %s (SUBACK 0x%02x); "
                                            "check the topic's permissions in the console",
                                        s->subscriptions[b->first + k], (unsigned) granted[k]);
                        else
                                log_debug("Subscribed to %s", s->subscriptions[b->first + k]);
                }
                b->mid = -1;
                if (s->pending_subacks > 0 && --s->pending_subacks == 0)
                        s->subscribed = true;
                return;
        }
}

static void session_dispatch_messages(MqttSession *s);

static void on_mosq_message(struct mosquitto *mosq, void *userdata, const struct mosquitto_message *m)
{
        MqttSession *s = userdata;
        size_t len = (size_t) MAX(m->payloadlen, 0), tl = strlen(m->topic);
        PendingMessage *p;

        (void) mosq;
        s->stats.messages_received++;
        s->stats.bytes_received += len;
        if (!s->handlers.message)
                return;
        /* libmosquitto owns m only during this call: keep a copy (the payload is at most ALINK_MAX_PAYLOAD
         * plus what one read brought in). Without memory, hand it on now rather than lose it. */
        p = malloc(sizeof(PendingMessage) + len + tl + 1);
        if (!p) {
                session_dispatch_messages(s); /* the ones before it first */
                s->handlers.message(s, m->topic, m->payload, len, m->qos, m->retain, s->userdata);
                return;
        }
        if (len > 0) /* an empty message (clearing a retained one) has no payload pointer */
                memcpy(p->data, m->payload, len);
        p->topic = p->data + len;
        memcpy(p->topic, m->topic, tl + 1);
        p->len = len;
        p->qos = m->qos;
        p->retained = m->retain;
        p->next = NULL;
        *s->pending_tail = p;
        s->pending_tail = &p->next;
}

/* Hand on the messages of the last loop call, outside libmosquitto. */
static void session_dispatch_messages(MqttSession *s)
{
        while (s->pending) {
                PendingMessage *p = s->pending;

                s->pending = p->next;
                if (!s->pending)
                        s->pending_tail = &s->pending;
                if (s->handlers.message)
                        s->handlers.message(s, p->topic, p->data, p->len, p->qos, p->retained, s->userdata);
                free(p);
        }
}

static void on_mosq_publish(struct mosquitto *mosq, void *userdata, int mid)
{
        MqttSession *s = userdata;

        (void) mosq;
        if (s->handlers.published)
                s->handlers.published(s, mid, s->userdata);
}

static void on_mosq_log(struct mosquitto *mosq, void *userdata, int level, const char *str)
{
        MqttSession *s = userdata;

        (void) mosq;
        log_debug("libmosquitto: %s", str);
        /* Keep the first error of a connection: it usually is the cause (e.g. the TLS verify failure). */
        if ((level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) && !s->lib_error)
                s->lib_error = strdup(str);
}

/* --- connection lifecycle --- */

static int socket_family(int fd)
{
        struct sockaddr_storage sa;
        socklen_t l = sizeof(sa);

        return fd >= 0 && getsockname(fd, (struct sockaddr *) &sa, &l) >= 0 ? sa.ss_family : 0;
}

/* A failed TCP connect: its error, and the family it was tried over (libmosquitto may close the socket
 * before we get to ask). */
static void session_set_socket_error(MqttSession *s, int fd, int error)
{
        s->socket_error = error;
        s->socket_family = socket_family(fd);
}

static void on_tls_socket_error(void *userdata, int fd, int error)
{
        MqttSession *s = userdata;

        if (s->socket_error == 0)
                session_set_socket_error(s, fd, error);
}

static void session_arm_timer(MqttSession *s);
static void session_schedule_retry(MqttSession *s, bool was_connected);

static void connection_free(MqttSession *s)
{
        s->io = sd_event_source_disable_unref(s->io);
        if (s->mosq) {
                mosquitto_destroy(s->mosq);
                s->mosq = NULL;
        }
        s->fd = -1;
        s->io_events = 0;
        s->batches = mfree(s->batches);
        s->n_batches = s->pending_subacks = 0;
        s->subscribed = false;
        s->connack_rc = -1;
        s->lib_error = mfree(s->lib_error);
        s->socket_error = 0;
        s->socket_family = 0;
        mqtt_tls_reset(s->tls);
        s->ping_deadline_usec = 0;
        s->timer_keepalive_usec = 0;
        s->stats.connected_since_usec = 0;
}

static const char *connack_reason(int rc)
{
        /* MQTT 3.1.1 §3.2.2.3. 4 and 5 are what a wrong signature or a disabled device look like. */
        switch (rc) {
        case 1:
                return "unacceptable protocol version";
        case 2:
                return "client identifier rejected";
        case 3:
                return "server unavailable";
        case 4:
                return "bad user name or password (check product_key, device_name and the device secret)";
        case 5:
                return "not authorised (is the device disabled, or the secret wrong?)";
        default:
                return "refused";
        }
}

/* Why the connection failed, in words an operator can act on. */
static char *describe_failure(MqttSession *s, int rc, int saved_errno)
{
        bool handshake = s->connack_rc < 0; /* no CONNACK yet: TCP, TLS or the CONNECT itself failed */
        const char *tls = mqtt_tls_error_reason(s->lib_error), *reason, *subject;
        char *d = NULL;
        int r;

        if (s->connack_rc > 0)
                r = asprintf(&d, "server refused the connection: %s (CONNACK %d)",
                        connack_reason(s->connack_rc), s->connack_rc);
        else if (rc == MOSQ_ERR_EAI)
                r = asprintf(&d, "cannot resolve %s: %s", s->host, gai_strerror(saved_errno ?: EAI_FAIL));
        else if (handshake && (s->socket_error == ECONNRESET || s->socket_error == EPIPE))
                /* TCP worked; the server hung up on the ClientHello: a plain-TCP port, or a TLS server that
                 * does not like what it got. */
                r = asprintf(&d,
                        "TLS handshake with %s:%u failed: the server closed the connection (%s); is it a "
                        "TLS port?",
                        s->host, s->port, strerror(s->socket_error));
        else if (handshake && s->socket_error > 0)
                r = asprintf(&d, "cannot connect to %s:%u: %s", s->host, s->port, strerror(s->socket_error));
        else if (mqtt_tls_verify_failed(s->tls, &reason, &subject))
                r = asprintf(&d, "TLS handshake with %s:%u failed: server certificate not accepted: %s (%s)",
                        s->host, s->port, reason, subject);
        else if (handshake && tls)
                r = asprintf(&d, "TLS handshake with %s:%u failed: %s", s->host, s->port, tls);
        else if (handshake && rc == MOSQ_ERR_ERRNO && saved_errno > 0 && saved_errno != EPROTO)
                r = asprintf(&d, "cannot connect to %s:%u: %s", s->host, s->port, strerror(saved_errno));
        else if (handshake)
                r = asprintf(&d, "TLS handshake with %s:%u failed: %s", s->host, s->port,
                        rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_SUCCESS
                                ? "the server closed the connection"
                        : rc == MOSQ_ERR_ERRNO ? strerror(saved_errno ?: EIO)
                                               : mosquitto_strerror(rc));
        else if (rc == MOSQ_ERR_ERRNO && saved_errno > 0)
                r = asprintf(&d, "connection lost: %s", strerror(saved_errno));
        else if (rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_SUCCESS)
                r = asprintf(&d, "the server closed the connection");
        else if (rc == MOSQ_ERR_KEEPALIVE)
                r = asprintf(&d, "keepalive timeout");
        else
                r = asprintf(&d, "%s", tls ?: s->lib_error ?: mosquitto_strerror(rc));
        return r < 0 ? NULL : d;
}

/* When this attempt's TCP connect never came up, the family to try next: the other one. */
static int next_family_after_failure(MqttSession *s)
{
        struct sockaddr_storage sa;
        socklen_t l = sizeof(sa);
        int family = 0;

        if (s->single_family || s->connack_rc >= 0 || host_is_address(s->host))
                return 0;
        switch (s->socket_error) {
        case ECONNREFUSED:
        case ENETUNREACH:
        case EHOSTUNREACH:
        case ENETDOWN:
        case EHOSTDOWN:
        case ETIMEDOUT:
        case EADDRNOTAVAIL:
                family = s->socket_family;
                break;
        }
        if (family == 0 && s->socket_error == 0 && s->fd >= 0 &&
                getpeername(s->fd, (struct sockaddr *) &sa, &l) < 0 && errno == ENOTCONN)
                family = socket_family(s->fd); /* the connect timed out on our side */
        return family == AF_INET6 ? AF_INET : family == AF_INET ? AF_INET6 : 0;
}

/* The connection ended (or never came up): say why once per distinct reason, then back off. */
static void session_fail(MqttSession *s, const char *why)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        bool was_connected = s->state == MQTT_STATE_CONNECTED;

        s->next_family = next_family_after_failure(s);

        if (was_connected || s->connected_usec > 0)
                backoff_disconnected(s->backoff, s->connected_usec, now);
        else
                backoff_failed(s->backoff);
        s->connected_usec = 0;

        (void) free_and_strdup(&s->last_error, why ?: "unknown error");
        connection_free(s);
        session_schedule_retry(s, was_connected);
}

/* After every libmosquitto loop call: act on what the callbacks recorded, keep the io source in step. */
static void session_after_loop(MqttSession *s, int rc, int saved_errno)
{
        struct mosquitto *mosq;
        uint32_t events;

        if (!s->mosq)
                return;
        if (rc != MOSQ_ERR_SUCCESS || mosquitto_socket(s->mosq) < 0 || s->connack_rc > 0) {
                _cleanup_(freep) char *why = describe_failure(s, rc, saved_errno);

                mosq = s->mosq;
                /* What arrived before the link broke was acknowledged: hand it on all the same. */
                session_dispatch_messages(s);
                if (s->mosq == mosq) /* unless a handler stopped or restarted us */
                        session_fail(s, why);
                return;
        }

        if (s->subscribed && s->state != MQTT_STATE_CONNECTED) {
                const char *version, *cipher;

                s->connected_usec = now_usec(CLOCK_MONOTONIC);
                s->stats.connected_since_usec = now_usec(CLOCK_REALTIME);
                if (s->ever_connected)
                        s->stats.reconnects++;
                s->ever_connected = true;
                s->single_family = false;
                s->last_error = mfree(s->last_error);
                s->logged_error = mfree(s->logged_error);
                mqtt_tls_describe(
                        mosquitto_ssl_get(s->mosq), &version, &cipher, &s->stats.server_cert_not_after_usec);
                log_struct(LOG_INFO, ALI_MESSAGE_CLOUD_CONNECTED, "Connected to %s:%u (%s, %s)", s->host,
                        s->port, version, cipher);
                session_set_state(s, MQTT_STATE_CONNECTED, NULL, 0);
                if (!s->mosq) /* the handler stopped or restarted us */
                        return;
        }

        mosq = s->mosq;
        session_dispatch_messages(s);
        if (s->mosq != mosq)
                return;

        /* EPOLLOUT only while libmosquitto has something to write (or the TCP connect is pending):
         * asking for it on an idle socket would spin the loop. */
        events = EPOLLIN | EPOLLRDHUP;
        if (mosquitto_want_write(s->mosq))
                events |= EPOLLOUT;
        if (events != s->io_events && sd_event_source_set_io_events(s->io, events) >= 0)
                s->io_events = events;
        session_arm_timer(s);
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        MqttSession *s = userdata;
        int rc = MOSQ_ERR_SUCCESS, saved_errno = 0;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        (void) source;

        /* A failed TCP connect shows up as EPOLLERR; libmosquitto would only report "a TLS error". */
        if ((revents & (EPOLLERR | EPOLLHUP)) && s->connack_rc < 0 && s->socket_error == 0) {
                int err = 0;
                socklen_t l = sizeof(err);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) >= 0 && err > 0)
                        session_set_socket_error(s, fd, err);
        }

        /* The server went away during the TLS handshake. libmosquitto treats a failed handshake read
         * (SSL_ERROR_SYSCALL) as "try again", which on a closed socket would spin; say what happened. */
        if ((revents & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) && s->connack_rc < 0 && !s->subscribed &&
                !mqtt_tls_handshake_done(mosquitto_ssl_get(s->mosq))) {
                _cleanup_(freep) char *why = describe_failure(s, MOSQ_ERR_CONN_LOST, 0);
                session_fail(s, why);
                return 0;
        }

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                s->last_in_usec = now;
                s->ping_deadline_usec = 0; /* anything from the server proves the link */
                errno = 0;
                rc = mosquitto_loop_read(s->mosq, 1);
                saved_errno = errno;
        }
        /* Write what the read produced (PUBACKs, replies published from the message handler) right away,
         * and whatever waited for EPOLLOUT. */
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_socket(s->mosq) >= 0 &&
                ((revents & EPOLLOUT) || mosquitto_want_write(s->mosq))) {
                s->last_out_usec = now;
                errno = 0;
                rc = mosquitto_loop_write(s->mosq, 1);
                saved_errno = errno;
        }
        session_after_loop(s, rc, saved_errno);
        return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
        MqttSession *s = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int rc, saved_errno;

        (void) source;
        (void) usec;

        s->timer_keepalive_usec = 0;
        if (!s->mosq)
                return 0;
        if (s->state == MQTT_STATE_CONNECTING) {
                if (now >= s->attempt_usec + MQTT_CONNECT_TIMEOUT_USEC) {
                        _cleanup_(freep) char *why = NULL;
                        if (asprintf(&why, "no answer from %s:%u within %llu s", s->host, s->port,
                                    (unsigned long long) (MQTT_CONNECT_TIMEOUT_USEC / USEC_PER_SEC)) < 0)
                                why = NULL;
                        session_fail(s, why);
                        return 0;
                }
        } else if (s->ping_deadline_usec > 0 && now >= s->ping_deadline_usec) {
                _cleanup_(freep) char *why = NULL;
                if (asprintf(&why, "no answer to the keepalive ping within %u s: link lost",
                            s->keepalive / 2 - 2) < 0)
                        why = NULL;
                session_fail(s, why);
                return 0;
        } else if (s->state == MQTT_STATE_CONNECTED &&
                   now >= MIN(s->last_in_usec, s->last_out_usec) + s->keepalive * USEC_PER_SEC) {
                /* libmosquitto sends PINGREQ now (one second late, see above); expect anything back within
                 * half a keepalive of when it was due: a dead link is noticed 1.5 x keepalive after the last
                 * traffic at the latest. */
                s->ping_deadline_usec =
                        now + s->keepalive * USEC_PER_SEC / 2 - USEC_PER_SEC - MQTT_TIMER_SLACK_USEC;
                s->last_out_usec = now;
        }

        errno = 0;
        rc = mosquitto_loop_misc(s->mosq);
        saved_errno = errno;
        if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(s->mosq)) {
                rc = mosquitto_loop_write(s->mosq, 1);
                saved_errno = errno;
        }
        session_after_loop(s, rc, saved_errno);
        return 0;
}

static void session_arm_timer(MqttSession *s)
{
        bool keepalive = false;
        uint64_t next;
        int r;

        if (!s->mosq || !s->timer)
                return;
        if (s->state == MQTT_STATE_CONNECTING)
                next = s->attempt_usec + MQTT_CONNECT_TIMEOUT_USEC;
        else if (s->ping_deadline_usec > 0)
                next = s->ping_deadline_usec;
        else {
                next = MIN(s->last_in_usec, s->last_out_usec) + (s->keepalive + 1) * USEC_PER_SEC;
                keepalive = true;
        }

        /* Every message moves the keepalive deadline later. Rather than reprogramming the timer for each
         * one, leave it where it is: when it fires early, on_timer() finds nothing due and it is armed
         * again. */
        if (keepalive && s->timer_keepalive_usec > 0 && next >= s->timer_keepalive_usec)
                return;
        r = event_timer_arm(s->timer, next);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the MQTT keepalive timer, ignoring: %m");
        s->timer_keepalive_usec = r >= 0 && keepalive ? next : 0;
}

static int session_connect(MqttSession *s)
{
        struct mosquitto *m;
        const char *bind;
        int rc, saved_errno, fd, r;

        s->attempt_usec = now_usec(CLOCK_MONOTONIC);
        backoff_attempt(s->backoff, s->attempt_usec);
        connection_free(s);

        m = mosquitto_new(s->client_id, s->clean_session, s);
        if (!m)
                return log_oom();
        s->mosq = m;

        mosquitto_connect_callback_set(m, on_mosq_connect);
        mosquitto_subscribe_callback_set(m, on_mosq_subscribe);
        mosquitto_message_callback_set(m, on_mosq_message);
        mosquitto_publish_callback_set(m, on_mosq_publish);
        mosquitto_log_callback_set(m, on_mosq_log);

        rc = mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        /* Nagle would hold a reply back until the broker's delayed ACK: tens of ms per round trip. */
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, ALINK_MAX_INFLIGHT);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_username_pw_set(m, s->username, s->password);
        if (rc == MOSQ_ERR_SUCCESS) {
                r = s->tls ? 0
                           : mqtt_tls_new(&s->tls, s->host, s->ca_file, s->ca_path, on_tls_socket_error, s);
                if (r < 0) {
                        _cleanup_(freep) char *why = NULL;
                        if (asprintf(&why, "cannot load the trusted CA %s %s",
                                    s->ca_file ? "file" : "directory", s->ca_file ?: s->ca_path) < 0)
                                why = NULL;
                        session_fail(s, why);
                        return 0;
                }
                rc = mosquitto_void_option(m, MOSQ_OPT_SSL_CTX, mqtt_tls_ssl_ctx(s->tls));
        }
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_int_option(m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
        if (rc != MOSQ_ERR_SUCCESS) {
                r = errno_from_mosq(rc, errno);
                connection_free(s);
                return log_error_errno(r, "Cannot set up the MQTT client: %s", mosquitto_strerror(rc));
        }

        session_set_state(s, MQTT_STATE_CONNECTING, NULL, 0);
        log_debug("Connecting to %s:%u", s->host, s->port);

        /* Binding to the wildcard of one family makes libmosquitto skip the other's addresses. */
        bind = s->next_family == AF_INET ? "0.0.0.0" : s->next_family == AF_INET6 ? "::" : NULL;
        if (bind)
                log_debug("Connecting to %s:%u over %s: the last TCP connect over %s failed", s->host,
                        s->port, s->next_family == AF_INET ? "IPv4" : "IPv6",
                        s->next_family == AF_INET ? "IPv6" : "IPv4");
        s->next_family = 0;
        errno = 0;
        rc = mosquitto_connect_bind_async(m, s->host, s->port, (int) s->keepalive, bind);
        if (bind && rc != MOSQ_ERR_SUCCESS && mosquitto_socket(m) < 0) {
                /* The name has no address of that family (or resolving failed): any will do, and the other
                 * family is not tried again (resolving twice per attempt) until a connection came up. */
                log_debug("No %s address to try: %s", s->host, mosquitto_strerror(rc));
                s->single_family = true;
                errno = 0;
                rc = mosquitto_connect_async(m, s->host, s->port, (int) s->keepalive);
        }
        saved_errno = errno; /* for MOSQ_ERR_EAI libmosquitto leaves the getaddrinfo() code here */
        if (rc != MOSQ_ERR_SUCCESS) {
                _cleanup_(freep) char *why = NULL;
                int err = 0;
                socklen_t l = sizeof(err);

                /* A refused TCP connect on loopback fails inside the first TLS write and comes back as
                 * "a TLS error": ask the socket what really happened. */
                fd = mosquitto_socket(m);
                if (fd >= 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) >= 0 && err > 0)
                        session_set_socket_error(s, fd, err);
                log_debug("mosquitto_connect_async: %s, errno %s, socket error %s", mosquitto_strerror(rc),
                        strerror(saved_errno), strerror(s->socket_error));
                why = describe_failure(s, rc, saved_errno);
                session_fail(s, why);
                return 0;
        }

        fd = mosquitto_socket(m);
        if (fd < 0) {
                session_fail(s, "libmosquitto returned no socket");
                return 0;
        }
        r = sd_event_add_io(s->event, &s->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLOUT, on_io, s);
        if (r < 0) {
                log_error_errno(r, "Cannot watch the MQTT socket: %m");
                session_fail(s, "cannot watch the socket");
                return 0;
        }
        (void) sd_event_source_set_description(s->io, "mqtt-io");
        s->fd = fd;
        s->io_events = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
        s->last_in_usec = s->last_out_usec = s->attempt_usec;
        session_arm_timer(s);
        return 0;
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata)
{
        MqttSession *s = userdata;

        (void) source;
        (void) usec;
        (void) session_connect(s);
        return 0;
}

static void format_delay(char *buf, size_t size, uint64_t usec)
{
        if (usec < USEC_PER_SEC)
                snprintf(buf, size, "%llu ms", (unsigned long long) (usec / USEC_PER_MSEC));
        else
                snprintf(buf, size, "%llu s",
                        (unsigned long long) ((usec + USEC_PER_SEC / 2) / USEC_PER_SEC));
}

static void session_schedule_retry(MqttSession *s, bool was_connected)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), random = 0, delay;
        char when[32];
        int r;

        if (getrandom(&random, sizeof(random), GRND_NONBLOCK) != sizeof(random))
                random = now * 6364136223846793005ULL + 1442695040888963407ULL;
        delay = backoff_next_delay(s->backoff, now, random);
        format_delay(when, sizeof(when), delay);

        /* A failure that repeats (wrong secret, server down) is said once, not once per try. */
        if (was_connected) {
                log_struct(LOG_WARNING, ALI_MESSAGE_CLOUD_DISCONNECTED,
                        "Disconnected from %s:%u: %s; reconnecting in %s", s->host, s->port,
                        strna(s->last_error), when);
                (void) free_and_strdup(&s->logged_error, s->last_error);
        } else if (!streq_ptr(s->last_error, s->logged_error)) {
                log_warning("Connection to %s:%u failed: %s; retrying in %s", s->host, s->port,
                        strna(s->last_error), when);
                (void) free_and_strdup(&s->logged_error, s->last_error);
        } else
                log_debug("Connection to %s:%u failed again: %s; retrying in %s", s->host, s->port,
                        strna(s->last_error), when);

        r = event_timer_arm(s->retry, now + delay);
        if (r < 0)
                log_error_errno(r, "Cannot arm the reconnect timer: %m");
        session_set_state(s, MQTT_STATE_BACKOFF, s->last_error, delay);
}

int mqtt_session_new(MqttSession **ret, sd_event *event, const MqttSessionConfig *c,
        const MqttSessionHandlers *handlers, void *userdata)
{
        _cleanup_(mqtt_session_freep) MqttSession *s = NULL;
        int r;

        if (!ret || !event || !c || isempty(c->host) || !c->client_id || !c->username || !c->password ||
                c->port == 0 || c->keepalive == 0 || (!c->ca_file && !c->ca_path))
                return -EINVAL;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->fd = -1;
        s->connack_rc = -1;
        s->pending_tail = &s->pending;
        s->event = sd_event_ref(event);
        s->handlers = handlers ? *handlers : (MqttSessionHandlers){};
        s->userdata = userdata;
        s->port = c->port;
        s->keepalive = c->keepalive;
        s->clean_session = c->clean_session;
        s->own_backoff = BACKOFF_INIT;
        s->backoff = c->backoff ?: &s->own_backoff;

        if (!(s->host = strdup(c->host)) || !(s->client_id = strdup(c->client_id)) ||
                !(s->username = strdup(c->username)) || !(s->password = strdup(c->password)) ||
                (c->ca_file && !(s->ca_file = strdup(c->ca_file))) ||
                (c->ca_path && !(s->ca_path = strdup(c->ca_path))))
                return -ENOMEM;
        s->subscriptions = calloc(strv_length(c->subscriptions) + 1, sizeof(char *));
        if (!s->subscriptions)
                return -ENOMEM;
        for (size_t i = 0; c->subscriptions && c->subscriptions[i]; i++)
                if (!(s->subscriptions[i] = strdup(c->subscriptions[i])))
                        return -ENOMEM;

        r = sd_event_add_time(
                event, &s->timer, CLOCK_MONOTONIC, UINT64_MAX, MQTT_TIMER_ACCURACY_USEC, on_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->timer, "mqtt-timer");
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        r = sd_event_add_time(event, &s->retry, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_SEC / 10, on_retry, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->retry, "mqtt-retry");
        (void) sd_event_source_set_enabled(s->retry, SD_EVENT_OFF);

        *ret = TAKE_PTR(s);
        return 0;
}

void mqtt_session_stop(MqttSession *s)
{
        if (!s)
                return;
        if (s->mosq && s->state == MQTT_STATE_CONNECTED) {
                /* Not inside a libmosquitto callback, so DISCONNECT is written to the socket right away. */
                (void) mosquitto_disconnect(s->mosq);
                log_struct(LOG_INFO, ALI_MESSAGE_CLOUD_DISCONNECTED, "Disconnected from %s:%u", s->host,
                        s->port);
        }
        connection_free(s);
        s->connected_usec = 0;
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_enabled(s->retry, SD_EVENT_OFF);
        session_set_state(s, MQTT_STATE_IDLE, NULL, 0);
}

MqttSession *mqtt_session_free(MqttSession *s)
{
        if (!s)
                return NULL;
        s->handlers = (MqttSessionHandlers){};
        mqtt_session_stop(s);
        session_dispatch_messages(s); /* without a handler: frees them */
        sd_event_source_disable_unref(s->timer);
        sd_event_source_disable_unref(s->retry);
        sd_event_unref(s->event);
        mqtt_tls_free(s->tls);
        free(s->host);
        free(s->ca_file);
        free(s->ca_path);
        free(s->client_id);
        free(s->username);
        erase_and_free(s->password);
        strv_free(s->subscriptions);
        free(s->last_error);
        free(s->logged_error);
        free(s);
        return NULL;
}

/* Connect now, unless this identity used up its attempts of the last minute: then when the window allows. */
static int session_connect_or_wait(MqttSession *s)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), wait = backoff_window_delay(s->backoff, now);
        char when[32];
        int r;

        if (wait == 0)
                return session_connect(s);
        format_delay(when, sizeof(when), wait);
        log_warning("At most %u connection attempts a minute are allowed for this device; connecting in %s",
                BACKOFF_MAX_ATTEMPTS, when);
        (void) free_and_strdup(&s->last_error,
                "connection attempts limited to " STRINGIFY(BACKOFF_MAX_ATTEMPTS) " a minute");
        r = event_timer_arm(s->retry, now + wait);
        if (r < 0)
                return log_error_errno(r, "Cannot arm the reconnect timer: %m");
        session_set_state(s, MQTT_STATE_BACKOFF, s->last_error, wait);
        return 0;
}

int mqtt_session_start(MqttSession *s)
{
        if (!s)
                return -EINVAL;
        if (s->state != MQTT_STATE_IDLE)
                return 0;
        return session_connect_or_wait(s);
}

int mqtt_session_reconnect(MqttSession *s)
{
        if (!s)
                return -EINVAL;
        mqtt_session_stop(s);
        return session_connect_or_wait(s);
}

int mqtt_session_publish(
        MqttSession *s, const char *topic, const void *payload, size_t len, int qos, int *ret_mid)
{
        int rc, mid = 0;

        if (!s || !topic || qos < 0 || qos > 1)
                return -EINVAL;
        if (len > ALINK_MAX_PAYLOAD)
                return -EMSGSIZE;
        if (!s->mosq || s->state != MQTT_STATE_CONNECTED)
                return -ENOTCONN;

        errno = 0;
        rc = mosquitto_publish(s->mosq, &mid, topic, (int) len, payload, qos, /* retain= */ false);
        if (rc != MOSQ_ERR_SUCCESS)
                return errno_from_mosq(rc, errno);
        s->stats.messages_sent++;
        s->stats.bytes_sent += len;
        s->last_out_usec = now_usec(CLOCK_MONOTONIC);
        if (ret_mid)
                *ret_mid = mid;

        /* Outside a libmosquitto callback the packet is already written; inside one it is queued and
         * written when the loop call returns. Either way make sure EPOLLOUT follows want_write. */
        if (s->io && mosquitto_want_write(s->mosq) && !(s->io_events & EPOLLOUT) &&
                sd_event_source_set_io_events(s->io, EPOLLIN | EPOLLRDHUP | EPOLLOUT) >= 0)
                s->io_events = EPOLLIN | EPOLLRDHUP | EPOLLOUT;
        return 0;
}

MqttState mqtt_session_get_state(const MqttSession *s)
{
        return s->state;
}

const MqttStats *mqtt_session_get_stats(const MqttSession *s)
{
        return &s->stats;
}

const char *mqtt_session_get_last_error(const MqttSession *s)
{
        return s->last_error;
}

int mqtt_library_init(void)
{
        return mosquitto_lib_init() == MOSQ_ERR_SUCCESS ? 0 : -EIO;
}

void mqtt_library_cleanup(void)
{
        (void) mosquitto_lib_cleanup();
}
