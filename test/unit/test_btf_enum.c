// SPDX-License-Identifier: GPL-2.0
/*
 * kt_btf_enum_names() against the running kernel's BTF (readable without
 * privileges): enum oom_constraint has kept its four values since it was
 * added, so their names are known.
 */
#include <errno.h>
#include <unistd.h>

#include "btf_enum.h"
#include "kt_test.h"

int main(void)
{
	char *names[8] = {}, *few[2] = {};
	int n;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		printf("test_btf_enum: no kernel BTF, nothing to check\n");
		return 0;
	}
	n = kt_btf_enum_names("oom_constraint", "CONSTRAINT_", names, 8);
	CHECK(n == 4, "got %d names", n);
	CHECK(names[0] && !strcmp(names[0], "NONE"), "names[0] = %s", names[0]);
	CHECK(names[3] && !strcmp(names[3], "MEMCG"), "names[3] = %s", names[3]);
	CHECK(!names[4], "no name past the last value");

	/* values beyond the array are left out, not written past it */
	n = kt_btf_enum_names("oom_constraint", NULL, few, 2);
	CHECK(n == 2, "got %d names", n);
	CHECK(few[1] && !strcmp(few[1], "CONSTRAINT_CPUSET"), "no prefix to drop: %s", few[1]);

	n = kt_btf_enum_names("no_such_enum_in_any_kernel", NULL, names, 8);
	CHECK(n == -ENOENT, "a missing enum gives -ENOENT, got %d", n);

	for (int i = 0; i < 8; i++)
		free(names[i]);
	for (int i = 0; i < 2; i++)
		free(few[i]);
	return kt_test_done("test_btf_enum");
}
