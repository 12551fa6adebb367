// SPDX-License-Identifier: GPL-2.0
/* Process limits (see rlimits.h). */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include <bpf/libbpf.h>

#include "rlimits.h"
#include "util.h"

unsigned int kt_nofile_needed(void)
{
	int ncpu = libbpf_num_possible_cpus();

	/* maps, programs, links, BTF and stdio: under 64 for every command; perf events per CPU */
	return 64 + 2 * (unsigned int)(ncpu > 0 ? ncpu : 1);
}

int kt_nofile_ensure(void)
{
	unsigned int need = kt_nofile_needed();
	struct rlimit r;

	if (getrlimit(RLIMIT_NOFILE, &r))
		return 0; /* cannot tell: let loading say what fails */
	if (r.rlim_cur == RLIM_INFINITY || r.rlim_cur >= need)
		return 0;
	if (r.rlim_max == RLIM_INFINITY || r.rlim_max >= need) {
		r.rlim_cur = r.rlim_max;
		if (!setrlimit(RLIMIT_NOFILE, &r))
			return 0;
	}
	kt_err("the open file limit (ulimit -n) is %llu and cannot be raised to the %u file "
	       "descriptors ktrace needs for its BPF maps, programs and perf events (hard limit "
	       "%llu): run it with ulimit -n 1024 or more",
	       (unsigned long long)r.rlim_cur, need,
	       r.rlim_max == RLIM_INFINITY ? 0ULL : (unsigned long long)r.rlim_max);
	return -EMFILE;
}
