/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-auth-plugin.c: a mosquitto plugin that makes the broker behave like Alibaba's for logins and topics.
 *
 * Loaded by the test broker (mosquitto's plugin API version 5). It admits a device only when its MQTT
 * client id, user name and password follow https://help.aliyun.com/document_detail/73742.html: client id
 * "<cid>|k=v,...|" with securemode=2 and a known signmethod, user name "<dn>&<pk>" of a device listed in the
 * devices file, and password = hex HMAC(device secret,
 * "clientId<cid>deviceName<dn>productKey<pk>[timestamp<ts>]"), either case. A device may then only publish
 * and subscribe within its own topics, as on the platform. One extra user (cloud_username/cloud_password)
 * plays the cloud and may use every topic.
 *
 * It also plays the platform's side of gateways and sub-devices. Sub-devices never connect themselves: a
 * connected device (the gateway) binds them with /sys/{gwPk}/{gwDn}/thing/topo/add (get, delete), logs
 * them in with /ext/session/{gwPk}/{gwDn}/combine/login or batch_login (logout, batch_logout), and then
 * carries their topics over its own connection. The plugin answers each request on its _reply topic, to
 * that client only, with the platform's {"id","code","message","data"}, checking what the platform
 * checks: topology "Manage topological relationships"
 * https://help.aliyun.com/en/iot/user-guide/manage-topological-relationships, login "Connect or disconnect
 * sub-devices" https://help.aliyun.com/en/iot/user-guide/connect-or-disconnect-sub-devices (codes 460, 429,
 * 428, 6401, 6100, 521, 522, 6287, 520), limits https://www.alibabacloud.com/help/doc-detail/30527.htm (30
 * per topo/add, 50 per batch login, 200 logins a second, 2,000 online per gateway). The entry shapes are
 * those Link SDK 4 sends (components/subdev/aiot_subdev_api.c). A gateway may use a sub-device's topics
 * only while that sub-device is online through its connection; its thing/disable, enable and delete
 * notifications (https://help.aliyun.com/document_detail/89303.html) reach the gateway it is bound to.
 * A sub-device logged in with "_ss=1" in its client id gets the platform's auto-subscription: what others
 * publish to its topics is copied to the gateway (unless the gateway subscribed to them itself).
 *
 * Options (mosquitto.conf):
 *   plugin_opt_devices FILE         lines "product_key device_name device_secret"
 *   plugin_opt_subdevices FILE      lines "product_key device_name device_secret [gwPk/gwDn]": the
 *                                   sub-devices the platform knows (bound to that gateway already when
 *                                   the fourth field is there)
 *   plugin_opt_login_rate N         sub-device logins per gateway and second (default 200), then 429
 *   plugin_opt_max_online N         sub-devices online per gateway (default 2000), then 428
 *   plugin_opt_cloud_username NAME
 *   plugin_opt_cloud_password PASS
 *
 * The cloud user drives the platform by publishing: /sys/{pk}/{dn}/thing/disable (the sub-device goes
 * offline, logins get 522), thing/enable, thing/delete (unbound and offline, logins get 521; it is
 * delivered first), /alink-test/kick/{pk}/{dn} (offline, as when the platform drops a session; the test
 * then publishes the 520 on /ext/error itself), /alink-test/login-limit N and /alink-test/online-limit N.
 *
 * Every CONNECT it sees is logged as "alink-auth: accepted ..." or "alink-auth: refused ...: reason", so a
 * test can count connection attempts and prove that none arrived; every sub-device event is logged on one
 * line too ("alink-auth: topo/add a1Sub/lamp01 for a1Gw/gw1: bound", "alink-auth: batch_login for
 * a1Gw/gw1: 3 online", "alink-auth: batch_login for a1Gw/gw1 refused a1Sub/lamp01: 6287 invalid sign"). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* asprintf */
#endif
#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

/* The limits of https://www.alibabacloud.com/help/doc-detail/30527.htm. */
#define TOPO_ADD_MAX 30
#define BATCH_MAX 50
#define LOGIN_RATE_DEFAULT 200
#define MAX_ONLINE_DEFAULT 2000

typedef struct Device {
        char *pk, *dn, *secret;
} Device;

/* A device that has acted as a gateway (or that a sub-device is bound to). */
typedef struct Gateway {
        char *pk, *dn;
        struct mosquitto *client; /* its current connection, NULL while away */
        bool auto_subscribe;      /* "_ss=1" in its own client id */
        time_t second;            /* the login rate's window ... */
        unsigned logins;          /* ... and the logins in it */
} Gateway;

typedef struct SubDevice {
        char *pk, *dn, *secret;
        Gateway *bound;               /* the gateway it is bound to, or NULL */
        struct mosquitto *online_via; /* the connection it is logged in through, or NULL */
        bool auto_subscribe;          /* logged in with "_ss=1" */
        bool disabled, deleted;
} SubDevice;

/* A gateway's own subscription to a sub-device's topics: no auto-subscription copy then. */
typedef struct Filter {
        struct mosquitto *client;
        char *filter;
} Filter;

typedef struct Plugin {
        mosquitto_plugin_id_t *id;
        Device *devices;
        size_t n_devices;
        SubDevice *subdevices; /* sorted by product key, then device name */
        size_t n_subdevices;
        Gateway **gateways;
        size_t n_gateways;
        Filter *filters;
        size_t n_filters;
        unsigned login_rate, max_online;
        char *cloud_username, *cloud_password;
} Plugin;

static Plugin plugin;

static const Device *find_device(const char *pk, const char *dn)
{
        for (size_t i = 0; i < plugin.n_devices; i++)
                if (strcmp(plugin.devices[i].pk, pk) == 0 && strcmp(plugin.devices[i].dn, dn) == 0)
                        return &plugin.devices[i];
        return NULL;
}

static int subdevice_compare(const void *a, const void *b)
{
        const SubDevice *x = a, *y = b;
        int c = strcmp(x->pk, y->pk);

        return c != 0 ? c : strcmp(x->dn, y->dn);
}

static SubDevice *find_subdevice(const char *pk, const char *dn)
{
        SubDevice key = {.pk = (char *) pk, .dn = (char *) dn};

        if (!pk || !dn || plugin.n_subdevices == 0)
                return NULL;
        return bsearch(&key, plugin.subdevices, plugin.n_subdevices, sizeof(SubDevice), subdevice_compare);
}

static Gateway *find_gateway(const char *pk, const char *dn, bool create)
{
        Gateway *g, **gs;

        for (size_t i = 0; i < plugin.n_gateways; i++)
                if (strcmp(plugin.gateways[i]->pk, pk) == 0 && strcmp(plugin.gateways[i]->dn, dn) == 0)
                        return plugin.gateways[i];
        if (!create)
                return NULL;
        g = calloc(1, sizeof(Gateway));
        gs = realloc(plugin.gateways, (plugin.n_gateways + 1) * sizeof(Gateway *));
        if (!g || !gs) {
                free(g);
                if (gs)
                        plugin.gateways = gs;
                return NULL;
        }
        plugin.gateways = gs;
        g->pk = strdup(pk);
        g->dn = strdup(dn);
        if (!g->pk || !g->dn) {
                free(g->pk);
                free(g->dn);
                free(g);
                return NULL;
        }
        plugin.gateways[plugin.n_gateways++] = g;
        return g;
}

static int load_devices(const char *path)
{
        char line[1024];
        FILE *f = fopen(path, "re");

        if (!f) {
                mosquitto_log_printf(MOSQ_LOG_ERR, "alink-auth: cannot open %s", path);
                return MOSQ_ERR_INVAL;
        }
        while (fgets(line, sizeof(line), f)) {
                char pk[256], dn[256], secret[512];
                Device *d;

                if (line[0] == '#' || sscanf(line, "%255s %255s %511s", pk, dn, secret) != 3)
                        continue;
                d = realloc(plugin.devices, (plugin.n_devices + 1) * sizeof(Device));
                if (!d)
                        break;
                plugin.devices = d;
                d[plugin.n_devices++] = (Device){strdup(pk), strdup(dn), strdup(secret)};
        }
        fclose(f);
        return MOSQ_ERR_SUCCESS;
}

/* Unlike the devices file, every line counts: a typo must not silently shrink the platform. */
static int load_subdevices(const char *path)
{
        char line[1024];
        unsigned n = 0;
        FILE *f = fopen(path, "re");

        if (!f) {
                mosquitto_log_printf(MOSQ_LOG_ERR, "alink-auth: cannot open %s", path);
                return MOSQ_ERR_INVAL;
        }
        while (fgets(line, sizeof(line), f)) {
                char pk[256], dn[256], secret[512], gw[512] = "", extra[2];
                SubDevice *d;
                int k;

                n++;
                if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
                        continue;
                k = sscanf(line, "%255s %255s %511s %511s %1s", pk, dn, secret, gw, extra);
                if (k != 3 && k != 4) {
                        mosquitto_log_printf(MOSQ_LOG_ERR,
                                "alink-auth: %s:%u: expected \"product_key device_name device_secret "
                                "[gwPk/gwDn]\"",
                                path, n);
                        fclose(f);
                        return MOSQ_ERR_INVAL;
                }
                d = realloc(plugin.subdevices, (plugin.n_subdevices + 1) * sizeof(SubDevice));
                if (!d) {
                        fclose(f);
                        return MOSQ_ERR_NOMEM;
                }
                plugin.subdevices = d;
                d = &d[plugin.n_subdevices];
                *d = (SubDevice){.pk = strdup(pk), .dn = strdup(dn), .secret = strdup(secret)};
                if (!d->pk || !d->dn || !d->secret) {
                        fclose(f);
                        return MOSQ_ERR_NOMEM;
                }
                plugin.n_subdevices++;
                if (k == 4) {
                        char *slash = strchr(gw, '/');
                        if (!slash || slash == gw || slash[1] == 0) {
                                mosquitto_log_printf(MOSQ_LOG_ERR,
                                        "alink-auth: %s:%u: gateway is not gwPk/gwDn", path, n);
                                fclose(f);
                                return MOSQ_ERR_INVAL;
                        }
                        *slash = 0;
                        d->bound = find_gateway(gw, slash + 1, /* create= */ true);
                        if (!d->bound) {
                                fclose(f);
                                return MOSQ_ERR_NOMEM;
                        }
                }
        }
        fclose(f);
        qsort(plugin.subdevices, plugin.n_subdevices, sizeof(SubDevice), subdevice_compare);
        for (size_t i = 1; i < plugin.n_subdevices; i++)
                if (subdevice_compare(&plugin.subdevices[i - 1], &plugin.subdevices[i]) == 0) {
                        mosquitto_log_printf(MOSQ_LOG_ERR, "alink-auth: %s: %s/%s is listed twice", path,
                                plugin.subdevices[i].pk, plugin.subdevices[i].dn);
                        return MOSQ_ERR_INVAL;
                }
        return MOSQ_ERR_SUCCESS;
}

/* The value of key in "k1=v1,k2=v2" (ext is the part between the |s), copied into buf. */
static bool ext_get(const char *ext, const char *key, char *buf, size_t size)
{
        size_t kl = strlen(key);

        for (const char *p = ext; p && *p;) {
                size_t n = strcspn(p, ",");
                if (n > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
                        size_t vl = n - kl - 1;
                        if (vl >= size)
                                return false;
                        memcpy(buf, p + kl + 1, vl);
                        buf[vl] = 0;
                        return true;
                }
                p += n;
                if (*p == ',')
                        p++;
        }
        return false;
}

/* Whether a client id "<id>|k=v,...|" asks for the auto-subscription (_ss=1). */
static bool client_id_auto_subscribe(const char *client_id)
{
        const char *bar = client_id ? strchr(client_id, '|') : NULL;
        char ext[512], value[8];
        size_t n;

        if (!bar)
                return false;
        n = strcspn(bar + 1, "|");
        if (n >= sizeof(ext))
                return false;
        memcpy(ext, bar + 1, n);
        ext[n] = 0;
        return ext_get(ext, "_ss", value, sizeof(value)) && strcmp(value, "1") == 0;
}

static bool hmac_hex_equal(const EVP_MD *md, const char *secret, const char *content, const char *sign)
{
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        if (!HMAC(md, secret, (int) strlen(secret), (const unsigned char *) content, strlen(content), mac,
                    &mac_len))
                return false;
        for (unsigned i = 0; i < mac_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        return strcasecmp(hex, sign) == 0;
}

static const char *check_login(
        const char *client_id, const char *username, const char *password, char *why, size_t why_size)
{
        char cid[256], ext[512], method[32] = "hmacmd5", mode[16], ts[64], pk[128], dn[128], content[1024];
        const char *bar, *amp;
        const EVP_MD *md;
        const Device *d;
        bool have_ts;

        if (!client_id || !username || !password)
                return "client id, user name and password are required";

        /* "<cid>|<ext>|" */
        bar = strchr(client_id, '|');
        if (!bar || (size_t) (bar - client_id) >= sizeof(cid) || strlen(bar) < 2 ||
                client_id[strlen(client_id) - 1] != '|' || strlen(bar) - 2 >= sizeof(ext))
                return "client id is not <id>|<params>|";
        memcpy(cid, client_id, (size_t) (bar - client_id));
        cid[bar - client_id] = 0;
        memcpy(ext, bar + 1, strlen(bar) - 2);
        ext[strlen(bar) - 2] = 0;
        if (strlen(cid) == 0 || strlen(cid) > 64)
                return "client id prefix must have 1..64 characters";

        if (!ext_get(ext, "securemode", mode, sizeof(mode)) || strcmp(mode, "2") != 0)
                return "securemode must be 2 on a TLS connection";
        (void) ext_get(ext, "signmethod", method, sizeof(method));
        if (strcmp(method, "hmacsha256") == 0)
                md = EVP_sha256();
        else if (strcmp(method, "hmacsha1") == 0)
                md = EVP_sha1();
        else if (strcmp(method, "hmacmd5") == 0)
                md = EVP_md5();
        else
                return "unknown signmethod";
        have_ts = ext_get(ext, "timestamp", ts, sizeof(ts));

        /* "<dn>&<pk>" */
        amp = strchr(username, '&');
        if (!amp || (size_t) (amp - username) >= sizeof(dn) || strlen(amp + 1) >= sizeof(pk))
                return "user name is not <deviceName>&<productKey>";
        memcpy(dn, username, (size_t) (amp - username));
        dn[amp - username] = 0;
        snprintf(pk, sizeof(pk), "%s", amp + 1);

        d = find_device(pk, dn);
        if (!d)
                return "unknown device";

        snprintf(content, sizeof(content), "clientId%sdeviceName%sproductKey%s%s%s", cid, dn, pk,
                have_ts ? "timestamp" : "", have_ts ? ts : "");
        if (!hmac_hex_equal(md, d->secret, content, password)) {
                snprintf(why, why_size, "wrong password for %.100s&%.100s", dn, pk);
                return why;
        }
        return NULL;
}

/* "<dn>&<pk>" into dn and pk (each 128 bytes); false when it is not that. */
static bool split_username(const char *username, char pk[static 128], char dn[static 128])
{
        const char *amp = username ? strchr(username, '&') : NULL;

        if (!amp || (size_t) (amp - username) >= 128 || strlen(amp + 1) >= 128)
                return false;
        memcpy(dn, username, (size_t) (amp - username));
        dn[amp - username] = 0;
        snprintf(pk, 128, "%s", amp + 1);
        return true;
}

static bool is_cloud(struct mosquitto *client)
{
        const char *username = mosquitto_client_username(client);

        return plugin.cloud_username && username && strcmp(username, plugin.cloud_username) == 0;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
        struct mosquitto_evt_basic_auth *ed = event_data;
        const char *client_id = mosquitto_client_id(ed->client);
        char why_buf[256], pk[128], dn[128];
        const char *why;
        Gateway *g;

        (void) event;
        (void) userdata;

        if (plugin.cloud_username && ed->username && strcmp(ed->username, plugin.cloud_username) == 0) {
                if (ed->password && plugin.cloud_password &&
                        strcmp(ed->password, plugin.cloud_password) == 0) {
                        mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-cloud: accepted %s", client_id);
                        return MOSQ_ERR_SUCCESS;
                }
                return MOSQ_ERR_AUTH;
        }

        why = check_login(client_id, ed->username, ed->password, why_buf, sizeof(why_buf));
        if (why) {
                mosquitto_log_printf(
                        MOSQ_LOG_NOTICE, "alink-auth: refused %s: %s", client_id ? client_id : "?", why);
                return MOSQ_ERR_AUTH;
        }
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: accepted %s", client_id);
        /* Any device may act as a gateway: remember its connection for the notifications of its
         * sub-devices. */
        if (split_username(ed->username, pk, dn)) {
                g = find_gateway(pk, dn, /* create= */ true);
                if (g) {
                        g->client = ed->client;
                        g->auto_subscribe = client_id_auto_subscribe(client_id);
                }
        }
        return MOSQ_ERR_SUCCESS;
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A device's own topics (https://help.aliyun.com/document_detail/89301.htm, 89307.htm), and a gateway's
 * session and error topics (the sub-device pages above). */
static bool device_topic_allowed(const char *pk, const char *dn, const char *topic)
{
        char buf[512];
        static const char *const ota[] = {"inform", "upgrade", "progress", "request"};

        snprintf(buf, sizeof(buf), "/sys/%s/%s/", pk, dn);
        if (has_prefix(topic, buf))
                return true;
        snprintf(buf, sizeof(buf), "/%s/%s/user/", pk, dn);
        if (has_prefix(topic, buf))
                return true;
        for (size_t i = 0; i < sizeof(ota) / sizeof(ota[0]); i++) {
                snprintf(buf, sizeof(buf), "/ota/device/%s/%s/%s", ota[i], pk, dn);
                if (strcmp(topic, buf) == 0)
                        return true;
        }
        snprintf(buf, sizeof(buf), "/ext/ntp/%s/%s/", pk, dn);
        if (has_prefix(topic, buf))
                return true;
        snprintf(buf, sizeof(buf), "/ext/session/%s/%s/", pk, dn);
        if (has_prefix(topic, buf))
                return true;
        snprintf(buf, sizeof(buf), "/ext/error/%s/%s", pk, dn);
        if (strcmp(topic, buf) == 0)
                return true;
        if (has_prefix(topic, "/ext/rrpc/")) {
                const char *rest = strchr(topic + strlen("/ext/rrpc/"), '/');
                snprintf(buf, sizeof(buf), "/sys/%s/%s/", pk, dn);
                if (rest && has_prefix(rest, buf))
                        return true;
        }
        return false;
}

/* The sub-device whose topic this is: /sys/{pk}/{dn}/..., /ext/rrpc/{id}/sys/{pk}/{dn}/...,
 * /{pk}/{dn}/user/..., /ota/device/{inform,upgrade,progress,request}/{pk}/{dn}. *ret_rest (if given) points
 * after "/sys/{pk}/{dn}/" for the first form, else to "". */
static SubDevice *topic_subdevice(const char *topic, const char **ret_rest)
{
        char buf[1024], *lv[16], *save = NULL;
        const char *pk = NULL, *dn = NULL, *rest = "";
        size_t n = 0;

        if (strlen(topic) >= sizeof(buf) || topic[0] != '/')
                return NULL;
        memcpy(buf, topic, strlen(topic) + 1);
        /* Levels after the leading "/"; strtok_r would merge empty levels, so split by hand. */
        for (char *p = buf + 1; n < 16; n++) {
                lv[n] = p;
                save = strchr(p, '/');
                if (!save) {
                        n++;
                        break;
                }
                *save = 0;
                p = save + 1;
        }
        if (n >= 4 && strcmp(lv[0], "sys") == 0) {
                pk = lv[1];
                dn = lv[2];
                rest = topic + (size_t) (lv[3] - buf);
        } else if (n >= 7 && strcmp(lv[0], "ext") == 0 && strcmp(lv[1], "rrpc") == 0 &&
                   strcmp(lv[3], "sys") == 0) {
                pk = lv[4];
                dn = lv[5];
        } else if (n == 5 && strcmp(lv[0], "ota") == 0 && strcmp(lv[1], "device") == 0 &&
                   (strcmp(lv[2], "inform") == 0 || strcmp(lv[2], "upgrade") == 0 ||
                           strcmp(lv[2], "progress") == 0 || strcmp(lv[2], "request") == 0)) {
                pk = lv[3];
                dn = lv[4];
        } else if (n >= 4 && strcmp(lv[2], "user") == 0) {
                pk = lv[0];
                dn = lv[1];
        }
        if (ret_rest)
                *ret_rest = rest;
        return pk ? find_subdevice(pk, dn) : NULL;
}

/* thing/disable, enable and delete (and their replies) reach the bound gateway whether the sub-device is
 * online or not: a disabled one is offline, and its enable must still arrive. */
static bool is_notification(const char *rest)
{
        static const char *const names[] = {"thing/disable", "thing/enable", "thing/delete",
                "thing/disable_reply", "thing/enable_reply", "thing/delete_reply"};

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(rest, names[i]) == 0)
                        return true;
        return false;
}

static void filter_add(struct mosquitto *client, const char *filter)
{
        Filter *f;

        for (size_t i = 0; i < plugin.n_filters; i++)
                if (plugin.filters[i].client == client && strcmp(plugin.filters[i].filter, filter) == 0)
                        return;
        f = realloc(plugin.filters, (plugin.n_filters + 1) * sizeof(Filter));
        if (!f)
                return;
        plugin.filters = f;
        f[plugin.n_filters].client = client;
        f[plugin.n_filters].filter = strdup(filter);
        if (f[plugin.n_filters].filter)
                plugin.n_filters++;
}

/* Removes client's filter (all of them when filter is NULL). */
static void filter_remove(struct mosquitto *client, const char *filter)
{
        for (size_t i = 0; i < plugin.n_filters;)
                if (plugin.filters[i].client == client &&
                        (!filter || strcmp(plugin.filters[i].filter, filter) == 0)) {
                        free(plugin.filters[i].filter);
                        plugin.filters[i] = plugin.filters[--plugin.n_filters];
                } else
                        i++;
}

static bool client_subscribed(struct mosquitto *client, const char *topic)
{
        for (size_t i = 0; i < plugin.n_filters; i++) {
                bool match = false;
                if (plugin.filters[i].client == client &&
                        mosquitto_topic_matches_sub(plugin.filters[i].filter, topic, &match) ==
                                MOSQ_ERR_SUCCESS &&
                        match)
                        return true;
        }
        return false;
}

static const char *access_name(int access)
{
        switch (access) {
        case MOSQ_ACL_WRITE:
                return "publish to";
        case MOSQ_ACL_SUBSCRIBE:
                return "subscribe to";
        case MOSQ_ACL_UNSUBSCRIBE:
                return "unsubscribe from";
        default:
                return "deliver";
        }
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
        struct mosquitto_evt_acl_check *ed = event_data;
        const char *username = mosquitto_client_username(ed->client), *rest;
        char pk[128], dn[128];
        SubDevice *s;

        (void) event;
        (void) userdata;

        if (!username)
                return MOSQ_ERR_ACL_DENIED;
        if (plugin.cloud_username && strcmp(username, plugin.cloud_username) == 0)
                return MOSQ_ERR_SUCCESS;

        if (!split_username(username, pk, dn))
                return MOSQ_ERR_ACL_DENIED;

        if (device_topic_allowed(pk, dn, ed->topic))
                return MOSQ_ERR_SUCCESS;

        s = topic_subdevice(ed->topic, &rest);
        if (s) {
                if (ed->access == MOSQ_ACL_UNSUBSCRIBE) {
                        filter_remove(ed->client, ed->topic);
                        return MOSQ_ERR_SUCCESS;
                }
                if (s->online_via == ed->client ||
                        (s->bound && strcmp(s->bound->pk, pk) == 0 && strcmp(s->bound->dn, dn) == 0 &&
                                is_notification(rest))) {
                        if (ed->access == MOSQ_ACL_SUBSCRIBE)
                                filter_add(ed->client, ed->topic);
                        return MOSQ_ERR_SUCCESS;
                }
                if (ed->access != MOSQ_ACL_READ)
                        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                                "alink-auth: denied %s %s for %s&%s: sub-device not logged in",
                                access_name(ed->access), ed->topic, dn, pk);
                return MOSQ_ERR_ACL_DENIED;
        }
        if (ed->access != MOSQ_ACL_READ)
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-acl: denied %s %s for %s&%s",
                        ed->access == MOSQ_ACL_WRITE ? "publish to" : "subscribe to", ed->topic, dn, pk);
        return MOSQ_ERR_ACL_DENIED;
}

/* --- the platform's answers --- */

/* The messages of the error tables on the login and topology pages. */
static const char *code_message(int code)
{
        switch (code) {
        case 200:
                return "success";
        case 401:
                return "request auth error";
        case 428:
                return "too many subdevices under gateway";
        case 429:
                return "rate limit, too many subDeviceOnline msg in one minute";
        case 460:
                return "request parameter error";
        case 520:
                return "device no session";
        case 521:
                return "device deleted";
        case 522:
                return "device forbidden";
        case 6100:
                return "device not found";
        case 6287:
                return "invalid sign";
        case 6401:
                return "topo relation not exist";
        case 6402:
                return "topo relation cannot add by self";
        default:
                return "error";
        }
}

/* Publishes {"id","code","message","data"} on topic + "_reply" to client only; takes data. */
static void reply(struct mosquitto *client, const char *topic, const char *id, int code, json_object *data)
{
        json_object *o = json_object_new_object();
        char reply_topic[1100];
        const char *text;
        int rc;

        json_object_object_add(o, "id", json_object_new_string(id ? id : ""));
        json_object_object_add(o, "code", json_object_new_int(code));
        json_object_object_add(o, "message", json_object_new_string(code_message(code)));
        json_object_object_add(o, "data", data ? data : json_object_new_object());
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        snprintf(reply_topic, sizeof(reply_topic), "%s_reply", topic);
        rc = mosquitto_broker_publish_copy(
                mosquitto_client_id(client), reply_topic, (int) strlen(text), text, 0, false, NULL);
        if (rc != MOSQ_ERR_SUCCESS)
                mosquitto_log_printf(
                        MOSQ_LOG_ERR, "alink-auth: cannot reply on %s: error %d", reply_topic, rc);
        json_object_put(o);
}

static const char *jstr(json_object *o, const char *key)
{
        json_object *v;

        if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
                !json_object_is_type(v, json_type_string))
                return NULL;
        return json_object_get_string(v);
}

static json_object *device_json(const char *pk, const char *dn)
{
        json_object *o = json_object_new_object();

        json_object_object_add(o, "productKey", json_object_new_string(pk ? pk : ""));
        json_object_object_add(o, "deviceName", json_object_new_string(dn ? dn : ""));
        return o;
}

/* hmacSha256, hmacSha1, hmacMd5 in any case (the doc also names plain "Sha256"); NULL when unknown. */
static const EVP_MD *sign_method(const char *name)
{
        if (!name)
                return NULL;
        if (strcasecmp(name, "hmacsha256") == 0 || strcasecmp(name, "sha256") == 0)
                return EVP_sha256();
        if (strcasecmp(name, "hmacsha1") == 0)
                return EVP_sha1();
        if (strcasecmp(name, "hmacmd5") == 0)
                return EVP_md5();
        return NULL;
}

/* A sub-device entry of topo/add or login: the HMAC is over every parameter except sign, the sign method
 * and cleanSession, sorted by name and concatenated (clientId exactly as sent; it is optional in topo/add).
 * Returns 200 or the entry's code; *ret_sub is the sub-device when it is known. */
static int check_entry(json_object *e, const char *method_key, const char *default_method,
        bool need_client_id, int bad_sign_code, SubDevice **ret_sub)
{
        const char *pk = jstr(e, "productKey"), *dn = jstr(e, "deviceName"), *cid = jstr(e, "clientId"),
                   *ts = jstr(e, "timestamp"), *sign = jstr(e, "sign"), *method = jstr(e, method_key);
        const EVP_MD *md = sign_method(method ? method : default_method);
        char *content = NULL;
        SubDevice *s;
        bool ok;

        *ret_sub = NULL;
        if (!pk || !dn || !ts || !sign || !md || (need_client_id && !cid))
                return 460;
        s = find_subdevice(pk, dn);
        if (!s)
                return 6100;
        *ret_sub = s;
        if (asprintf(&content, "%s%sdeviceName%sproductKey%stimestamp%s", cid ? "clientId" : "",
                    cid ? cid : "", dn, pk, ts) < 0)
                return 460;
        ok = hmac_hex_equal(md, s->secret, content, sign);
        free(content);
        return ok ? 200 : bad_sign_code;
}

static void refused(const char *op, const Gateway *g, const char *pk, const char *dn, int code)
{
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: %s for %s/%s refused %s/%s: %d %s", op, g->pk,
                g->dn, pk ? pk : "?", dn ? dn : "?", code, code_message(code));
}

static void refused_request(const char *op, const Gateway *g, int code, const char *why)
{
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: %s for %s/%s refused: %d %s (%s)", op, g->pk,
                g->dn, code, code_message(code), why);
}

static void set_offline(SubDevice *s)
{
        s->online_via = NULL;
        s->auto_subscribe = false;
}

static void topo_add(
        struct mosquitto *client, Gateway *g, const char *topic, const char *id, json_object *params)
{
        json_object *failed, *data;
        size_t n;
        int code = 200;

        if (!json_object_is_type(params, json_type_array) || json_object_array_length(params) == 0 ||
                json_object_array_length(params) > TOPO_ADD_MAX) {
                refused_request("topo/add", g, 460, "params must be an array of 1..30 sub-devices");
                reply(client, topic, id, 460, NULL);
                return;
        }
        n = json_object_array_length(params);
        failed = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(params, i);
                SubDevice *s;
                int c = check_entry(e, "signmethod", NULL, /* need_client_id= */ false, 401, &s);

                if (c == 200 && s->deleted)
                        c = 6100;
                if (strcmp(jstr(e, "productKey") ?: "", g->pk) == 0 &&
                        strcmp(jstr(e, "deviceName") ?: "", g->dn) == 0)
                        c = 6402;
                if (c == 200)
                        continue;
                refused("topo/add", g, jstr(e, "productKey"), jstr(e, "deviceName"), c);
                json_object_array_add(failed, device_json(jstr(e, "productKey"), jstr(e, "deviceName")));
                if (code == 200)
                        code = c;
        }
        if (code != 200) {
                reply(client, topic, id, code, failed);
                return;
        }
        json_object_put(failed);
        data = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(params, i);
                SubDevice *s = find_subdevice(jstr(e, "productKey"), jstr(e, "deviceName"));

                /* Binding it to another gateway ends its session on the old one. */
                if (s->bound != g)
                        set_offline(s);
                s->bound = g;
                json_object_array_add(data, device_json(s->pk, s->dn));
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: topo/add %s/%s for %s/%s: bound", s->pk,
                        s->dn, g->pk, g->dn);
        }
        reply(client, topic, id, 200, data);
}

static void topo_get(struct mosquitto *client, Gateway *g, const char *topic, const char *id)
{
        json_object *data = json_object_new_array();
        size_t n = 0;

        for (size_t i = 0; i < plugin.n_subdevices; i++)
                if (plugin.subdevices[i].bound == g) {
                        json_object_array_add(
                                data, device_json(plugin.subdevices[i].pk, plugin.subdevices[i].dn));
                        n++;
                }
        mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: topo/get for %s/%s: %zu bound", g->pk, g->dn, n);
        reply(client, topic, id, 200, data);
}

/* topo/delete, logout and batch_logout: a list of {productKey, deviceName}, all valid or none applied. */
static void device_list_request(struct mosquitto *client, Gateway *g, const char *topic, const char *id,
        json_object *params, const char *op, bool single)
{
        bool unbind = strcmp(op, "topo/delete") == 0;
        json_object *list = params, *failed, *data;
        size_t n;
        int code = 200;

        if (single) {
                if (!json_object_is_type(params, json_type_object)) {
                        refused_request(op, g, 460, "params must be an object");
                        reply(client, topic, id, 460, NULL);
                        return;
                }
                list = json_object_new_array();
                json_object_array_add(list, json_object_get(params));
        } else if (!json_object_is_type(params, json_type_array) || json_object_array_length(params) == 0 ||
                   json_object_array_length(params) > (unbind ? TOPO_ADD_MAX : BATCH_MAX)) {
                refused_request(op, g, 460, "params must be an array within the batch limit");
                reply(client, topic, id, 460, NULL);
                return;
        } else
                json_object_get(list);

        n = json_object_array_length(list);
        failed = json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                const char *pk = jstr(e, "productKey"), *dn = jstr(e, "deviceName");
                SubDevice *s = find_subdevice(pk, dn);
                int c = !pk || !dn ? 460
                        : !s       ? 6100
                        : unbind   ? (s->bound == g ? 200 : 6401)
                                   : (s->online_via == client ? 200 : 520);

                if (c == 200)
                        continue;
                refused(op, g, pk, dn, c);
                json_object_array_add(failed, device_json(pk, dn));
                if (code == 200)
                        code = c;
        }
        if (code != 200) {
                reply(client, topic, id, code,
                        single ? json_object_get(json_object_array_get_idx(failed, 0)) : failed);
                if (single)
                        json_object_put(failed);
                json_object_put(list);
                return;
        }
        json_object_put(failed);
        data = single ? NULL : unbind ? json_object_new_object() : json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                SubDevice *s = find_subdevice(jstr(e, "productKey"), jstr(e, "deviceName"));

                set_offline(s);
                if (unbind)
                        s->bound = NULL;
                if (single)
                        data = device_json(s->pk, s->dn);
                else if (!unbind)
                        json_object_array_add(data, device_json(s->pk, s->dn));
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: %s %s/%s for %s/%s: %s", op, s->pk, s->dn,
                        g->pk, g->dn, unbind ? "unbound" : "offline");
        }
        if (!single && !unbind)
                mosquitto_log_printf(
                        MOSQ_LOG_NOTICE, "alink-auth: %s for %s/%s: %zu offline", op, g->pk, g->dn, n);
        reply(client, topic, id, 200, data);
        json_object_put(list);
}

static size_t online_count(const Gateway *g)
{
        size_t n = 0;

        for (size_t i = 0; i < plugin.n_subdevices; i++)
                if (plugin.subdevices[i].online_via && plugin.subdevices[i].bound == g)
                        n++;
        return n;
}

/* combine/login (params = one entry) and combine/batch_login (params.deviceList): the batch succeeds or
 * fails as a whole; the first failing entry decides the code and data names every failing one. */
static void login(struct mosquitto *client, Gateway *g, const char *topic, const char *id,
        json_object *params, bool single)
{
        const char *op = single ? "login" : "batch_login";
        const char *default_method = single ? NULL : jstr(params, "signMethod");
        json_object *list, *failed, *data;
        time_t now = time(NULL);
        size_t n, fresh = 0, online;
        int code = 200;

        if (single) {
                if (!json_object_is_type(params, json_type_object)) {
                        refused_request(op, g, 460, "params must be an object");
                        reply(client, topic, id, 460, NULL);
                        return;
                }
                list = json_object_new_array();
                json_object_array_add(list, json_object_get(params));
        } else if (!json_object_object_get_ex(params, "deviceList", &list) ||
                   !json_object_is_type(list, json_type_array) || json_object_array_length(list) == 0 ||
                   json_object_array_length(list) > BATCH_MAX) {
                refused_request(op, g, 460, "params.deviceList must be an array of 1..50 sub-devices");
                reply(client, topic, id, 460, NULL);
                return;
        } else
                json_object_get(list);
        n = json_object_array_length(list);

        if (g->second != now) {
                g->second = now;
                g->logins = 0;
        }
        failed = json_object_new_array();
        if (g->logins + n > plugin.login_rate) {
                code = 429;
                refused_request(op, g, 429, "login rate limit");
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(list, i);
                        json_object_array_add(
                                failed, device_json(jstr(e, "productKey"), jstr(e, "deviceName")));
                }
        }
        for (size_t i = 0; code != 429 && i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                SubDevice *s;
                int c = check_entry(e, "signMethod", default_method, /* need_client_id= */ true, 6287, &s);

                /* The order of the checks: known, not deleted, bound here, enabled, signed. */
                if (s && s->deleted)
                        c = 521;
                else if (s && s->bound != g)
                        c = 6401;
                else if (s && s->disabled)
                        c = 522;
                if (c == 200) {
                        if (s->online_via != client)
                                fresh++;
                        continue;
                }
                refused(op, g, jstr(e, "productKey"), jstr(e, "deviceName"), c);
                json_object_array_add(failed, device_json(jstr(e, "productKey"), jstr(e, "deviceName")));
                if (code == 200)
                        code = c;
        }
        online = online_count(g);
        if (code == 200 && online + fresh > plugin.max_online) {
                code = 428;
                refused_request(op, g, 428, "online limit");
                for (size_t i = 0; i < n; i++) {
                        json_object *e = json_object_array_get_idx(list, i);
                        json_object_array_add(
                                failed, device_json(jstr(e, "productKey"), jstr(e, "deviceName")));
                }
        }
        if (code != 200) {
                reply(client, topic, id, code,
                        single ? json_object_get(json_object_array_get_idx(failed, 0)) : failed);
                if (single)
                        json_object_put(failed);
                json_object_put(list);
                return;
        }
        json_object_put(failed);

        g->logins += (unsigned) n;
        data = single ? NULL : json_object_new_array();
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(list, i);
                SubDevice *s = find_subdevice(jstr(e, "productKey"), jstr(e, "deviceName"));

                s->online_via = client;
                s->auto_subscribe = client_id_auto_subscribe(jstr(e, "clientId"));
                if (single)
                        data = device_json(s->pk, s->dn);
                else
                        json_object_array_add(data, device_json(s->pk, s->dn));
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: login %s/%s for %s/%s: online", s->pk,
                        s->dn, g->pk, g->dn);
        }
        if (!single)
                mosquitto_log_printf(
                        MOSQ_LOG_NOTICE, "alink-auth: batch_login for %s/%s: %zu online", g->pk, g->dn, n);
        reply(client, topic, id, 200, data);
        json_object_put(list);
}

/* A gateway's request on its own topo or session topic; false when the topic is none of them. */
static bool gateway_request(struct mosquitto *client, const char *pk, const char *dn, const char *topic,
        const void *payload, uint32_t payloadlen)
{
        static const char *const verbs[] = {"thing/topo/add", "thing/topo/get", "thing/topo/delete",
                "combine/login", "combine/batch_login", "combine/logout", "combine/batch_logout"};
        char sys[300], session[300];
        const char *verb = NULL, *id = NULL;
        json_tokener *tok;
        json_object *req, *params = NULL, *v;
        Gateway *g;

        snprintf(sys, sizeof(sys), "/sys/%s/%s/", pk, dn);
        snprintf(session, sizeof(session), "/ext/session/%s/%s/", pk, dn);
        for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
                const char *prefix = i < 3 ? sys : session;
                if (has_prefix(topic, prefix) && strcmp(topic + strlen(prefix), verbs[i]) == 0)
                        verb = verbs[i];
        }
        if (!verb)
                return false;
        g = find_gateway(pk, dn, /* create= */ true);
        if (!g)
                return true;

        tok = json_tokener_new();
        req = tok ? json_tokener_parse_ex(tok, payload, (int) payloadlen) : NULL;
        if (tok && json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(req);
                req = NULL;
        }
        json_tokener_free(tok);
        if (json_object_object_get_ex(req, "id", &v) &&
                (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)))
                id = json_object_get_string(v);
        if (!json_object_is_type(req, json_type_object) || !id ||
                !json_object_object_get_ex(req, "params", &params)) {
                refused_request(strchr(verb, '/') + 1, g, 460, "not an Alink request with id and params");
                reply(client, topic, id, 460, NULL);
        } else if (strcmp(verb, "thing/topo/add") == 0)
                topo_add(client, g, topic, id, params);
        else if (strcmp(verb, "thing/topo/get") == 0)
                topo_get(client, g, topic, id);
        else if (strcmp(verb, "thing/topo/delete") == 0)
                device_list_request(client, g, topic, id, params, "topo/delete", /* single= */ false);
        else if (strcmp(verb, "combine/login") == 0)
                login(client, g, topic, id, params, /* single= */ true);
        else if (strcmp(verb, "combine/batch_login") == 0)
                login(client, g, topic, id, params, /* single= */ false);
        else if (strcmp(verb, "combine/logout") == 0)
                device_list_request(client, g, topic, id, params, "logout", /* single= */ true);
        else
                device_list_request(client, g, topic, id, params, "batch_logout", /* single= */ false);
        json_object_put(req);
        return true;
}

/* "N" with 1 <= N <= 1000000, or 0 when it is not that. */
static unsigned parse_limit(const void *payload, uint32_t payloadlen)
{
        char buf[16], *end;
        unsigned long v;

        if (payloadlen == 0 || payloadlen >= sizeof(buf))
                return 0;
        memcpy(buf, payload, payloadlen);
        buf[payloadlen] = 0;
        errno = 0;
        v = strtoul(buf, &end, 10);
        if (errno != 0 || *end != 0 || !isdigit((unsigned char) buf[0]) || v == 0 || v > 1000000)
                return 0;
        return (unsigned) v;
}

/* The cloud's injections: disable, enable, delete, kick and the limits. */
static void cloud_control(const char *topic, const void *payload, uint32_t payloadlen)
{
        const char *rest;
        SubDevice *s;

        if (strcmp(topic, "/alink-test/login-limit") == 0 ||
                strcmp(topic, "/alink-test/online-limit") == 0) {
                bool rate = strcmp(topic, "/alink-test/login-limit") == 0;
                unsigned v = parse_limit(payload, payloadlen);

                if (v == 0) {
                        mosquitto_log_printf(
                                MOSQ_LOG_ERR, "alink-auth: %s: ignoring, payload must be 1..1000000", topic);
                        return;
                }
                if (rate)
                        plugin.login_rate = v;
                else
                        plugin.max_online = v;
                mosquitto_log_printf(
                        MOSQ_LOG_NOTICE, "alink-auth: %s %u", rate ? "login rate" : "online limit", v);
                return;
        }
        if (has_prefix(topic, "/alink-test/kick/")) {
                const char *pk = topic + strlen("/alink-test/kick/"), *slash = strchr(pk, '/');
                char buf[256];

                if (!slash || (size_t) (slash - pk) >= sizeof(buf))
                        return;
                memcpy(buf, pk, (size_t) (slash - pk));
                buf[slash - pk] = 0;
                s = find_subdevice(buf, slash + 1);
                if (!s) {
                        mosquitto_log_printf(
                                MOSQ_LOG_ERR, "alink-auth: kick: unknown sub-device %s/%s", buf, slash + 1);
                        return;
                }
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: kick %s/%s: %s", s->pk, s->dn,
                        s->online_via ? "offline" : "was not online");
                set_offline(s);
                return;
        }
        s = topic_subdevice(topic, &rest);
        if (!s)
                return;
        if (strcmp(rest, "thing/disable") == 0) {
                s->disabled = true;
                set_offline(s);
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: disable %s/%s: disabled", s->pk, s->dn);
        } else if (strcmp(rest, "thing/enable") == 0) {
                s->disabled = false;
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: enable %s/%s: enabled", s->pk, s->dn);
        } else if (strcmp(rest, "thing/delete") == 0) {
                s->deleted = true;
                s->bound = NULL;
                set_offline(s);
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-auth: delete %s/%s: deleted", s->pk, s->dn);
        }
}

/* The auto-subscription: a copy to the gateway of what others publish to a sub-device's topics, when the
 * gateway did not subscribe to them itself. */
static void auto_subscription(struct mosquitto *from, const struct mosquitto_evt_message *ed)
{
        const char *rest;
        SubDevice *s = topic_subdevice(ed->topic, &rest);
        struct mosquitto *to = NULL;
        int rc;

        if (!s)
                return;
        if (s->online_via && s->auto_subscribe)
                to = s->online_via;
        else if (s->bound && s->bound->client && s->bound->auto_subscribe && is_notification(rest))
                to = s->bound->client;
        if (!to || to == from || client_subscribed(to, ed->topic))
                return;
        rc = mosquitto_broker_publish_copy(
                mosquitto_client_id(to), ed->topic, (int) ed->payloadlen, ed->payload, ed->qos, false, NULL);
        if (rc != MOSQ_ERR_SUCCESS)
                mosquitto_log_printf(MOSQ_LOG_ERR, "alink-auth: cannot copy %s to %s: error %d", ed->topic,
                        mosquitto_client_id(to), rc);
}

static int on_message(int event, void *event_data, void *userdata)
{
        struct mosquitto_evt_message *ed = event_data;
        const char *username = mosquitto_client_username(ed->client);
        char pk[128], dn[128];

        (void) event;
        (void) userdata;

        if (!username || !ed->topic)
                return MOSQ_ERR_SUCCESS;
        /* Delivered before the state changes, so that a thing/disable still reaches its gateway. */
        auto_subscription(ed->client, ed);
        if (is_cloud(ed->client))
                cloud_control(ed->topic, ed->payload, ed->payloadlen);
        else if (split_username(username, pk, dn))
                (void) gateway_request(ed->client, pk, dn, ed->topic, ed->payload, ed->payloadlen);
        return MOSQ_ERR_SUCCESS;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
        struct mosquitto_evt_disconnect *ed = event_data;
        size_t n = 0;

        (void) event;
        (void) userdata;

        for (size_t i = 0; i < plugin.n_subdevices; i++)
                if (plugin.subdevices[i].online_via == ed->client) {
                        set_offline(&plugin.subdevices[i]);
                        n++;
                }
        filter_remove(ed->client, NULL);
        for (size_t i = 0; i < plugin.n_gateways; i++)
                if (plugin.gateways[i]->client == ed->client) {
                        plugin.gateways[i]->client = NULL;
                        if (n > 0)
                                mosquitto_log_printf(MOSQ_LOG_NOTICE,
                                        "alink-auth: gateway %s/%s disconnected: %zu sub-device(s) offline",
                                        plugin.gateways[i]->pk, plugin.gateways[i]->dn, n);
                }
        return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
        for (int i = 0; i < supported_version_count; i++)
                if (supported_versions[i] == 5)
                        return 5;
        return -1;
}

int mosquitto_plugin_init(
        mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *opts, int opt_count)
{
        int rc;

        (void) userdata;
        plugin.id = identifier;
        plugin.login_rate = LOGIN_RATE_DEFAULT;
        plugin.max_online = MAX_ONLINE_DEFAULT;
        for (int i = 0; i < opt_count; i++) {
                if (strcmp(opts[i].key, "devices") == 0) {
                        rc = load_devices(opts[i].value);
                        if (rc != MOSQ_ERR_SUCCESS)
                                return rc;
                } else if (strcmp(opts[i].key, "subdevices") == 0) {
                        rc = load_subdevices(opts[i].value);
                        if (rc != MOSQ_ERR_SUCCESS)
                                return rc;
                } else if (strcmp(opts[i].key, "login_rate") == 0 ||
                           strcmp(opts[i].key, "max_online") == 0) {
                        unsigned v = parse_limit(opts[i].value, (uint32_t) strlen(opts[i].value));
                        if (v == 0) {
                                mosquitto_log_printf(MOSQ_LOG_ERR,
                                        "alink-auth: plugin_opt_%s must be 1..1000000", opts[i].key);
                                return MOSQ_ERR_INVAL;
                        }
                        if (strcmp(opts[i].key, "login_rate") == 0)
                                plugin.login_rate = v;
                        else
                                plugin.max_online = v;
                } else if (strcmp(opts[i].key, "cloud_username") == 0)
                        plugin.cloud_username = strdup(opts[i].value);
                else if (strcmp(opts[i].key, "cloud_password") == 0)
                        plugin.cloud_password = strdup(opts[i].value);
        }
        rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, on_message, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, on_disconnect, NULL, NULL);
        mosquitto_log_printf(MOSQ_LOG_NOTICE,
                "alink-auth: plugin loaded with %zu device(s), %zu sub-device(s)", plugin.n_devices,
                plugin.n_subdevices);
        return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count)
{
        (void) userdata;
        (void) opts;
        (void) opt_count;
        (void) mosquitto_callback_unregister(plugin.id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
        (void) mosquitto_callback_unregister(plugin.id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
        (void) mosquitto_callback_unregister(plugin.id, MOSQ_EVT_MESSAGE, on_message, NULL);
        (void) mosquitto_callback_unregister(plugin.id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL);
        for (size_t i = 0; i < plugin.n_devices; i++) {
                free(plugin.devices[i].pk);
                free(plugin.devices[i].dn);
                free(plugin.devices[i].secret);
        }
        free(plugin.devices);
        for (size_t i = 0; i < plugin.n_subdevices; i++) {
                free(plugin.subdevices[i].pk);
                free(plugin.subdevices[i].dn);
                free(plugin.subdevices[i].secret);
        }
        free(plugin.subdevices);
        for (size_t i = 0; i < plugin.n_gateways; i++) {
                free(plugin.gateways[i]->pk);
                free(plugin.gateways[i]->dn);
                free(plugin.gateways[i]);
        }
        free(plugin.gateways);
        for (size_t i = 0; i < plugin.n_filters; i++)
                free(plugin.filters[i].filter);
        free(plugin.filters);
        free(plugin.cloud_username);
        free(plugin.cloud_password);
        plugin = (Plugin){};
        return MOSQ_ERR_SUCCESS;
}
