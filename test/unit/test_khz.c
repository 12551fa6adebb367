// SPDX-License-Identifier: GPL-2.0
/* core/khz.c: CONFIG_HZ from plain and gzip'd configs, and snapping a measured rate. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zlib.h>

#include "khz.h"
#include "kt_test.h"

static const char cfg[] = "# CONFIG_HZ_100 is not set\n"
			  "CONFIG_HZ_250=y\n"
			  "CONFIG_HZ_PERIODIC=n\n"
			  "CONFIG_HZ=250\n"
			  "CONFIG_SCHED_HRTICK=y\n";

static void configs(void)
{
	char dir[] = "/tmp/kt-khz.XXXXXX";
	char plain[64], gz[64], bad[64], none[64];
	FILE *f;
	gzFile g;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(plain, sizeof(plain), "%s/config", dir);
	snprintf(gz, sizeof(gz), "%s/config.gz", dir);
	snprintf(bad, sizeof(bad), "%s/bad", dir);
	snprintf(none, sizeof(none), "%s/none", dir);
	f = fopen(plain, "w");
	CHECK(f && fputs(cfg, f) >= 0 && fclose(f) == 0);
	g = gzopen(gz, "wb");
	CHECK(g && gzputs(g, "CONFIG_HZ_1000=y\nCONFIG_HZ=1000\n") > 0 && gzclose(g) == Z_OK);
	f = fopen(bad, "w");
	CHECK(f && fputs("CONFIG_HZ=250x\nCONFIG_HZ=100\n", f) >= 0 && fclose(f) == 0);
	CHECK(kt_kconfig_hz(plain) == 250, "plain config: %u", kt_kconfig_hz(plain));
	CHECK(kt_kconfig_hz(gz) == 1000, "gzip'd config: %u", kt_kconfig_hz(gz));
	/* the first CONFIG_HZ= line decides; a malformed one gives nothing */
	CHECK(kt_kconfig_hz(bad) == 0);
	CHECK(kt_kconfig_hz(none) == 0);
	unlink(plain);
	unlink(gz);
	unlink(bad);
	rmdir(dir);
}

static void snap(void)
{
	CHECK(kt_hz_snap(250.0) == 250);
	CHECK(kt_hz_snap(240.0) == 250 && kt_hz_snap(260.0) == 250);
	CHECK(kt_hz_snap(90.0) == 100 && kt_hz_snap(1010.0) == 1000 && kt_hz_snap(290.0) == 300);
	CHECK(kt_hz_snap(500.0) == 0 && kt_hz_snap(0.0) == 0);
}

int main(void)
{
	configs();
	snap();
	return kt_test_done("test_khz");
}
