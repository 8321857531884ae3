/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-ota.c: the Ota object driven through a fake OtaHost (it records what is published, says online or
 * offline, and finishes the installer unit with the result a test asks for), downloading from a small HTTP
 * server inside the test, served from the same sd-event loop. No sleeps: each wait runs the loop until
 * the expected event, with a deadline. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>
#include <time.h>
#include <unistd.h>

#include "alink.h"
#include "digest.h"
#include "fs-util.h"
#include "log.h"
#include "ota-job.h"
#include "ota.h"
#include "string-util.h"
#include "test.h"

#define WAIT_USEC (20 * 1000000ULL)
#define IMAGE_SIZE (300 * 1024)

/* ---- the fake host ---- */

typedef struct Published {
        OtaTopic topic;
        char *payload;
        int qos;
        bool while_offline;
} Published;

typedef struct FakeHost {
        bool online;
        Published pub[64];
        size_t n_pub;
        unsigned next_id;
        char *unit;
        OtaUnitDoneFn unit_done;
        void *unit_userdata;
        unsigned units_started, units_forgotten, status_changes;
} FakeHost;

static int fake_publish(void *userdata, OtaTopic topic, const char *payload, int qos)
{
        FakeHost *h = userdata;

        CHECK(h->n_pub < ELEMENTSOF(h->pub));
        CHECK(topic >= 0 && topic < _OTA_TOPIC_MAX);
        h->pub[h->n_pub++] = (Published){topic, strdup(payload), qos, !h->online};
        return 0;
}

static char *fake_new_message_id(void *userdata)
{
        FakeHost *h = userdata;
        char *s;

        CHECK(asprintf(&s, "%u", ++h->next_id) > 0);
        return s;
}

static bool fake_is_online(void *userdata)
{
        return ((FakeHost *) userdata)->online;
}

static int fake_start_unit(void *userdata, const char *unit, OtaUnitDoneFn done, void *done_userdata)
{
        FakeHost *h = userdata;

        CHECK(!h->unit_done); /* one at a time, as bus_start_unit() */
        free(h->unit);
        h->unit = strdup(unit);
        h->unit_done = done;
        h->unit_userdata = done_userdata;
        h->units_started++;
        return 0;
}

static void fake_forget_unit(void *userdata)
{
        FakeHost *h = userdata;

        h->unit_done = NULL;
        h->units_forgotten++;
}

static void fake_status_changed(void *userdata)
{
        ((FakeHost *) userdata)->status_changes++;
}

/* The unit's start job is over: systemd's job result and the main process's exit status. */
static void fake_finish_unit(FakeHost *h, const char *result, int exit_status)
{
        OtaUnitDoneFn done = h->unit_done;

        CHECK(done);
        h->unit_done = NULL;
        done(h->unit_userdata, 0, result, exit_status, NULL);
}

static void fake_host_done(FakeHost *h)
{
        for (size_t i = 0; i < h->n_pub; i++)
                free(h->pub[i].payload);
        free(h->unit);
        *h = (FakeHost){};
}

static OtaHost fake_host(FakeHost *h)
{
        return (OtaHost){
                .publish = fake_publish,
                .new_message_id = fake_new_message_id,
                .is_online = fake_is_online,
                .start_unit = fake_start_unit,
                .forget_unit = fake_forget_unit,
                .status_changed = fake_status_changed,
                .userdata = h,
        };
}

/* The index of the first message on topic after from whose payload contains needle, or -1. */
static ssize_t find_pub(const FakeHost *h, size_t from, OtaTopic topic, const char *needle)
{
        for (size_t i = from; i < h->n_pub; i++)
                if (h->pub[i].topic == topic && strstr(h->pub[i].payload, needle))
                        return (ssize_t) i;
        return -1;
}

static size_t count_pub(const FakeHost *h, OtaTopic topic)
{
        size_t n = 0;

        for (size_t i = 0; i < h->n_pub; i++)
                n += h->pub[i].topic == topic;
        return n;
}

/* The last progress message, or NULL. */
static const Published *last_progress(const FakeHost *h)
{
        for (size_t i = h->n_pub; i > 0; i--)
                if (h->pub[i - 1].topic == OTA_TOPIC_PROGRESS)
                        return &h->pub[i - 1];
        return NULL;
}

/* ---- the file server: one file, HTTP/1.1, Range honoured, one request per connection ---- */

typedef struct Server {
        int fd;
        uint16_t port;
        sd_event_source *source;
        const char *body;
        size_t len;
        unsigned requests;
        size_t cut_after; /* > 0: every response ends after this many bytes of the body */
} Server;

typedef struct Conn {
        Server *server;
        int fd;
        sd_event_source *source;
        char req[4096];
        size_t req_len;
        char *out;
        size_t out_len, out_done;
} Conn;

static void conn_free(Conn *c)
{
        sd_event_source_disable_unref(c->source);
        (void) close(c->fd);
        free(c->out);
        free(c);
}

static int conn_respond(Conn *c)
{
        Server *s = c->server;
        const char *range = strcasestr(c->req, "\r\nRange: bytes=");
        unsigned long long from = range ? strtoull(range + strlen("\r\nRange: bytes="), NULL, 10) : 0;
        char *head;
        int n;

        s->requests++;
        CHECK(from <= s->len);
        if (from > 0)
                n = asprintf(&head,
                        "HTTP/1.1 206 Partial Content\r\nContent-Length: %zu\r\nContent-Range: bytes "
                        "%llu-%zu/%zu\r\n"
                        "Connection: close\r\n\r\n",
                        s->len - (size_t) from, from, s->len - 1, s->len);
        else
                n = asprintf(&head, "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                        s->len);
        CHECK(n > 0);
        c->out_len = (size_t) n + s->len - (size_t) from;
        if (s->cut_after > 0 && s->len - (size_t) from > s->cut_after)
                c->out_len = (size_t) n + s->cut_after;
        c->out = malloc(c->out_len);
        CHECK(c->out);
        memcpy(c->out, head, (size_t) n);
        memcpy(c->out + n, s->body + from, c->out_len - (size_t) n);
        free(head);
        return sd_event_source_set_io_events(c->source, EPOLLOUT);
}

static int on_conn(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Conn *c = userdata;
        ssize_t n;

        (void) src;
        (void) revents;
        if (!c->out) {
                n = read(fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len);
                if (n < 0 && errno == EAGAIN)
                        return 0;
                if (n <= 0) {
                        conn_free(c);
                        return 0;
                }
                c->req_len += (size_t) n;
                c->req[c->req_len] = 0;
                CHECK(c->req_len < sizeof(c->req) - 1);
                if (strstr(c->req, "\r\n\r\n"))
                        CHECK(conn_respond(c) >= 0);
                return 0;
        }
        n = write(fd, c->out + c->out_done, c->out_len - c->out_done);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n < 0 || (c->out_done += (size_t) n) == c->out_len)
                conn_free(c);
        return 0;
}

static int on_accept(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
        Server *s = userdata;
        Conn *c;
        int cfd;

        (void) revents;
        cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0)
                return 0;
        c = calloc(1, sizeof(*c));
        CHECK(c);
        c->server = s;
        c->fd = cfd;
        CHECK(sd_event_add_io(sd_event_source_get_event(src), &c->source, cfd, EPOLLIN, on_conn, c) >= 0);
        return 0;
}

static void server_start(Server *s, sd_event *e, const char *body, size_t len)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t alen = sizeof(a);

        *s = (Server){.body = body, .len = len};
        s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        CHECK(s->fd >= 0);
        CHECK(bind(s->fd, (struct sockaddr *) &a, sizeof(a)) == 0);
        CHECK(listen(s->fd, 8) == 0);
        CHECK(getsockname(s->fd, (struct sockaddr *) &a, &alen) == 0);
        s->port = ntohs(a.sin_port);
        CHECK(sd_event_add_io(e, &s->source, s->fd, EPOLLIN, on_accept, s) >= 0);
}

static void server_stop(Server *s)
{
        sd_event_source_disable_unref(s->source);
        (void) close(s->fd);
}

/* ---- the fixture ---- */

typedef struct Fixture {
        char dir[64];
        char version_path[128], job_path[128];
        sd_event *event;
        FakeHost host;
        Server server;
        char *image;
        char md5[33];
        OtaConfig config;
        Ota *ota;
} Fixture;

static uint64_t now_usec(void)
{
        struct timespec ts;

        CHECK(clock_gettime(CLOCK_MONOTONIC, &ts) == 0);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Runs the loop until cond holds; false when the deadline passed first. */
static bool run_until(Fixture *f, bool (*cond)(Fixture *f, const void *arg), const void *arg)
{
        uint64_t deadline = now_usec() + WAIT_USEC;

        while (!cond(f, arg)) {
                uint64_t now = now_usec();
                if (now >= deadline)
                        return false;
                CHECK(sd_event_run(f->event, deadline - now) >= 0);
        }
        return true;
}

static bool unit_started(Fixture *f, const void *arg)
{
        (void) arg;
        return f->host.unit_done != NULL;
}

static bool step_published(Fixture *f, const void *arg)
{
        return find_pub(&f->host, 0, OTA_TOPIC_PROGRESS, arg) >= 0;
}

static void fixture_setup(Fixture *f)
{
        _cleanup_(digest_freep) Digest *d = NULL;
        _cleanup_(freep) char *hex = NULL;

        *f = (Fixture){};
        /* The download helper is watched with sd_event_add_child(), as in the daemon (main() blocks it). */
        sigset_t ss;
        CHECK(sigemptyset(&ss) == 0 && sigaddset(&ss, SIGCHLD) == 0);
        CHECK(sigprocmask(SIG_BLOCK, &ss, NULL) == 0);
        snprintf(f->dir, sizeof(f->dir), "/tmp/test-ota.XXXXXX");
        CHECK(mkdtemp(f->dir));
        snprintf(f->version_path, sizeof(f->version_path), "%s/version", f->dir);
        snprintf(f->job_path, sizeof(f->job_path), "%s/" OTA_JOB_FILE, f->dir);
        CHECK(write_file_atomic(f->version_path, "1.0.0\n", 0644) == 0);
        CHECK(sd_event_new(&f->event) >= 0);

        f->image = malloc(IMAGE_SIZE);
        CHECK(f->image);
        for (size_t i = 0; i < IMAGE_SIZE; i++)
                f->image[i] = (char) ((i * 2654435761u) >> 13);
        CHECK(digest_new(&d, DIGEST_MD5) >= 0);
        CHECK(digest_update(d, f->image, IMAGE_SIZE) >= 0);
        CHECK(digest_final_hex(d, &hex) >= 0);
        CHECK(strlen(hex) == 32);
        memcpy(f->md5, hex, 33);
        server_start(&f->server, f->event, f->image, IMAGE_SIZE);

        f->host.online = true;
        f->config = (OtaConfig){
                .state_directory = f->dir,
                .download_dir = f->dir,
                .version_file = f->version_path,
                .install_unit = "ali-linkd-install",
                .allow_http = true, /* the test's server speaks plain HTTP */
                .max_size = 1024 * 1024 * 1024,
                .installer_timeout = 600,
                .connect_timeout = 5,
                .stall_timeout = 5,
        };
}

static void fixture_start(Fixture *f)
{
        OtaHost host = fake_host(&f->host);

        CHECK(ota_new(&f->ota, f->event, &f->config, &host) == 0);
}

static void fixture_teardown(Fixture *f)
{
        _cleanup_(freep) char *cmd = NULL;

        f->ota = ota_free(f->ota);
        server_stop(&f->server);
        fake_host_done(&f->host);
        sd_event_unref(f->event);
        free(f->image);
        CHECK(asprintf(&cmd, "rm -rf '%s'", f->dir) > 0);
        CHECK(system(cmd) == 0);
}

static void push(Fixture *f, const char *version, const char *method, const char *sign)
{
        _cleanup_(freep) char *json = NULL;

        CHECK(asprintf(&json,
                      "{\"code\":\"1000\",\"id\":1,\"message\":\"success\",\"data\":{\"size\":%d,"
                      "\"version\":\"%s\","
                      "\"url\":\"http://127.0.0.1:%u/"
                      "fw.bin?Expires=1\",\"signMethod\":\"%s\",\"sign\":\"%s\"}}",
                      IMAGE_SIZE, version, f->server.port, method, sign) > 0);
        ota_handle_upgrade(f->ota, json, strlen(json), /* reply= */ false);
}

static void check_status(Fixture *f, const char *version, const char *state, int progress)
{
        OtaStatus st;

        ota_get_status(f->ota, &st);
        CHECK_STREQ(st.firmware_version, version);
        CHECK_STREQ(st.state, state);
        CHECK_INTEQ(st.progress, progress);
}

/* A small file's contents, NUL-terminated. */
static int read_text(const char *path, char **ret)
{
        _cleanup_(fclosep) FILE *file = fopen(path, "re");
        char *buf;
        size_t n;

        if (!file)
                return -errno;
        buf = calloc(1, 65536);
        CHECK(buf);
        n = fread(buf, 1, 65535, file);
        buf[n] = 0;
        *ret = buf;
        return 0;
}

static bool exists(const char *dir, const char *name)
{
        char p[256];

        snprintf(p, sizeof(p), "%s/%s", dir, name);
        return access(p, F_OK) == 0;
}

/* Download until the installer unit is asked for, and check what it was handed. */
static void download_to_unit(Fixture *f)
{
        _cleanup_(freep) char *request = NULL, *image = NULL, *manifest = NULL, *text = NULL;
        const char *id;
        struct stat st;
        int fd;

        push(f, "2.0.0", "Md5", f->md5);
        /* Step 0 at once, before a byte arrived. */
        CHECK(find_pub(&f->host, 0, OTA_TOPIC_PROGRESS, "\"step\":\"0\"") >= 0);
        check_status(f, "1.0.0", "downloading", 0);

        CHECK(run_until(f, unit_started, NULL));
        CHECK_INTEQ(f->host.units_started, 1);
        CHECK(strncmp(f->host.unit, "ali-linkd-install@fw-2.0.0-", 27) == 0);
        CHECK(strlen(f->host.unit) > 8 && streq(f->host.unit + strlen(f->host.unit) - 8, ".service"));
        check_status(f, "1.0.0", "installing", 99);
        CHECK(f->server.requests >= 1);

        /* The verified image and its manifest wait for the root side in state_directory/install/ID/. */
        id = f->host.unit + strlen("ali-linkd-install@");
        CHECK(asprintf(&request, "%s/install/%.*s", f->dir, (int) (strlen(id) - 8), id) > 0);
        CHECK(asprintf(&image, "%s/image", request) > 0);
        CHECK(asprintf(&manifest, "%s/manifest", request) > 0);
        CHECK(stat(image, &st) == 0 && st.st_size == IMAGE_SIZE);
        text = malloc(IMAGE_SIZE);
        CHECK(text);
        fd = open(image, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0 && read(fd, text, IMAGE_SIZE) == IMAGE_SIZE);
        (void) close(fd);
        CHECK(memcmp(text, f->image, IMAGE_SIZE) == 0);
        text = mfree(text);
        CHECK(read_text(manifest, &text) >= 0);
        CHECK_CONTAINS(text, "ALI_LINKD_OTA_VERSION=2.0.0\n");
        CHECK_CONTAINS(text, "ALI_LINKD_OTA_SIGN_METHOD=MD5\n");
        CHECK(!exists(f->dir, "ota-image.part") && !exists(f->dir, "ota-image"));
        free(text);
        text = NULL;
        CHECK(read_text(f->job_path, &text) >= 0);
        CHECK_CONTAINS(text, "\"phase\":\"install\"");
}

/* ---- the cases ---- */

TEST(push_download_install_success)
{
        Fixture f;
        ssize_t i100, inform;
        unsigned changes;

        fixture_setup(&f);
        fixture_start(&f);
        /* The version from version_file is informed at once (online), and again on connect, with a
         * firmware/get the first time. */
        CHECK(find_pub(&f.host, 0, OTA_TOPIC_INFORM, "\"version\":\"1.0.0\"") >= 0);
        ota_on_connected(f.ota);
        CHECK_INTEQ(count_pub(&f.host, OTA_TOPIC_INFORM), 2);
        CHECK_INTEQ(count_pub(&f.host, OTA_TOPIC_FIRMWARE_GET), 1);
        check_status(&f, "1.0.0", "idle", 0);

        download_to_unit(&f);
        changes = f.host.status_changes;
        fake_finish_unit(&f.host, "done", 0);

        /* Progress 100, then the new version informed; nothing failed on the way. */
        i100 = find_pub(&f.host, 0, OTA_TOPIC_PROGRESS, "\"step\":\"100\"");
        CHECK(i100 >= 0);
        CHECK(last_progress(&f.host) == &f.host.pub[i100]);
        CHECK_INTEQ(f.host.pub[i100].qos, 1);
        CHECK(find_pub(&f.host, 0, OTA_TOPIC_PROGRESS, "\"step\":\"-") < 0);
        inform = find_pub(&f.host, (size_t) i100, OTA_TOPIC_INFORM, "\"version\":\"2.0.0\"");
        CHECK(inform > i100);
        check_status(&f, "2.0.0", "idle", 100);
        CHECK(f.host.status_changes > changes);
        CHECK(!exists(f.dir, OTA_JOB_FILE) && !exists(f.dir, "ota-image"));
        CHECK_INTEQ(f.host.units_forgotten, 0);
        fixture_teardown(&f);
}

TEST(digest_mismatch)
{
        Fixture f;
        const Published *p;

        fixture_setup(&f);
        fixture_start(&f);
        push(&f, "2.0.0", "Md5", "0123456789abcdef0123456789abcdef");
        CHECK(run_until(&f, step_published, "\"step\":\"-3\""));
        p = last_progress(&f.host);
        CHECK_CONTAINS(p->payload, "\"step\":\"-3\"");
        CHECK_CONTAINS(p->payload, "digest mismatch: MD5 expected 0123456789abcdef0123456789abcdef, got ");
        CHECK_CONTAINS(p->payload, f.md5);
        CHECK_INTEQ(f.host.units_started, 0);
        /* The file is deleted and never reaches the installer; the job is over. */
        CHECK(!exists(f.dir, "ota-image.part") && !exists(f.dir, "ota-image") &&
                !exists(f.dir, OTA_JOB_FILE));
        check_status(&f, "1.0.0", "idle", -3);
        fixture_teardown(&f);
}

TEST(download_dir_must_be_private)
{
        Fixture f;
        const Published *p;
        char part[PATH_MAX];
        struct stat st;

        /* A directory others may write: no download at all, -2 with the reason. */
        fixture_setup(&f);
        fixture_start(&f);
        CHECK(chmod(f.dir, 01777) == 0);
        push(&f, "2.0.0", "Md5", f.md5);
        CHECK(run_until(&f, step_published, "\"step\":\"-2\""));
        p = last_progress(&f.host);
        CHECK_CONTAINS(p->payload, "writable by nobody else");
        CHECK(!exists(f.dir, "ota-image.part"));
        CHECK(chmod(f.dir, 0700) == 0);

        /* A part file planted beforehand (another owner, mode 0666) is not written into: the job makes
         * its own, and the installer gets a file only the daemon can change. */
        snprintf(part, sizeof(part), "%s/ota-image.part", f.dir);
        CHECK(write_file_atomic(part, "planted", 0666) == 0);
        CHECK(chmod(part, 0666) == 0);
        if (geteuid() == 0)
                CHECK(chown(part, 65534, 65534) == 0);
        download_to_unit(&f);
        const char *id = f.host.unit + strlen("ali-linkd-install@");
        _cleanup_(freep) char *image = NULL;
        CHECK(asprintf(&image, "%s/install/%.*s/image", f.dir, (int) (strlen(id) - 8), id) > 0);
        CHECK(stat(image, &st) == 0);
        /* Not the planted inode (0666, and another owner when run as root) written over, but a new one. */
        CHECK(st.st_uid == geteuid() && (st.st_mode & 077) == 0);
        fake_finish_unit(&f.host, "done", 0);
        fixture_teardown(&f);
}

TEST(superseded_job_is_reported)
{
        Fixture f;
        ssize_t cancelled;

        fixture_setup(&f);
        fixture_start(&f);
        push(&f, "2.0.0", "Md5", f.md5);
        check_status(&f, "1.0.0", "downloading", 0);
        /* Another version while the first downloads: the first ends with -1 saying why, then the new one
         * starts at step 0. */
        push(&f, "3.0.0", "Md5", f.md5);
        cancelled = find_pub(&f.host, 0, OTA_TOPIC_PROGRESS, "cancelled: superseded by firmware 3.0.0");
        CHECK(cancelled >= 0);
        CHECK_CONTAINS(f.host.pub[cancelled].payload, "\"step\":\"-1\"");
        CHECK(find_pub(&f.host, (size_t) cancelled + 1, OTA_TOPIC_PROGRESS, "\"step\":\"0\"") > cancelled);
        CHECK(run_until(&f, unit_started, NULL));
        CHECK(strncmp(f.host.unit, "ali-linkd-install@fw-3.0.0-", 27) == 0);
        fake_finish_unit(&f.host, "done", 0);
        fixture_teardown(&f);
}

TEST(a_server_that_cuts_every_connection_is_given_up)
{
        Fixture f;
        const Published *p;

        /* One byte per connection: each attempt moves, but too little to count; the retries back off and
         * end with -2 instead of resuming at once for ever. */
        fixture_setup(&f);
        f.server.cut_after = 1;
        f.config.retry_base_usec = 10 * 1000;
        fixture_start(&f);
        push(&f, "2.0.0", "Md5", f.md5);
        CHECK(run_until(&f, step_published, "\"step\":\"-2\""));
        p = last_progress(&f.host);
        CHECK_CONTAINS(p->payload, "download failed after 6 attempts");
        CHECK_INTEQ(f.server.requests, 6);
        CHECK_INTEQ(f.host.units_started, 0);
        fixture_teardown(&f);
}

TEST(offline_result_sent_on_reconnect)
{
        Fixture f;
        ssize_t i100;
        size_t informs, gets;

        fixture_setup(&f);
        fixture_start(&f);
        ota_on_connected(f.ota);
        download_to_unit(&f);

        /* The link drops while the installer runs; the result is still handed over, at QoS 1, for the
         * host to keep; the version is not informed into the void. */
        f.host.online = false;
        informs = count_pub(&f.host, OTA_TOPIC_INFORM);
        fake_finish_unit(&f.host, "done", 0);
        i100 = find_pub(&f.host, 0, OTA_TOPIC_PROGRESS, "\"step\":\"100\"");
        CHECK(i100 >= 0);
        CHECK(f.host.pub[i100].while_offline && f.host.pub[i100].qos == 1);
        CHECK_INTEQ(count_pub(&f.host, OTA_TOPIC_INFORM), informs);
        CHECK_INTEQ(ota_request_firmware(f.ota), -ENOTCONN);

        /* Back online: the new version is informed; firmware/get is not asked again. */
        f.host.online = true;
        gets = count_pub(&f.host, OTA_TOPIC_FIRMWARE_GET);
        ota_on_connected(f.ota);
        CHECK(find_pub(&f.host, (size_t) i100, OTA_TOPIC_INFORM, "\"version\":\"2.0.0\"") > i100);
        CHECK_INTEQ(count_pub(&f.host, OTA_TOPIC_FIRMWARE_GET), gets);
        check_status(&f, "2.0.0", "idle", 100);
        fixture_teardown(&f);
}

TEST(invalid_push)
{
        Fixture f;
        const Published *p;
        size_t n;

        fixture_setup(&f);
        fixture_start(&f);

        push(&f, "2.0.0", "Md5", "abc");
        p = last_progress(&f.host);
        CHECK(p);
        CHECK_CONTAINS(p->payload, "\"step\":\"-1\"");
        CHECK_CONTAINS(p->payload, "\"desc\":\"invalid push: sign is not a MD5 digest (32 hex digits)\"");

        n = f.host.n_pub;
        push(&f, "2.0.0", "SHA1", f.md5);
        CHECK(f.host.n_pub == n + 1);
        p = last_progress(&f.host);
        CHECK_CONTAINS(p->payload, "\"step\":\"-1\"");
        CHECK_CONTAINS(p->payload, "signMethod \\\"SHA1\\\" is not supported");

        /* Not JSON at all. */
        ota_handle_upgrade(f.ota, "{\"code\":", 8, /* reply= */ false);
        p = last_progress(&f.host);
        CHECK(f.host.n_pub == n + 2);
        CHECK_CONTAINS(p->payload, "\"step\":\"-1\"");
        CHECK_CONTAINS(p->payload, "\"desc\":\"invalid push: invalid JSON");

        /* Plain http without allow_http. */
        f.config.allow_http = false;
        CHECK(ota_set_config(f.ota, &f.config) == 0);
        push(&f, "2.0.0", "Md5", f.md5);
        p = last_progress(&f.host);
        CHECK(f.host.n_pub == n + 3);
        CHECK_CONTAINS(p->payload, "invalid push: the URL is not https:// (plain http is refused)");

        /* Nothing was fetched, nothing is kept. */
        CHECK(sd_event_run(f.event, 0) >= 0);
        CHECK_INTEQ(f.server.requests, 0);
        CHECK(!exists(f.dir, OTA_JOB_FILE));
        check_status(&f, "1.0.0", "idle", -1);
        fixture_teardown(&f);
}

/* Exit status 100: the target is recorded with this boot's id; a restart in the same boot keeps waiting,
 * a start in another boot with the old version running reports -4 once. */
TEST(reboot_pending)
{
        Fixture f;
        _cleanup_(freep) char *text = NULL, *want = NULL;
        sd_id128_t boot;

        fixture_setup(&f);
        fixture_start(&f);
        download_to_unit(&f);
        fake_finish_unit(&f.host, "done", 100);
        CHECK(find_pub(&f.host, 0, OTA_TOPIC_PROGRESS, "\"step\":\"100\"") < 0);
        check_status(&f, "1.0.0", "reboot-pending", 99);
        CHECK(sd_id128_get_boot(&boot) >= 0);
        CHECK(asprintf(&want, "\"bootId\":\"" SD_ID128_UUID_FORMAT_STR "\"", SD_ID128_FORMAT_VAL(boot)) > 0);
        CHECK(read_text(f.job_path, &text) >= 0);
        CHECK_CONTAINS(text, "\"phase\":\"reboot\"");
        CHECK_CONTAINS(text, want);
        free(text);
        text = NULL;

        /* The daemon restarts, same boot: still waiting, nothing reported. */
        f.ota = ota_free(f.ota);
        fake_host_done(&f.host);
        f.host.online = true;
        fixture_start(&f);
        check_status(&f, "1.0.0", "reboot-pending", 99);
        CHECK(last_progress(&f.host) == NULL);
        CHECK(exists(f.dir, OTA_JOB_FILE));

        /* Another boot, and the old version runs: -4, once. */
        f.ota = ota_free(f.ota);
        CHECK(read_text(f.job_path, &text) >= 0);
        {
                char *b = strstr(text, "\"bootId\":\"");
                CHECK(b);
                memcpy(b + strlen("\"bootId\":\""), "00000000-0000-0000-0000-000000000000", 36);
        }
        CHECK(write_file_atomic(f.job_path, text, 0600) == 0);
        fixture_start(&f);
        CHECK(last_progress(&f.host));
        CHECK_CONTAINS(last_progress(&f.host)->payload, "\"step\":\"-4\"");
        CHECK_CONTAINS(
                last_progress(&f.host)->payload, "after the reboot the running version is 1.0.0, not 2.0.0");
        CHECK(!exists(f.dir, OTA_JOB_FILE));
        check_status(&f, "1.0.0", "idle", -4);
        fixture_teardown(&f);
}

TEST(unit_failure)
{
        Fixture f;

        fixture_setup(&f);
        fixture_start(&f);
        download_to_unit(&f);
        fake_finish_unit(&f.host, "failed", 1);
        CHECK_CONTAINS(last_progress(&f.host)->payload, "\"step\":\"-4\"");
        CHECK_CONTAINS(last_progress(&f.host)->payload, "the installer exited with status 1");
        check_status(&f, "1.0.0", "idle", -4);
        CHECK(!exists(f.dir, OTA_JOB_FILE));
        fixture_teardown(&f);
}

/* The job file, moved here from the Alink codec: a record survives its round trip. */
TEST(ota_job_round_trip)
{
        AlinkOtaFirmware f = {.url = "https://h/x?a=1&b=%3D",
                                 .size = 1000,
                                 .version = "2.0 beta",
                                 .sign_method = DIGEST_SHA256,
                                 .sign = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                                 .module = "MCU"},
                         g;
        char *json = NULL, *phase = NULL, *boot = NULL, *error = NULL;
        uint64_t bytes = 0;

        CHECK(ota_job_file_build(&f, 600, "download", "b00t", &json) == 0);
        CHECK(ota_job_file_parse(json, strlen(json), &g, &bytes, &phase, &boot, &error) == 0);
        CHECK_STREQ(g.url, f.url);
        CHECK(g.size == 1000 && bytes == 600 && g.sign_method == DIGEST_SHA256);
        CHECK_STREQ(g.version, f.version);
        CHECK_STREQ(g.sign, f.sign);
        CHECK_STREQ(g.module, "MCU");
        CHECK_STREQ(phase, "download");
        CHECK_STREQ(boot, "b00t");
        /* Written only when set: job files of earlier versions read the same. */
        CHECK(!strstr(json, "isDiff") && !strstr(json, "extData"));
        CHECK(!g.is_diff && !g.extra);
        alink_ota_firmware_done(&g);
        free(json);
        free(phase);
        free(boot);

        /* A delta package and the push's extData survive a restart. */
        f.is_diff = true;
        f.extra = (char *) "{\"k\":[1,2]}";
        CHECK(ota_job_file_build(&f, 600, "download", NULL, &json) == 0);
        CHECK(ota_job_file_parse(json, strlen(json), &g, &bytes, &phase, &boot, &error) == 0);
        CHECK(g.is_diff);
        CHECK_STREQ(g.extra, "{\"k\":[1,2]}");
        alink_ota_firmware_done(&g);
        free(json);
        free(phase);
        free(boot);
        f.is_diff = false;
        f.extra = NULL;

        /* More bytes than the size is a corrupt job. */
        f.module = NULL;
        CHECK(ota_job_file_build(&f, 1001, "download", NULL, &json) == 0);
        CHECK(ota_job_file_parse(json, strlen(json), &g, &bytes, &phase, &boot, &error) == ALINK_E_INVALID);
        CHECK_CONTAINS(error, "bytes is larger than size");
        free(error);
        free(json);
}

__attribute__((constructor)) static void no_proxy(void)
{
        /* The download helper gets none of the environment; kept out of this process's anyway. */
        static const char *const names[] = {
                "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                (void) unsetenv(names[i]);
        log_set_max_level(LOG_WARNING);
}
