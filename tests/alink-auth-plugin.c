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
 * Options (mosquitto.conf):
 *   plugin_opt_devices FILE         lines "product_key device_name device_secret"
 *   plugin_opt_cloud_username NAME
 *   plugin_opt_cloud_password PASS
 *
 * Every CONNECT it sees is logged as "alink-auth: accepted ..." or "alink-auth: refused ...: reason", so a
 * test can count connection attempts and prove that none arrived. */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

typedef struct Device {
        char *pk, *dn, *secret;
} Device;

typedef struct Plugin {
        mosquitto_plugin_id_t *id;
        Device *devices;
        size_t n_devices;
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

static const char *check_login(
        const char *client_id, const char *username, const char *password, char *why, size_t why_size)
{
        char cid[256], ext[512], method[32] = "hmacmd5", mode[16], ts[64], pk[128], dn[128], content[1024];
        const char *bar, *amp;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
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
        if (!HMAC(md, d->secret, (int) strlen(d->secret), (unsigned char *) content, strlen(content), mac,
                    &mac_len))
                return "HMAC failed";
        for (unsigned i = 0; i < mac_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", mac[i]);
        if (strcasecmp(hex, password) != 0) {
                snprintf(why, why_size, "wrong password for %.100s&%.100s", dn, pk);
                return why;
        }
        return NULL;
}

static int on_basic_auth(int event, void *event_data, void *userdata)
{
        struct mosquitto_evt_basic_auth *ed = event_data;
        const char *client_id = mosquitto_client_id(ed->client);
        char why_buf[256];
        const char *why;

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
        return MOSQ_ERR_SUCCESS;
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A device's own topics (https://help.aliyun.com/document_detail/89301.htm, 89307.htm). */
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
        if (has_prefix(topic, "/ext/rrpc/")) {
                const char *rest = strchr(topic + strlen("/ext/rrpc/"), '/');
                snprintf(buf, sizeof(buf), "/sys/%s/%s/", pk, dn);
                if (rest && has_prefix(rest, buf))
                        return true;
        }
        return false;
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
        struct mosquitto_evt_acl_check *ed = event_data;
        const char *username = mosquitto_client_username(ed->client);
        char pk[128], dn[128];
        const char *amp;

        (void) event;
        (void) userdata;

        if (!username)
                return MOSQ_ERR_ACL_DENIED;
        if (plugin.cloud_username && strcmp(username, plugin.cloud_username) == 0)
                return MOSQ_ERR_SUCCESS;

        amp = strchr(username, '&');
        if (!amp || (size_t) (amp - username) >= sizeof(dn) || strlen(amp + 1) >= sizeof(pk))
                return MOSQ_ERR_ACL_DENIED;
        memcpy(dn, username, (size_t) (amp - username));
        dn[amp - username] = 0;
        snprintf(pk, sizeof(pk), "%s", amp + 1);

        if (device_topic_allowed(pk, dn, ed->topic))
                return MOSQ_ERR_SUCCESS;
        if (ed->access != MOSQ_ACL_READ)
                mosquitto_log_printf(MOSQ_LOG_NOTICE, "alink-acl: denied %s %s for %s&%s",
                        ed->access == MOSQ_ACL_WRITE ? "publish to" : "subscribe to", ed->topic, dn, pk);
        return MOSQ_ERR_ACL_DENIED;
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
        for (int i = 0; i < opt_count; i++) {
                if (strcmp(opts[i].key, "devices") == 0) {
                        rc = load_devices(opts[i].value);
                        if (rc != MOSQ_ERR_SUCCESS)
                                return rc;
                } else if (strcmp(opts[i].key, "cloud_username") == 0)
                        plugin.cloud_username = strdup(opts[i].value);
                else if (strcmp(opts[i].key, "cloud_password") == 0)
                        plugin.cloud_password = strdup(opts[i].value);
        }
        rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, NULL);
        if (rc == MOSQ_ERR_SUCCESS)
                rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
        mosquitto_log_printf(
                MOSQ_LOG_NOTICE, "alink-auth: plugin loaded with %zu device(s)", plugin.n_devices);
        return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *opts, int opt_count)
{
        (void) userdata;
        (void) opts;
        (void) opt_count;
        (void) mosquitto_callback_unregister(plugin.id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
        (void) mosquitto_callback_unregister(plugin.id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
        for (size_t i = 0; i < plugin.n_devices; i++) {
                free(plugin.devices[i].pk);
                free(plugin.devices[i].dn);
                free(plugin.devices[i].secret);
        }
        free(plugin.devices);
        free(plugin.cloud_username);
        free(plugin.cloud_password);
        plugin = (Plugin){};
        return MOSQ_ERR_SUCCESS;
}
