/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cgroup ids to paths, and pressure stall (PSI) totals.
 *
 * A BPF program sees a cgroup as its kernfs id, which is the inode number
 * of its directory in the hierarchy's mount. kt_cgnames finds the path by
 * walking that mount (a cgroup-v1 hierarchy carrying the controller, or
 * else the cgroup-v2 one) and caches it. Directory names are chosen by
 * whoever may create cgroups (delegated users, containers): the walk
 * follows no symlink, is bounded (KT_CGNAMES_MAX_DIRS directories, depth
 * KT_CGNAMES_MAX_DEPTH, paths of PATH_MAX), the cache holds
 * KT_CGNAMES_MAX entries (a walk remembers every cgroup it passes while
 * there is room), and a miss walks again at most once a second; the root
 * is a stat.
 */
#ifndef KT_CGNAME_H
#define KT_CGNAME_H

#include <stdbool.h>
#include <stdint.h>

#define KT_CGNAMES_MAX 1024
#define KT_CGNAMES_MAX_DIRS 65536
#define KT_CGNAMES_MAX_DEPTH 32

struct kt_cgnames;

/* For the hierarchy of controller (e.g. "memory"); 0 or -errno (-ENOENT: not mounted). */
int kt_cgnames_open(struct kt_cgnames **c, const char *controller);
/* The same for a hierarchy mounted at mnt (tests). */
int kt_cgnames_open_dir(struct kt_cgnames **c, const char *mnt, bool v2);
void kt_cgnames_free(struct kt_cgnames *c);
/* True when the hierarchy is cgroup v2 (it has pressure files). */
bool kt_cgnames_v2(const struct kt_cgnames *c);
/* The path of cgroup id below the mount ("/" for the root), or NULL when not found. */
const char *kt_cgnames_path(struct kt_cgnames *c, uint64_t id);

/* Cumulative stall time of a PSI file (/proc/pressure/X or a cgroup's X.pressure). */
struct kt_psi {
	uint64_t some_us;
	uint64_t full_us;
	bool has_full; /* cpu.pressure had no "full" line before 5.13 */
};
/* Reads path (a small file, no symlink followed); 0 or -errno. */
int kt_psi_read(const char *path, struct kt_psi *p);
/* The file name of cgroup id (e.g. "memory.pressure") in a v2 hierarchy; 0 or -errno. */
int kt_cgnames_psi(struct kt_cgnames *c, uint64_t id, const char *file, struct kt_psi *p);

#endif
