/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's HZ (jiffies per second), for commands that turn jiffies into
 * time. From the kernel's configuration (/boot/config-RELEASE, then
 * /proc/config.gz) or, when neither is there (Debian kernels have no
 * /proc/config.gz, a container no /boot), by watching jiffies advance in
 * /proc/timer_list for 100 ms.
 */
#ifndef KT_KHZ_H
#define KT_KHZ_H

/* HZ, or 0 when it cannot be told; *how (may be NULL) says where it came from. */
unsigned kt_kernel_hz(const char **how);

/* CONFIG_HZ in a kernel config file (plain or gzip), or 0. */
unsigned kt_kconfig_hz(const char *path);

/* The HZ a measured rate of jiffies per second stands for (within 10%), or 0. */
unsigned kt_hz_snap(double rate);

#endif
