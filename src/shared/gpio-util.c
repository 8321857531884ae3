/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gpio-util.c: see gpio-util.h. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpio-util.h"
#include "macro.h"
#include "string-util.h"

static void closedirp(DIR **d)
{
        if (*d)
                (void) closedir(*d);
}

int gpio_chip_find(const char *name, char **ret_path)
{
        _cleanup_(closedirp) DIR *d = NULL;
        _cleanup_(freep) char *path = NULL;
        struct dirent *de;
        bool denied = false;

        if (name[0] == '/') {
                path = strdup(name);
                if (!path)
                        return -ENOMEM;
                *ret_path = TAKE_PTR(path);
                return 0;
        }
        if (asprintf(&path, "/dev/%s", name) < 0) {
                path = NULL;
                return -ENOMEM;
        }
        if (!strchr(name, '/') && gpiod_is_gpiochip_device(path)) {
                *ret_path = TAKE_PTR(path);
                return 0;
        }

        /* Not a device name: look for a chip with that label. */
        d = opendir("/dev");
        if (!d)
                return -errno;
        while ((de = readdir(d))) {
                _cleanup_(gpiod_chip_closep) struct gpiod_chip *chip = NULL;
                _cleanup_(gpiod_chip_info_freep) struct gpiod_chip_info *info = NULL;

                if (strncmp(de->d_name, "gpiochip", 8) != 0)
                        continue;
                free(path);
                if (asprintf(&path, "/dev/%s", de->d_name) < 0) {
                        path = NULL;
                        return -ENOMEM;
                }
                chip = gpiod_chip_open(path);
                if (!chip) {
                        if (errno == EACCES || errno == EPERM)
                                denied = true;
                        continue;
                }
                info = gpiod_chip_get_info(chip);
                if (info && streq(gpiod_chip_info_get_label(info), name)) {
                        *ret_path = TAKE_PTR(path);
                        return 0;
                }
        }
        return denied ? -EACCES : -ENOENT;
}

int gpio_line_resolve(struct gpiod_chip *chip, size_t num_lines, const char *line, unsigned *ret_offset)
{
        uint64_t offset;
        int o;

        if (safe_atou64_range(line, 0, UINT32_MAX, &offset) >= 0) {
                if (offset >= num_lines)
                        return -ERANGE;
                *ret_offset = (unsigned) offset;
                return 0;
        }
        o = gpiod_chip_get_line_offset_from_name(chip, line);
        if (o < 0)
                return errno > 0 ? -errno : -EIO;
        *ret_offset = (unsigned) o;
        return 0;
}
