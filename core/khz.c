// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zlib.h>

#include "khz.h"
#include "util.h"

unsigned kt_kconfig_hz(const char *path)
{
	char line[256];
	unsigned hz = 0;
	gzFile f = gzopen(path, "rb"); /* reads a plain file as it is */

	if (!f)
		return 0;
	while (gzgets(f, line, sizeof(line))) {
		unsigned long v;
		char *end;

		if (strncmp(line, "CONFIG_HZ=", 10))
			continue;
		errno = 0;
		v = strtoul(line + 10, &end, 10);
		if (!errno && end != line + 10 && (*end == '\n' || !*end) && v > 0 && v <= 10000)
			hz = (unsigned)v;
		break;
	}
	gzclose(f);
	return hz;
}

unsigned kt_hz_snap(double rate)
{
	/* the values kernel/Kconfig.hz offers */
	static const unsigned hz[] = { 100, 250, 300, 1000 };

	for (size_t i = 0; i < sizeof(hz) / sizeof(hz[0]); i++)
		if (rate >= hz[i] * 0.9 && rate <= hz[i] * 1.1)
			return hz[i];
	return 0;
}

/* jiffies from /proc/timer_list (root only), with the monotonic time read; 0 or -errno */
static int timer_list_jiffies(unsigned long long *j, uint64_t *ns)
{
	char line[256];
	int err = -ENOENT;
	FILE *f = fopen("/proc/timer_list", "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "jiffies: ", 9)) {
			*ns = kt_now_mono();
			*j = strtoull(line + 9, NULL, 10);
			err = 0;
			break;
		}
	}
	fclose(f);
	return err;
}

unsigned kt_kernel_hz(const char **how)
{
	char path[320];
	unsigned long long j0, j1;
	uint64_t t0, t1;
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	unsigned hz;

	snprintf(path, sizeof(path), "/boot/config-%s", kt_kernel_release());
	if ((hz = kt_kconfig_hz(path))) {
		if (how)
			*how = "/boot/config";
		return hz;
	}
	if ((hz = kt_kconfig_hz("/proc/config.gz"))) {
		if (how)
			*how = "/proc/config.gz";
		return hz;
	}
	if (how)
		*how = "unknown";
	if (timer_list_jiffies(&j0, &t0))
		return 0;
	nanosleep(&ts, NULL);
	if (timer_list_jiffies(&j1, &t1) || t1 <= t0 || j1 < j0)
		return 0;
	hz = kt_hz_snap((double)(j1 - j0) * 1e9 / (double)(t1 - t0));
	if (hz && how)
		*how = "measured";
	return hz;
}
