// SPDX-License-Identifier: GPL-2.0
/* CO-RE against a subset of the kernel's BTF (see corebtf.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "corebtf.h"
#include "features.h"
#include "kbtf.h"
#include "util.h"

static int memfd = -1; /* -2: tried, not available */
static char path[64];
static struct bpf_object_open_opts opts;

const struct bpf_object_open_opts *kt_core_btf_opts(void)
{
	if (memfd == -1) {
		memfd = memfd_create("ktrace-core-btf", MFD_CLOEXEC);
		if (memfd >= 0) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
			/* libbpf opens the path: without /proc, let it use the kernel's BTF */
			if (access(path, R_OK)) {
				close(memfd);
				memfd = -2;
			}
		} else {
			memfd = -2;
		}
		opts.sz = sizeof(opts);
		opts.btf_custom_path = memfd >= 0 ? path : NULL;
	}
	return memfd >= 0 ? &opts : NULL;
}

static int write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p = (const char *)p + w;
		n -= (size_t)w;
	}
	return 0;
}

/* The whole kernel BTF into the memfd: what libbpf would have read itself. */
static int copy_vmlinux(void)
{
	char buf[65536];
	int fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0 && !err)
		err = write_all(memfd, buf, (size_t)n);
	if (n < 0 && !err)
		err = -errno;
	close(fd);
	return err;
}

/* Names of the object's named types, without CO-RE's ___flavor suffixes. */
static int local_names(const struct btf *local, char ***out, size_t *n)
{
	uint32_t cnt = btf__type_cnt(local);
	char **names = calloc(cnt ? cnt : 1, sizeof(*names));

	*n = 0;
	if (!names)
		return -ENOMEM;
	for (uint32_t id = 1; id < cnt; id++) {
		const struct btf_type *t = btf__type_by_id(local, id);
		const char *name = btf__name_by_offset(local, t->name_off), *flavor;

		if (!name || !*name || btf_is_func(t) || btf_is_var(t) || btf_is_datasec(t) ||
		    btf_is_func_proto(t) || btf_is_ptr(t))
			continue;
		flavor = strstr(name, "___");
		names[*n] = flavor ? strndup(name, (size_t)(flavor - name)) : strdup(name);
		if (!names[*n])
			break;
		(*n)++;
	}
	*out = names;
	return 0;
}

int kt_core_btf_prepare(struct bpf_object *obj)
{
	const struct kt_kbtf *kb;
	const struct btf *local;
	char **names = NULL;
	void *blob = NULL;
	size_t n = 0, len = 0;
	int err;

	if (memfd < 0)
		return 0;
	if (ftruncate(memfd, 0) || lseek(memfd, 0, SEEK_SET))
		return -errno;
	local = bpf_object__btf(obj);
	kb = kt_vmlinux_btf();
	err = local && kb ? local_names(local, &names, &n) : -ENOENT;
	if (!err)
		err = kt_kbtf_subset(kb, (const char **)names, n, &blob, &len);
	if (!err) {
		err = write_all(memfd, blob, len);
		kt_info("CO-RE: a BTF of %zu bytes for the %zu type names of the object", len, n);
	}
	if (err) {
		kt_info("CO-RE: no BTF subset (%s): the kernel's whole BTF", strerror(-err));
		if (ftruncate(memfd, 0) || lseek(memfd, 0, SEEK_SET))
			err = -errno;
		else
			err = copy_vmlinux();
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(blob);
	return err;
}
