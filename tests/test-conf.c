/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-conf.c: the configuration parser, every error path, with the log it writes captured. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture-log.h"
#include "conf.h"
#include "log.h"
#include "macro.h"
#include "test.h"

static char dir[] = "/tmp/test-conf.XXXXXX";

static char *path_in_dir(const char *name)
{
        char *p;
        CHECK(asprintf(&p, "%s/%s", dir, name) >= 0);
        return p;
}

static char *write_file(const char *name, const char *content, mode_t mode)
{
        char *p = path_in_dir(name);
        FILE *f = fopen(p, "we");

        CHECK(f);
        CHECK(fputs(content, f) >= 0);
        CHECK(fclose(f) == 0);
        CHECK(chmod(p, mode) == 0);
        return p;
}

typedef struct LoadArgs {
        const char *path;
        Conf **ret;
} LoadArgs;

static int do_load(void *userdata)
{
        LoadArgs *a = userdata;
        return conf_load(a->path, a->ret);
}

/* Run conf_load() with stderr captured; returns the result, *ret_log the log text. */
static int load(const char *path, Conf **ret, char **ret_log)
{
        LoadArgs a = {path, ret};

        *ret = NULL;
        return capture_log(do_load, &a, ret_log);
}

TEST(minimal_valid)
{
        _cleanup_(freep) char *p = write_file("a.conf",
                "[device]\nproduct_key = a1HETlEuvri\ndevice_name = RGB-LED-DEV-1\n"
                "device_secret = Ghuiyd9nmGowdZzjPqFtxhm3WUHEbIlI\n",
                0600);
        _cleanup_(freep) char *log = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK_STREQ(c->product_key, "a1HETlEuvri");
        CHECK_STREQ(c->device_secret, "Ghuiyd9nmGowdZzjPqFtxhm3WUHEbIlI");
        CHECK(c->secret_source == SECRET_INLINE);
        CHECK_STREQ(c->region, "cn-shanghai");
        CHECK_STREQ(c->host, "a1HETlEuvri.iot-as-mqtt.cn-shanghai.aliyuncs.com");
        CHECK_INTEQ(c->port, 443);
        CHECK_INTEQ(c->keepalive, 60);
        CHECK_STREQ(c->ca_path, "/etc/ssl/certs");
        CHECK(c->ca_file == NULL);
        CHECK_STREQ(c->led_model.switch_property, "LightSwitch");
        CHECK_STREQ(c->led_model.color_property, "RGBColor");
        CHECK(c->led_model.brightness_property == NULL);
        CHECK(strstr(log, "Ghuiyd9") == NULL);
        conf_free(c);
}

TEST(instance_endpoint_and_values)
{
        _cleanup_(freep) char *p = write_file("b.conf",
                "# comment\n; another\n[device]\n  product_key=pk1   \ndevice_name = d.n@x:1\n"
                "device_secret = s\nregion = ap-southeast-1\ninstance_id = iot-06z00abc\n"
                "[mqtt]\nkeepalive = 300\nuser_topics = data, get sub/x\nca_file = /dev/null\n"
                "clean_session = no\n[daemon]\nlog_level = debug\n[led]\nbrightness_property = Brightness\n",
                0600);
        _cleanup_(freep) char *log = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK_STREQ(c->product_key, "pk1");
        CHECK_STREQ(c->device_name, "d.n@x:1");
        CHECK_STREQ(c->host, "iot-06z00abc.mqtt.iothub.aliyuncs.com");
        CHECK_INTEQ(c->port, 1883);
        CHECK_INTEQ(c->keepalive, 300);
        CHECK(!c->clean_session);
        CHECK_INTEQ(c->log_level, LOG_DEBUG);
        CHECK_STREQ(c->user_topics[0], "data");
        CHECK_STREQ(c->user_topics[1], "get");
        CHECK_STREQ(c->user_topics[2], "sub/x");
        CHECK(c->user_topics[3] == NULL);
        CHECK_STREQ(c->ca_file, "/dev/null");
        CHECK(c->ca_path == NULL);
        CHECK_STREQ(c->led_model.brightness_property, "Brightness");
        conf_free(c);
}

TEST(ota_defaults_and_values)
{
        _cleanup_(freep) char *p = write_file("ota1.conf",
                "[device]\nproduct_key = pk\ndevice_name = dn\ndevice_secret = s\n[daemon]\nstate_directory "
                "= /var/x\n",
                0600);
        _cleanup_(freep) char *q = write_file("ota2.conf",
                "[device]\nproduct_key = pk\ndevice_name = dn\ndevice_secret = s\n"
                "[ota]\nversion_command = /usr/bin/fw-version --short\ninstaller = /usr/libexec/x/install\n"
                "installer_timeout = 1200\ndownload_dir = /data/ota\nca_file = /dev/null\nallow_http = yes\n"
                "max_size = 512M\nconnect_timeout = 10\nstall_timeout = 120\ninstaller_applies_diff = yes\n"
                "cloud_timeout = 5\n",
                0600);
        _cleanup_(freep) char *log = NULL, *log2 = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK_STREQ(c->ota.version_file, SYSCONFDIR "/ali-linkd/firmware-version");
        CHECK(c->ota.version_command == NULL && c->ota.installer == NULL && c->ota.ca_file == NULL);
        CHECK_STREQ(c->ota.download_dir, "/var/x");
        CHECK(!c->ota.allow_http);
        CHECK(c->ota.max_size == 1ULL << 30);
        CHECK_INTEQ(c->ota.installer_timeout, 600);
        CHECK_INTEQ(c->ota.connect_timeout, 30);
        CHECK_INTEQ(c->ota.stall_timeout, 60);
        CHECK(!c->ota.applies_diff);
        CHECK_INTEQ(c->ota.cloud_timeout, 60);
        conf_free(c);

        CHECK_INTEQ(load(q, &c, &log2), 0);
        CHECK(c->ota.version_file == NULL);
        CHECK_STREQ(c->ota.version_command, "/usr/bin/fw-version --short");
        CHECK_STREQ(c->ota.installer, "/usr/libexec/x/install");
        CHECK_INTEQ(c->ota.installer_timeout, 1200);
        CHECK_STREQ(c->ota.download_dir, "/data/ota");
        CHECK_STREQ(c->ota.ca_file, "/dev/null");
        CHECK(c->ota.allow_http);
        CHECK(c->ota.max_size == 512ULL << 20);
        CHECK_INTEQ(c->ota.connect_timeout, 10);
        CHECK_INTEQ(c->ota.stall_timeout, 120);
        CHECK(c->ota.applies_diff);
        CHECK_INTEQ(c->ota.cloud_timeout, 5);
        conf_free(c);
}

TEST(ota_problems)
{
        _cleanup_(freep) char *p = write_file("ota3.conf",
                "[device]\nproduct_key = pk\ndevice_name = dn\ndevice_secret = s\n" /* 1-4 */
                "[ota]\n"                                                           /* 5 */
                "version_command = fw-version\n"                                    /* 6: not absolute */
                "installer = install.sh\n"                                          /* 7 */
                "max_size = 12X\n"                                                  /* 8 */
                "max_size = 0\n"                                                    /* 9 */
                "installer_timeout = 0\n"                                           /* 10 */
                "connect_timeout = 4000\n",                                         /* 11 */
                0600);
        _cleanup_(freep) char *q = write_file("ota4.conf",
                "[device]\nproduct_key = pk\ndevice_name = dn\ndevice_secret = s\n"
                "[ota]\nversion_file = /etc/v\nversion_command = /bin/v\n",
                0600);
        _cleanup_(freep) char *log = NULL, *log2 = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK_CONTAINS(log, "ota3.conf:6: version_command must start with an absolute path");
        CHECK_CONTAINS(log, "ota3.conf:7: installer must be an absolute path");
        CHECK_CONTAINS(log, "ota3.conf:8: invalid max_size \"12X\": expected a size in bytes");
        CHECK_CONTAINS(log, "ota3.conf:9: invalid max_size \"0\"");
        CHECK_CONTAINS(log, "ota3.conf:10: invalid installer_timeout \"0\"");
        CHECK_CONTAINS(
                log, "ota3.conf:11: invalid connect_timeout \"4000\": expected a whole number in 1..3600");

        CHECK_INTEQ(load(q, &c, &log2), CONF_E_INVALID);
        CHECK_CONTAINS(log2, "[ota] set only one of version_file and version_command");
}

TEST(every_problem_with_its_line)
{
        _cleanup_(freep) char *p = write_file("c.conf",
                "[device]\n"                   /* 1 */
                "product_key = a/b\n"          /* 2: bad identifier */
                "device_name = ok\n"           /* 3 */
                "device_secret = s\n"          /* 4 */
                "colour = red\n"               /* 5: unknown key (warning) */
                "this line is broken\n"        /* 6: syntax */
                "[mqtt\n"                      /* 7: missing ] */
                "[mqtt]\n"                     /* 8 */
                "keepalive = 5\n"              /* 9: out of range */
                "port = 70000\n"               /* 10 */
                "port = x\n"                   /* 11 (and a duplicate warning) */
                "ca_file = relative.pem\n"     /* 12 */
                "clean_session = maybe\n"      /* 13 */
                "user_topics = /abs\n"         /* 14 */
                "[daemon]\nlog_level = loud\n" /* 15, 16 */
                "[nonsense]\nkey = 1\n"        /* 17, 18: unknown section (warning) */
                "[led]\nbackend = lasers\n"    /* 19, 20 */
                "switch_property = bad id\n",  /* 21 */
                0600);
        _cleanup_(freep) char *log = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK(c == NULL);
        CHECK_CONTAINS(log, "c.conf:2: invalid product_key \"a/b\"");
        CHECK_CONTAINS(log, "c.conf:5: unknown key colour in [device], ignoring");
        CHECK_CONTAINS(log, "c.conf:6: expected \"key = value\", got \"this line is broken\"");
        CHECK_CONTAINS(log, "c.conf:7: section header is missing ']'");
        CHECK_CONTAINS(log, "c.conf:9: invalid keepalive \"5\": expected a whole number in 30..1200");
        CHECK_CONTAINS(log, "c.conf:10: invalid port \"70000\"");
        CHECK_CONTAINS(log, "c.conf:11: port is set more than once");
        CHECK_CONTAINS(log, "c.conf:11: invalid port \"x\"");
        CHECK_CONTAINS(log, "c.conf:12: ca_file must be an absolute path");
        CHECK_CONTAINS(log, "c.conf:13: invalid clean_session \"maybe\"");
        CHECK_CONTAINS(log, "c.conf:14: invalid user_topics entry \"/abs\"");
        CHECK_CONTAINS(log, "c.conf:16: invalid log_level \"loud\"");
        CHECK_CONTAINS(log, "c.conf:18: unknown section [nonsense], ignoring key");
        CHECK_CONTAINS(log, "c.conf:20: invalid backend \"lasers\"");
        CHECK_CONTAINS(log, "c.conf:21: invalid switch_property \"bad id\"");
        CHECK_CONTAINS(log, "problems found");
}

TEST(unconfigured_names_what_is_missing)
{
        _cleanup_(freep) char *p = write_file("d.conf", "[device]\n# product_key =\n[mqtt]\n", 0644);
        _cleanup_(freep) char *log = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), CONF_E_UNCONFIGURED);
        CHECK(c != NULL);
        CHECK_CONTAINS(log, "[device] product_key is not set");
        CHECK_CONTAINS(log, "[device] device_name is not set");
        CHECK_CONTAINS(log, "the device secret is not set");
        conf_free(c);
}

TEST(missing_file)
{
        _cleanup_(freep) char *p = path_in_dir("does-not-exist.conf");
        _cleanup_(freep) char *log = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK_CONTAINS(log, "does-not-exist.conf: cannot open: No such file or directory");
}

TEST(secret_file_and_modes)
{
        _cleanup_(freep) char *secret = write_file("secret", "s3cr3t-from-file\n", 0644);
        _cleanup_(freep) char *text = NULL, *p = NULL, *log = NULL;
        Conf *c;

        CHECK(asprintf(&text, "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret_file=%s\n", secret) >
                0);
        p = write_file("e.conf", text, 0600);
        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK_STREQ(c->device_secret, "s3cr3t-from-file");
        CHECK(c->secret_source == SECRET_FILE);
        CHECK_CONTAINS(log, "holds the device secret but is readable by everyone");
        CHECK(strstr(log, "s3cr3t") == NULL);
        conf_free(c);
        free(log);

        CHECK(chmod(secret, 0600) == 0);
        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK(strstr(log, "readable by") == NULL);
        conf_free(c);
}

TEST(secret_errors)
{
        _cleanup_(freep) char *empty = write_file("empty-secret", "\n", 0600);
        _cleanup_(freep) char *t1 = NULL, *t2 = NULL, *p1 = NULL, *p2 = NULL, *log1 = NULL, *log2 = NULL;
        Conf *c;

        CHECK(asprintf(&t1, "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret_file=%s\n", empty) > 0);
        p1 = write_file("f.conf", t1, 0600);
        CHECK_INTEQ(load(p1, &c, &log1), CONF_E_INVALID);
        CHECK_CONTAINS(log1, "f.conf:4: cannot read device_secret_file");
        CHECK_CONTAINS(log1, "it is empty");

        CHECK(asprintf(&t2,
                      "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=x\ndevice_secret_file=%s\n",
                      empty) > 0);
        p2 = write_file("g.conf", t2, 0600);
        CHECK_INTEQ(load(p2, &c, &log2), CONF_E_INVALID);
        CHECK_CONTAINS(log2, "g.conf:5: set only one of device_secret and device_secret_file");
}

TEST(credential_wins)
{
        _cleanup_(freep) char *creds = path_in_dir("creds"), *p = NULL, *log = NULL;
        _cleanup_(freep) char *cred = NULL;
        Conf *c;

        CHECK(mkdir(creds, 0700) == 0);
        CHECK(asprintf(&cred, "%s/device-secret", creds) > 0);
        {
                FILE *f = fopen(cred, "we");
                CHECK(f);
                fputs("from-credential", f);
                fclose(f);
                chmod(cred, 0400);
        }
        p = write_file("h.conf", "[device]\nproduct_key=pk\ndevice_name=dn\n", 0644);
        CHECK(setenv("CREDENTIALS_DIRECTORY", creds, 1) == 0);
        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK(unsetenv("CREDENTIALS_DIRECTORY") == 0);
        CHECK_STREQ(c->device_secret, "from-credential");
        CHECK(c->secret_source == SECRET_CREDENTIAL);
        conf_free(c);
}

TEST(dropins_override)
{
        _cleanup_(freep) char *p = write_file("i.conf",
                "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n"
                "[mqtt]\nkeepalive=100\n",
                0600);
        _cleanup_(freep) char *d = path_in_dir("i.conf.d"), *a = NULL, *b = NULL, *log = NULL;
        Conf *c;

        CHECK(mkdir(d, 0755) == 0);
        a = write_file("i.conf.d/10-a.conf", "[mqtt]\nkeepalive=200\n", 0644);
        b = write_file("i.conf.d/20-b.conf", "[mqtt]\nkeepalive=300\nport=8883\n", 0644);
        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK_INTEQ(c->keepalive, 300);
        CHECK_INTEQ(c->port, 8883);
        conf_free(c);
}

TEST(long_line)
{
        _cleanup_(freep) char *text = malloc(5000), *p = NULL, *log = NULL;
        Conf *c;

        CHECK(text);
        char *a = calloc(1, 3001);
        CHECK(a);
        memset(a, 'a', 3000);
        snprintf(text, 5000, "[device]\nproduct_key=%s\ndevice_name=dn\n", a);
        free(a);
        p = write_file("j.conf", text, 0600);
        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK_CONTAINS(log, "j.conf:2: line is longer than");
}

TEST(bom_special_files_and_unreadable_ca)
{
        _cleanup_(freep) char *p = write_file("bom.conf",
                "\xef\xbb\xbf[device]\nproduct_key=pk\ndevice_name=dn\n"
                "device_secret=s\n",
                0600);
        _cleanup_(freep) char *d = path_in_dir("bom.conf.d"), *z = NULL, *q = NULL, *ca = NULL, *log = NULL;
        Conf *c;

        /* A byte order mark does not make the first section header invalid. */
        CHECK_INTEQ(load(p, &c, &log), 0);
        CHECK_STREQ(c->product_key, "pk");
        conf_free(c);
        log = mfree(log);

        /* A drop-in that is not a regular file is refused, not read for ever. */
        CHECK(mkdir(d, 0755) == 0);
        z = path_in_dir("bom.conf.d/50-zero.conf");
        CHECK(symlink("/dev/zero", z) == 0);
        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK_CONTAINS(log, "50-zero.conf: not a regular file");
        CHECK(unlink(z) == 0);
        log = mfree(log);

        /* A CA file that cannot be read is a configuration error with the reason. */
        ca = path_in_dir("no-such-ca.pem");
        CHECK(asprintf(&q, "[mqtt]\nca_file=%s\n", ca) > 0);
        free(write_file("bom.conf.d/60-ca.conf", q, 0644));
        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK_CONTAINS(log, "ca_file");
        CHECK_CONTAINS(log, "cannot be read: No such file or directory");
}

TEST(connection_changed)
{
        _cleanup_(freep) char *p1 =
                write_file("k.conf", "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n", 0600);
        _cleanup_(freep) char *p2 = write_file("l.conf",
                "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n[daemon]\nlog_level=debug\n",
                0600);
        _cleanup_(freep) char *p3 =
                write_file("m.conf", "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=t\n", 0600);
        _cleanup_(freep) char *l1 = NULL, *l2 = NULL, *l3 = NULL;
        Conf *a, *b, *c;

        CHECK_INTEQ(load(p1, &a, &l1), 0);
        CHECK_INTEQ(load(p2, &b, &l2), 0);
        CHECK_INTEQ(load(p3, &c, &l3), 0);
        CHECK(!conf_connection_changed(a, b));
        CHECK(conf_connection_changed(a, c));
        conf_free(a);
        conf_free(b);
        conf_free(c);
}

__attribute__((constructor)) static void setup(void)
{
        CHECK(mkdtemp(dir));
        unsetenv("CREDENTIALS_DIRECTORY");
        unsetenv("STATE_DIRECTORY");
        log_set_max_level(LOG_DEBUG);
}

__attribute__((destructor)) static void teardown(void)
{
        char *cmd;
        if (asprintf(&cmd, "rm -rf '%s'", dir) > 0) {
                if (system(cmd) != 0)
                        fprintf(stderr, "could not remove %s\n", dir);
                free(cmd);
        }
}

TEST(led_defaults_and_keys)
{
        _cleanup_(freep) char *p1 =
                write_file("l1.conf", "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n", 0600);
        _cleanup_(freep) char *p2 = write_file("l2.conf",
                "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n"
                "[led]\nbackend = gpio\nchip = pinctrl-bcm2711\nlines = LED_R, 5,LED_B\nactive_low = yes\n"
                "threshold = 1\nchannels = 3,1,2\nperiod_ns = 4294967295\ngamma = 1\non_exit = off\n"
                "leds = red:status,green:status,blue:status\nsysfs_root = /tmp/sys\n",
                0600);
        _cleanup_(freep) char *log = NULL;
        Conf *c;

        CHECK_INTEQ(load(p1, &c, &log), 0);
        CHECK_INTEQ(c->led.backend, LED_BACKEND_NONE);
        CHECK_INTEQ(c->led.on_exit, LED_ON_EXIT_KEEP);
        CHECK(c->led.chip == NULL); /* the backend's default: gpiochip0 or pwmchip0 */
        CHECK_STREQ(c->led.lines[0], "17");
        CHECK_STREQ(c->led.lines[2], "22");
        CHECK(!c->led.active_low);
        CHECK_INTEQ(c->led.threshold, 128);
        CHECK_INTEQ(c->led.channels[2], 2);
        CHECK_INTEQ(c->led.period_ns, 1000000);
        CHECK(c->led.gamma == 2.2);
        CHECK(c->led.leds == NULL);
        CHECK_STREQ(c->led.sysfs_root, "/sys");
        conf_free(c);
        free(log);

        CHECK_INTEQ(load(p2, &c, &log), 0);
        CHECK_INTEQ(c->led.backend, LED_BACKEND_GPIO);
        CHECK_INTEQ(c->led.on_exit, LED_ON_EXIT_OFF);
        CHECK_STREQ(c->led.chip, "pinctrl-bcm2711");
        CHECK_STREQ(c->led.lines[0], "LED_R");
        CHECK_STREQ(c->led.lines[1], "5");
        CHECK_STREQ(c->led.lines[2], "LED_B");
        CHECK(c->led.active_low);
        CHECK_INTEQ(c->led.threshold, 1);
        CHECK_INTEQ(c->led.channels[0], 3);
        CHECK_INTEQ(c->led.period_ns, UINT32_MAX);
        CHECK(c->led.gamma == 1.0);
        CHECK_STREQ(c->led.leds[1], "green:status");
        CHECK_STREQ(c->led.sysfs_root, "/tmp/sys");
        conf_free(c);
}

TEST(led_problems_with_their_lines)
{
        _cleanup_(freep) char *p = write_file("l3.conf",
                "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n" /* 1-4 */
                "[led]\n"                                                     /* 5 */
                "lines = 17,27\n"                                             /* 6 */
                "threshold = 0\n"                                             /* 7 */
                "channels = 0,1,1\n"                                          /* 8 */
                "period_ns = 0\n"                                             /* 9 */
                "gamma = 9\n"                                                 /* 10 */
                "on_exit = blink\n"                                           /* 11 */
                "leds = a,b\n"                                                /* 12 */
                "leds = ../x\n"                                               /* 13 */
                "chip = two words\n"                                          /* 14 */
                "sysfs_root = sys\n"                                          /* 15 */
                "backend = ledclass\n",                                       /* 16 */
                0600);
        _cleanup_(freep) char *p2 = write_file("l4.conf",
                "[device]\nproduct_key=pk\ndevice_name=dn\ndevice_secret=s\n[led]\nbackend = pwm\nchip = "
                "../gpio\n",
                0600);
        _cleanup_(freep) char *log = NULL, *log2 = NULL;
        Conf *c;

        CHECK_INTEQ(load(p, &c, &log), CONF_E_INVALID);
        CHECK_CONTAINS(
                log, "l3.conf:6: invalid lines \"17,27\": expected three lines for red, green and blue");
        CHECK_CONTAINS(log, "l3.conf:7: invalid threshold \"0\": expected a whole number in 1..255");
        CHECK_CONTAINS(
                log, "l3.conf:8: invalid channels \"0,1,1\": expected three different channel numbers");
        CHECK_CONTAINS(log, "l3.conf:9: invalid period_ns \"0\": expected a whole number in 1..4294967295");
        CHECK_CONTAINS(log, "l3.conf:10: invalid gamma \"9\": expected a number from 0.1 to 5");
        CHECK_CONTAINS(log, "l3.conf:11: invalid on_exit \"blink\": expected keep or off");
        CHECK_CONTAINS(log, "l3.conf:12: invalid leds \"a,b\": expected one multicolor LED, or three LEDs");
        CHECK_CONTAINS(log, "l3.conf:13: invalid leds entry \"../x\"");
        CHECK_CONTAINS(log, "l3.conf:14: invalid chip \"two words\"");
        CHECK_CONTAINS(log, "l3.conf:15: sysfs_root must be an absolute path");
        /* Checked once the file is read: ledclass without (valid) leds. */
        CHECK_CONTAINS(log, "l3.conf: [led] backend = ledclass needs leds = NAME");

        CHECK_INTEQ(load(p2, &c, &log2), CONF_E_INVALID);
        CHECK_CONTAINS(log2, "l4.conf: [led] chip = ../gpio: a PWM chip is named as in /sys/class/pwm");
}
