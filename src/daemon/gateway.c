/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gateway.c: sub-devices' topology and sessions (gateway.h says what it promises). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event-util.h"
#include "gateway.h"
#include "log.h"
#include "string-table.h"
#include "string-util.h"
#include "time-util.h"

/* The platform answers within a second or two; a request without an answer after this is sent again. */
#define GATEWAY_REPLY_TIMEOUT_USEC (10 * USEC_PER_SEC)
#define GATEWAY_BACKOFF_MIN_USEC (1 * USEC_PER_SEC)
#define GATEWAY_BACKOFF_MAX_USEC (60 * USEC_PER_SEC)

static const char *const subdev_state_table[_SUBDEV_STATE_MAX] = {
        [SUBDEV_OFFLINE] = "offline",
        [SUBDEV_BINDING] = "binding",
        [SUBDEV_LOGGING_IN] = "logging-in",
        [SUBDEV_ONLINE] = "online",
        [SUBDEV_DISABLED] = "disabled",
        [SUBDEV_PARKED] = "parked",
};

DEFINE_STRING_TABLE_TO_STRING(subdev_state, SubdevState);

typedef struct Subdev {
        char *pk, *dn, *secret;
        SubdevState state;
        bool bound; /* in this gateway's topology, as topo/get or topo/add said */
        bool alone; /* a batch with it failed: it goes in a batch of its own next */
        char *error;
} Subdev;

typedef enum RequestKind {
        REQUEST_NONE,
        REQUEST_TOPO_GET,
        REQUEST_TOPO_ADD,
        REQUEST_LOGIN,
} RequestKind;

struct Gateway {
        GatewayHost host;
        AlinkGatewayTopics topics;
        Subdev **subs;
        size_t n_subs;
        bool connected, topo_known, full, stopping;

        /* The request in flight, and its members. */
        RequestKind request;
        char *request_id;
        Subdev **members;
        size_t n_members;

        sd_event_source *timer; /* the reply timeout, or the backoff before the next request */
        bool backing_off;
        unsigned failures;
        /* Logins in the current second (at most ALINK_SUBDEV_LOGINS_PER_SECOND). */
        uint64_t window_start_usec;
        unsigned window_logins;
};

static void subdev_free(Subdev *s)
{
        if (!s)
                return;
        free(s->pk);
        free(s->dn);
        erase_and_free(s->secret);
        free(s->error);
        free(s);
}

static Subdev *find(const Gateway *g, const char *pk, const char *dn)
{
        for (size_t i = 0; i < g->n_subs; i++)
                if (streq(g->subs[i]->pk, pk) && streq(g->subs[i]->dn, dn))
                        return g->subs[i];
        return NULL;
}

static void set_state(Gateway *g, Subdev *s, SubdevState state)
{
        bool was = s->state == SUBDEV_ONLINE;

        if (s->state == state)
                return;
        s->state = state;
        if (state == SUBDEV_ONLINE)
                s->error = mfree(s->error);
        if (was != (state == SUBDEV_ONLINE) && g->host.online_changed)
                g->host.online_changed(g->host.userdata, s->pk, s->dn, state == SUBDEV_ONLINE);
}

_printf_(4, 5) static void park(Gateway *g, Subdev *s, SubdevState state, const char *format, ...)
{
        va_list ap;
        char *e;

        va_start(ap, format);
        if (vasprintf(&e, format, ap) < 0)
                e = NULL;
        va_end(ap);
        free(s->error);
        s->error = e;
        s->alone = false;
        set_state(g, s, state);
        log_warning("Sub-device %s/%s is %s: %s", s->pk, s->dn, subdev_state_to_string(state), strna(e));
}

static void request_clear(Gateway *g)
{
        g->request = REQUEST_NONE;
        g->request_id = mfree(g->request_id);
        g->members = mfree(g->members);
        g->n_members = 0;
        if (!g->backing_off)
                (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
}

/* Members that are still in the request's state go back to waiting. */
static void members_back(Gateway *g)
{
        for (size_t i = 0; i < g->n_members; i++)
                if (g->members[i]->state == SUBDEV_BINDING || g->members[i]->state == SUBDEV_LOGGING_IN)
                        set_state(g, g->members[i], SUBDEV_OFFLINE);
}

static void gateway_pump(Gateway *g);

static void backoff_start(Gateway *g, const char *why)
{
        uint64_t delay = GATEWAY_BACKOFF_MIN_USEC << MIN(g->failures, 6u);

        g->failures++;
        delay = MIN(delay, GATEWAY_BACKOFF_MAX_USEC);
        /* Full jitter, as for reconnects: many gateways of one fleet do not come back in step. */
        delay = delay / 2 + (uint64_t) random() % (delay / 2 + 1);
        log_info("Sub-device requests wait %" PRIu64 " ms: %s", delay / USEC_PER_MSEC, why);
        g->backing_off = true;
        if (event_timer_arm_relative(g->timer, delay) < 0)
                g->backing_off = false;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Gateway *g = userdata;

        (void) s;
        (void) usec;
        if (g->backing_off) {
                g->backing_off = false;
                gateway_pump(g);
                return 0;
        }
        if (g->request == REQUEST_NONE)
                return 0;
        log_warning("No answer to the gateway's %s request %s within %" PRIu64 " s; trying again",
                g->request == REQUEST_TOPO_GET   ? "thing/topo/get"
                : g->request == REQUEST_TOPO_ADD ? "thing/topo/add"
                                                 : "combine/batch_login",
                strna(g->request_id), GATEWAY_REPLY_TIMEOUT_USEC / USEC_PER_SEC);
        members_back(g);
        request_clear(g);
        backoff_start(g, "no answer");
        return 0;
}

/* Publish one request (QoS 0: the platform's rule for these) and wait for its answer. */
static int send_request(Gateway *g, RequestKind kind, const char *topic, char *id, const char *payload)
{
        int r;

        r = g->host.publish(g->host.userdata, topic, payload, /* qos= */ 0);
        if (r < 0) {
                free(id);
                members_back(g);
                g->members = mfree(g->members);
                g->n_members = 0;
                return log_debug_errno(r, "Cannot send to %s now: %m", topic);
        }
        g->request = kind;
        g->request_id = id;
        (void) event_timer_arm_relative(g->timer, GATEWAY_REPLY_TIMEOUT_USEC);
        return 0;
}

/* The members of the next request: a sub-device that failed in a batch goes alone; else up to max of those
 * in state from that want() takes. */
static size_t pick(Gateway *g, SubdevState from, bool (*want)(const Subdev *s), size_t max)
{
        Subdev *alone = NULL;

        g->members = mfree(g->members);
        g->n_members = 0;
        for (size_t i = 0; i < g->n_subs && !alone; i++)
                if (g->subs[i]->state == from && want(g->subs[i]) && g->subs[i]->alone)
                        alone = g->subs[i];
        g->members = calloc(alone ? 1 : MAX(max, (size_t) 1), sizeof(Subdev *));
        if (!g->members)
                return 0;
        if (alone)
                g->members[g->n_members++] = alone;
        for (size_t i = 0; !alone && i < g->n_subs && g->n_members < max; i++)
                if (g->subs[i]->state == from && want(g->subs[i]))
                        g->members[g->n_members++] = g->subs[i];
        if (g->n_members == 0)
                g->members = mfree(g->members);
        return g->n_members;
}

static bool wants_binding(const Subdev *s)
{
        return !s->bound;
}

static bool wants_login(const Subdev *s)
{
        return s->bound;
}

static AlinkSubdevice *entries_of(Gateway *g)
{
        AlinkSubdevice *e = calloc(g->n_members, sizeof(AlinkSubdevice));

        for (size_t i = 0; e && i < g->n_members; i++)
                e[i] = (AlinkSubdevice){g->members[i]->pk, g->members[i]->dn, g->members[i]->secret};
        return e;
}

static uint64_t now_ms(void)
{
        return now_usec(CLOCK_REALTIME) / USEC_PER_MSEC;
}

/* A topo/add or a batch_login of the members picked. */
static void send_batch(Gateway *g, RequestKind kind)
{
        _cleanup_(freep) AlinkSubdevice *e = entries_of(g);
        _cleanup_(freep) char *payload = NULL;
        char *id = g->host.new_message_id(g->host.userdata);
        bool login = kind == REQUEST_LOGIN;
        int r = -ENOMEM;

        if (e && id)
                r = login ? alink_build_batch_login(id, e, g->n_members, now_ms(), &payload)
                          : alink_build_topo_add(id, e, g->n_members, now_ms(), &payload);
        if (r < 0) {
                free(id);
                g->members = mfree(g->members);
                g->n_members = 0;
                return (void) log_oom();
        }
        for (size_t i = 0; i < g->n_members; i++)
                set_state(g, g->members[i], login ? SUBDEV_LOGGING_IN : SUBDEV_BINDING);
        if (login)
                g->window_logins += (unsigned) g->n_members;
        log_info("%s %zu sub-device%s (%s %s)", login ? "Logging in" : "Binding", g->n_members,
                g->n_members == 1 ? "" : "s", login ? "combine/batch_login" : "thing/topo/add", id);
        (void) send_request(g, kind, login ? g->topics.login : g->topics.topo_add, id, payload);
}

/* The next request, if one is due and none is in flight. */
static void gateway_pump(Gateway *g)
{
        uint64_t now;
        size_t room;

        if (!g->connected || g->stopping || g->request != REQUEST_NONE || g->backing_off)
                return;

        if (!g->topo_known) {
                _cleanup_(freep) char *payload = NULL;
                char *id;

                if (g->n_subs == 0)
                        return;
                id = g->host.new_message_id(g->host.userdata);
                if (!id || alink_build_topo_get(id, &payload) < 0) {
                        free(id);
                        return (void) log_oom();
                }
                (void) send_request(g, REQUEST_TOPO_GET, g->topics.topo_get, id, payload);
                return;
        }

        if (pick(g, SUBDEV_OFFLINE, wants_binding, ALINK_TOPO_ADD_MAX) > 0)
                return send_batch(g, REQUEST_TOPO_ADD);

        if (g->full)
                return;
        now = now_usec(CLOCK_MONOTONIC);
        if (now - g->window_start_usec >= USEC_PER_SEC) {
                g->window_start_usec = now;
                g->window_logins = 0;
        }
        {
                size_t online = gateway_n_online(g), left_online, left_second;

                left_online = online < ALINK_SUBDEV_ONLINE_MAX ? ALINK_SUBDEV_ONLINE_MAX - online : 0;
                left_second = g->window_logins < ALINK_SUBDEV_LOGINS_PER_SECOND
                                      ? ALINK_SUBDEV_LOGINS_PER_SECOND - g->window_logins
                                      : 0;
                room = MIN(left_online, left_second);
                room = MIN(room, (size_t) ALINK_BATCH_LOGIN_MAX);
        }
        if (room == 0) {
                bool any = false;
                for (size_t i = 0; i < g->n_subs && !any; i++)
                        any = g->subs[i]->state == SUBDEV_OFFLINE && g->subs[i]->bound;
                /* The second is used up: the rest in the next one. */
                if (any && g->window_logins >= ALINK_SUBDEV_LOGINS_PER_SECOND) {
                        g->backing_off = true;
                        if (event_timer_arm_relative(g->timer, g->window_start_usec + USEC_PER_SEC - now) <
                                0)
                                g->backing_off = false;
                }
                return;
        }
        if (pick(g, SUBDEV_OFFLINE, wants_login, room) > 0)
                send_batch(g, REQUEST_LOGIN);
}

/* A login refused for one sub-device, by code. */
static void login_refused(Gateway *g, Subdev *s, int64_t code, const char *message)
{
        switch (code) {
        case ALINK_CODE_SUBDEV_NO_TOPO:
                log_info("Sub-device %s/%s is not in the gateway's topology (6401): binding it again", s->pk,
                        s->dn);
                s->bound = false;
                s->alone = false;
                set_state(g, s, SUBDEV_OFFLINE);
                break;
        case ALINK_CODE_SUBDEV_NOT_FOUND:
                park(g, s, SUBDEV_PARKED,
                        "the platform has no such device (6100): check its product key and "
                        "device name");
                break;
        case ALINK_CODE_SUBDEV_DELETED:
                park(g, s, SUBDEV_PARKED, "it was deleted in the console (521)");
                break;
        case ALINK_CODE_SUBDEV_FORBIDDEN:
                park(g, s, SUBDEV_DISABLED, "it is disabled in the console (522); waiting for thing/enable");
                break;
        case ALINK_CODE_SUBDEV_INVALID_SIGN:
                park(g, s, SUBDEV_PARKED,
                        "the platform refused its signature (6287): its device secret is wrong; fix it in "
                        "the "
                        "configuration and reload");
                break;
        default:
                park(g, s, SUBDEV_PARKED, "login refused with code %" PRId64 "%s%s", code,
                        message ? ": " : "", strempty(message));
        }
}

static bool named(const AlinkGatewayReply *r, const Subdev *s)
{
        for (size_t i = 0; i < r->n_devices; i++)
                if (streq(r->devices[i].product_key, s->pk) && streq(r->devices[i].device_name, s->dn))
                        return true;
        return false;
}

static void handle_topo_get_reply(Gateway *g, const AlinkGatewayReply *r)
{
        if (r->code != ALINK_CODE_SUCCESS)
                log_warning("thing/topo/get was refused (code %" PRId64
                            "%s%s); binding every sub-device again",
                        r->code, r->message ? ": " : "", strempty(r->message));
        for (size_t i = 0; i < g->n_subs; i++)
                g->subs[i]->bound = r->code == ALINK_CODE_SUCCESS && named(r, g->subs[i]);
        g->topo_known = true;
}

static void handle_topo_add_reply(Gateway *g, const AlinkGatewayReply *r)
{
        for (size_t i = 0; i < g->n_members; i++) {
                Subdev *s = g->members[i];

                if (s->state != SUBDEV_BINDING)
                        continue;
                if (r->code == ALINK_CODE_SUCCESS) {
                        s->bound = true;
                        s->alone = false;
                        set_state(g, s, SUBDEV_OFFLINE);
                } else if (g->n_members > 1) {
                        s->alone = true; /* the batch failed as a whole: each on its own */
                        set_state(g, s, SUBDEV_OFFLINE);
                } else if (r->code == 401)
                        park(g, s, SUBDEV_PARKED,
                                "the platform refused its signature in thing/topo/add (401): its device "
                                "secret is "
                                "wrong; fix it in the configuration and reload");
                else if (r->code == ALINK_CODE_SUBDEV_NOT_FOUND)
                        park(g, s, SUBDEV_PARKED,
                                "the platform has no such device (6100): check its product key "
                                "and device name");
                else
                        park(g, s, SUBDEV_PARKED, "thing/topo/add refused with code %" PRId64 "%s%s",
                                r->code, r->message ? ": " : "", strempty(r->message));
        }
}

static void handle_login_reply(Gateway *g, const AlinkGatewayReply *r)
{
        size_t n_online = 0;

        if (r->code == ALINK_CODE_TOO_MANY_REQUESTS) {
                members_back(g);
                backoff_start(g, "the platform limits sub-device logins (429)");
                return;
        }
        if (r->code == ALINK_CODE_SUBDEV_TOO_MANY) {
                members_back(g);
                if (!g->full)
                        log_warning("The platform allows no more sub-devices online for this gateway (428): "
                                    "%zu are online; the rest wait",
                                gateway_n_online(g));
                g->full = true;
                return;
        }
        for (size_t i = 0; i < g->n_members; i++) {
                Subdev *s = g->members[i];

                if (s->state != SUBDEV_LOGGING_IN)
                        continue;
                if (r->code == ALINK_CODE_SUCCESS) {
                        /* data lists those that came online; without a list, all of them did. */
                        if (r->n_devices == 0 || named(r, s)) {
                                s->alone = false;
                                set_state(g, s, SUBDEV_ONLINE);
                                n_online++;
                        } else {
                                s->alone = true;
                                set_state(g, s, SUBDEV_OFFLINE);
                        }
                } else if (r->n_devices > 0 ? named(r, s) : g->n_members == 1)
                        login_refused(g, s, r->code, r->message);
                else {
                        s->alone = true; /* refused as a batch: each on its own finds the bad ones */
                        set_state(g, s, SUBDEV_OFFLINE);
                }
        }
        if (n_online > 0) {
                g->failures = 0;
                log_info("%zu sub-device%s online (%zu in all)", n_online, n_online == 1 ? "" : "s",
                        gateway_n_online(g));
        }
}

static void handle_error(Gateway *g, const AlinkGatewayReply *r)
{
        if (r->code != ALINK_CODE_SUBDEV_NO_SESSION) {
                log_warning("The platform reports error %" PRId64 "%s%s for the gateway's sub-devices",
                        r->code, r->message ? ": " : "", strempty(r->message));
                return;
        }
        for (size_t i = 0; i < r->n_devices; i++) {
                Subdev *s = find(g, r->devices[i].product_key, r->devices[i].device_name);
                if (!s || s->state != SUBDEV_ONLINE)
                        continue;
                log_info("Sub-device %s/%s has no session on the platform (520): logging it in again", s->pk,
                        s->dn);
                set_state(g, s, SUBDEV_OFFLINE);
        }
}

static void handle_topo_change(Gateway *g, const AlinkGatewayReply *r)
{
        for (size_t i = 0; i < r->n_devices; i++) {
                Subdev *s = find(g, r->devices[i].product_key, r->devices[i].device_name);
                if (!s)
                        continue;
                switch (r->status) {
                case 0: /* created */
                case 2: /* enabled again */
                        s->bound = true;
                        if (s->state == SUBDEV_DISABLED || s->state == SUBDEV_PARKED) {
                                s->error = mfree(s->error);
                                set_state(g, s, SUBDEV_OFFLINE);
                        }
                        log_info("Sub-device %s/%s is in the gateway's topology again", s->pk, s->dn);
                        break;
                case 1: /* deleted */
                        s->bound = false;
                        park(g, s, SUBDEV_PARKED, "removed from the gateway's topology in the console");
                        break;
                case 8: /* disabled */
                        park(g, s, SUBDEV_DISABLED, "disabled in the console; waiting for thing/enable");
                        break;
                default:
                        log_debug("Ignoring topo/change status %" PRId64 " for %s/%s", r->status, s->pk,
                                s->dn);
                }
        }
}

bool gateway_handle_message(Gateway *g, const char *topic, const void *payload, size_t len)
{
        _cleanup_(alink_gateway_reply_done) AlinkGatewayReply r = {};
        _cleanup_(freep) char *error = NULL;
        AlinkGatewayTopicKind kind = alink_gateway_topic_classify(&g->topics, topic);
        RequestKind expected = kind == ALINK_GATEWAY_TOPIC_TOPO_GET_REPLY   ? REQUEST_TOPO_GET
                               : kind == ALINK_GATEWAY_TOPIC_TOPO_ADD_REPLY ? REQUEST_TOPO_ADD
                               : kind == ALINK_GATEWAY_TOPIC_LOGIN_REPLY    ? REQUEST_LOGIN
                                                                            : REQUEST_NONE;
        int rr;

        if (kind == ALINK_GATEWAY_TOPIC_UNKNOWN)
                return false;
        rr = kind == ALINK_GATEWAY_TOPIC_TOPO_CHANGE ? alink_parse_topo_change(payload, len, &r, &error)
                                                     : alink_parse_gateway_reply(payload, len, &r, &error);
        if (rr != 0) {
                log_warning("Ignoring an unreadable message on %s: %s", topic,
                        rr < 0 ? "out of memory" : strna(error));
                return true;
        }

        if (expected != REQUEST_NONE) {
                /* Only the answer to the request in flight counts: a late one was given up already. */
                if (g->request != expected || !streq_ptr(r.id, g->request_id)) {
                        log_debug("Ignoring a late answer %s on %s", strna(r.id), topic);
                        return true;
                }
                (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
                if (expected == REQUEST_TOPO_GET)
                        handle_topo_get_reply(g, &r);
                else if (expected == REQUEST_TOPO_ADD)
                        handle_topo_add_reply(g, &r);
                else
                        handle_login_reply(g, &r);
                request_clear(g);
        } else if (kind == ALINK_GATEWAY_TOPIC_ERROR)
                handle_error(g, &r);
        else if (kind == ALINK_GATEWAY_TOPIC_TOPO_CHANGE)
                handle_topo_change(g, &r);
        else
                log_debug("%s: code %" PRId64, topic, r.code);
        gateway_pump(g);
        return true;
}

bool gateway_handle_subdev_message(
        Gateway *g, const char *pk, const char *dn, const char *topic, const void *payload, size_t len)
{
        _cleanup_(freep) char *id = NULL, *reply_topic = NULL, *reply = NULL;
        size_t tl = strlen(topic);
        const char *what = NULL;
        Subdev *s = find(g, pk, dn);

        if (tl > 14 && streq(topic + tl - 14, "/thing/disable"))
                what = "disable";
        else if (tl > 13 && streq(topic + tl - 13, "/thing/enable"))
                what = "enable";
        else if (tl > 13 && streq(topic + tl - 13, "/thing/delete"))
                what = "delete";
        if (!what || !s)
                return false;

        (void) alink_parse_request_id(payload, len, &id);
        if (asprintf(&reply_topic, "%s_reply", topic) >= 0 &&
                alink_build_reply(id, ALINK_CODE_SUCCESS, NULL, &reply) >= 0)
                (void) g->host.publish(g->host.userdata, reply_topic, reply, /* qos= */ 0);
        if (streq(what, "disable"))
                park(g, s, SUBDEV_DISABLED, "disabled in the console; waiting for thing/enable");
        else if (streq(what, "delete")) {
                s->bound = false;
                park(g, s, SUBDEV_PARKED, "deleted in the console");
        } else if (s->state == SUBDEV_DISABLED) {
                log_info("Sub-device %s/%s is enabled again: logging it in", s->pk, s->dn);
                s->error = mfree(s->error);
                set_state(g, s, SUBDEV_OFFLINE);
        }
        gateway_pump(g);
        return true;
}

/* batch_logout of the given ones, in batches, at QoS 0 (best effort). */
static void logout(Gateway *g, Subdev **list, size_t n)
{
        for (size_t first = 0; first < n; first += ALINK_BATCH_LOGIN_MAX) {
                size_t k = MIN(n - first, (size_t) ALINK_BATCH_LOGIN_MAX);
                _cleanup_(freep) AlinkSubdevice *e = calloc(k, sizeof(AlinkSubdevice));
                _cleanup_(freep) char *id = g->host.new_message_id(g->host.userdata), *payload = NULL;

                if (!e || !id)
                        return (void) log_oom();
                for (size_t i = 0; i < k; i++)
                        e[i] = (AlinkSubdevice){list[first + i]->pk, list[first + i]->dn, NULL};
                if (alink_build_batch_logout(id, e, k, &payload) < 0)
                        return (void) log_oom();
                (void) g->host.publish(g->host.userdata, g->topics.logout, payload, /* qos= */ 0);
        }
}

void gateway_connected(Gateway *g)
{
        g->connected = true;
        g->topo_known = false;
        g->full = false;
        g->failures = 0;
        gateway_pump(g);
}

void gateway_disconnected(Gateway *g)
{
        g->connected = false;
        g->backing_off = false;
        request_clear(g);
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        for (size_t i = 0; i < g->n_subs; i++)
                if (g->subs[i]->state == SUBDEV_ONLINE || g->subs[i]->state == SUBDEV_LOGGING_IN ||
                        g->subs[i]->state == SUBDEV_BINDING)
                        set_state(g, g->subs[i], SUBDEV_OFFLINE);
}

void gateway_stop(Gateway *g)
{
        _cleanup_(freep) Subdev **online = calloc(g->n_subs + 1, sizeof(Subdev *));
        size_t n = 0;

        g->stopping = true;
        if (!g->connected || !online)
                return;
        for (size_t i = 0; i < g->n_subs; i++)
                if (g->subs[i]->state == SUBDEV_ONLINE)
                        online[n++] = g->subs[i];
        if (n > 0) {
                log_info("Logging out %zu sub-device%s", n, n == 1 ? "" : "s");
                logout(g, online, n);
        }
}

int gateway_add(Gateway *g, const char *pk, const char *dn, const char *secret)
{
        Subdev *s, **subs;

        if (isempty(pk) || isempty(dn) || isempty(secret))
                return -EINVAL;
        if (find(g, pk, dn))
                return -EEXIST;
        if (g->n_subs >= ALINK_SUBDEV_ONLINE_MAX * 5)
                return -E2BIG;
        subs = reallocarray(g->subs, g->n_subs + 1, sizeof(Subdev *));
        if (!subs)
                return -ENOMEM;
        g->subs = subs;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->pk = strdup(pk);
        s->dn = strdup(dn);
        s->secret = strdup(secret);
        if (!s->pk || !s->dn || !s->secret) {
                subdev_free(s);
                return -ENOMEM;
        }
        g->subs[g->n_subs++] = s;
        /* Not bound as far as we know: topo/get says so once per session, and a topo/add of a bound one
         * does no harm. */
        gateway_pump(g);
        return 0;
}

int gateway_remove(Gateway *g, const char *pk, const char *dn, bool unbind)
{
        Subdev *s = find(g, pk, dn);

        if (!s)
                return -ENOENT;
        if (g->connected && s->state == SUBDEV_ONLINE)
                logout(g, &s, 1);
        if (g->connected && unbind) {
                _cleanup_(freep) char *id = g->host.new_message_id(g->host.userdata), *payload = NULL;
                AlinkSubdevice e = {s->pk, s->dn, NULL};

                if (id && alink_build_topo_delete(id, &e, 1, &payload) >= 0)
                        (void) g->host.publish(
                                g->host.userdata, g->topics.topo_delete, payload, /* qos= */ 0);
        }
        set_state(g, s, SUBDEV_OFFLINE);
        for (size_t i = 0; i < g->n_members; i++)
                if (g->members[i] == s)
                        g->members[i] = g->members[--g->n_members];
        for (size_t i = 0; i < g->n_subs; i++)
                if (g->subs[i] == s) {
                        g->subs[i] = g->subs[--g->n_subs];
                        break;
                }
        subdev_free(s);
        return 0;
}

SubdevState gateway_get_state(Gateway *g, const char *pk, const char *dn, const char **ret_error)
{
        Subdev *s = find(g, pk, dn);

        if (ret_error)
                *ret_error = s ? s->error : NULL;
        return s ? s->state : _SUBDEV_STATE_INVALID;
}

size_t gateway_n_online(const Gateway *g)
{
        size_t n = 0;

        for (size_t i = 0; i < g->n_subs; i++)
                n += g->subs[i]->state == SUBDEV_ONLINE;
        return n;
}

size_t gateway_n_subdevices(const Gateway *g)
{
        return g->n_subs;
}

const AlinkGatewayTopics *gateway_topics(const Gateway *g)
{
        return &g->topics;
}

int gateway_new(Gateway **ret, sd_event *e, const char *pk, const char *dn, const GatewayHost *host)
{
        _cleanup_(gateway_freep) Gateway *g = NULL;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->host = *host;
        r = alink_gateway_topics_init(&g->topics, pk, dn);
        if (r < 0)
                return r;
        r = sd_event_add_time(e, &g->timer, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC, on_timer, g);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(g->timer, "gateway");
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        *ret = TAKE_PTR(g);
        return 0;
}

Gateway *gateway_free(Gateway *g)
{
        if (!g)
                return NULL;
        g->host.online_changed = NULL; /* going away: nobody to tell */
        request_clear(g);
        sd_event_source_disable_unref(g->timer);
        for (size_t i = 0; i < g->n_subs; i++)
                subdev_free(g->subs[i]);
        free(g->subs);
        alink_gateway_topics_done(&g->topics);
        free(g);
        return NULL;
}
