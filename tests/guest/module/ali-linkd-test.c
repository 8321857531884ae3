// SPDX-License-Identifier: GPL-2.0-only
/*
 * ali-linkd-test.ko: real kernel interfaces for ali-linkd's pwm and ledclass backends, in the test guest.
 *
 * Loaded by tests/guest/init after the gpio-sim chips are live. It registers
 *   - a PWM chip with 3 channels that keeps what is applied: the kernel's own sysfs interface (export,
 *     period, duty_cycle, enable) with its own checks (duty_cycle <= period once enabled);
 *   - a multicolor LED "rgb:test" whose channels are declared green, red, blue (so multi_index is not in
 *     our order), max_brightness 255;
 *   - the kernel's leds-gpio driver on lines 0, 1, 2 of the gpio-sim chip labelled "ali-linkd-leds", as
 *     LEDs red:sim, green:sim and blue:sim (max_brightness 1): the level of each line shows in gpio-sim.
 * Nothing here is part of ali-linkd; it only stands in for a board's hardware.
 */
#include <linux/gpio/machine.h>
#include <linux/led-class-multicolor.h>
#include <linux/leds.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/pwm.h>

#define LEDS_CHIP_LABEL "ali-linkd-leds"

static struct platform_device *test_pdev, *leds_pdev;

/* --- the PWM chip --- */

static int test_pwm_apply(struct pwm_chip *chip, struct pwm_device *pwm, const struct pwm_state *state)
{
        /* The core keeps pwm->state and shows it in sysfs; a chip that takes everything is all we need. */
        return 0;
}

static const struct pwm_ops test_pwm_ops = {
        .apply = test_pwm_apply,
};

/* --- the multicolor LED --- */

static struct mc_subled test_subleds[3] = {
        {.color_index = LED_COLOR_ID_GREEN, .channel = 0},
        {.color_index = LED_COLOR_ID_RED, .channel = 1},
        {.color_index = LED_COLOR_ID_BLUE, .channel = 2},
};

static int test_mc_set(struct led_classdev *cdev, enum led_brightness brightness)
{
        struct led_classdev_mc *mc = lcdev_to_mccdev(cdev);

        led_mc_calc_color_components(mc, brightness);
        pr_info("ali-linkd-test: %s: channel brightness %u %u %u\n", cdev->name,
                mc->subled_info[0].brightness, mc->subled_info[1].brightness, mc->subled_info[2].brightness);
        return 0;
}

static struct led_classdev_mc test_mc = {
        .led_cdev =
                {
                        .name = "rgb:test",
                        .max_brightness = 255,
                        .brightness_set_blocking = test_mc_set,
                },
        .num_colors = ARRAY_SIZE(test_subleds),
        .subled_info = test_subleds,
};

/* --- leds-gpio on gpio-sim --- */

static const struct gpio_led test_gpio_leds[] = {
        {.name = "red:sim", .gpio = -1},
        {.name = "green:sim", .gpio = -1},
        {.name = "blue:sim", .gpio = -1},
};

static const struct gpio_led_platform_data test_gpio_leds_pdata = {
        .num_leds = ARRAY_SIZE(test_gpio_leds),
        .leds = test_gpio_leds,
};

static struct gpiod_lookup_table test_gpio_leds_lookup = {
        .dev_id = "leds-gpio",
        .table =
                {
                        GPIO_LOOKUP_IDX(LEDS_CHIP_LABEL, 0, NULL, 0, GPIO_ACTIVE_HIGH),
                        GPIO_LOOKUP_IDX(LEDS_CHIP_LABEL, 1, NULL, 1, GPIO_ACTIVE_HIGH),
                        GPIO_LOOKUP_IDX(LEDS_CHIP_LABEL, 2, NULL, 2, GPIO_ACTIVE_HIGH),
                        {},
                },
};

static int __init test_init(void)
{
        struct pwm_chip *chip;
        int ret;

        test_pdev = platform_device_register_simple("ali-linkd-test", -1, NULL, 0);
        if (IS_ERR(test_pdev))
                return PTR_ERR(test_pdev);

        chip = devm_pwmchip_alloc(&test_pdev->dev, 3, 0);
        if (IS_ERR(chip)) {
                ret = PTR_ERR(chip);
                goto fail;
        }
        chip->ops = &test_pwm_ops;
        ret = devm_pwmchip_add(&test_pdev->dev, chip);
        if (ret)
                goto fail;

        ret = devm_led_classdev_multicolor_register(&test_pdev->dev, &test_mc);
        if (ret)
                goto fail;

        gpiod_add_lookup_table(&test_gpio_leds_lookup);
        leds_pdev = platform_device_register_data(
                NULL, "leds-gpio", -1, &test_gpio_leds_pdata, sizeof(test_gpio_leds_pdata));
        if (IS_ERR(leds_pdev)) {
                ret = PTR_ERR(leds_pdev);
                gpiod_remove_lookup_table(&test_gpio_leds_lookup);
                goto fail;
        }
        pr_info("ali-linkd-test: pwm chip %s (3 channels), LED rgb:test, leds-gpio on %s\n",
                dev_name(&chip->dev), LEDS_CHIP_LABEL);
        return 0;
fail:
        platform_device_unregister(test_pdev);
        return ret;
}

static void __exit test_exit(void)
{
        platform_device_unregister(leds_pdev);
        gpiod_remove_lookup_table(&test_gpio_leds_lookup);
        platform_device_unregister(test_pdev);
}

module_init(test_init);
module_exit(test_exit);
MODULE_DESCRIPTION("ali-linkd test hardware: a PWM chip, a multicolor LED and GPIO LEDs");
MODULE_LICENSE("GPL");
