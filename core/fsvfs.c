// SPDX-License-Identifier: GPL-2.0
/* The file-system commands' layers of hooks (see fsvfs.h). */
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "features.h"
#include "fsrec.h"
#include "fsvfs.h"
#include "kbtf.h"
#include "util.h"

/* entry and exit of one function; an optional pair may be missing (inlined, renamed) */
#define VFS_HOOKS_OPT(func, opt)                                                                   \
	{ #func, opt,                                                                              \
	  { { KT_FENTRY, #func, #func "_fentry" }, { KT_KPROBE, #func, #func "_kprobe" } },        \
	  "vfs" },                                                                                 \
	{                                                                                          \
		#func "_ret", opt,                                                                 \
		{ { KT_FEXIT, #func, #func "_fexit" }, { KT_KRETPROBE, #func, #func "_kretprobe" } }, \
		"vfs"                                                                              \
	}
#define VFS_HOOKS(func) VFS_HOOKS_OPT(func, false)

const struct kt_hook kt_fs_hooks[KT_FS_N_HOOKS] = {
	VFS_HOOKS(vfs_read),
	VFS_HOOKS(vfs_write),
	VFS_HOOKS(vfs_open),
	VFS_HOOKS(vfs_fsync_range),
	VFS_HOOKS(vfs_rename),
	VFS_HOOKS(vfs_unlink),
	VFS_HOOKS(vfs_mkdir),
	VFS_HOOKS(vfs_rmdir),
	VFS_HOOKS(vfs_create),
	VFS_HOOKS(vfs_mknod),
	VFS_HOOKS(notify_change),
	VFS_HOOKS(vfs_getattr),
	VFS_HOOKS_OPT(do_fsync, true),
	VFS_HOOKS_OPT(vfs_getattr_nosec, true),
	{ "sys_enter", false,
	  { { KT_TP_BTF, "sys_enter", "enter_btf" }, { KT_RAW_TP, "sys_enter", "enter_raw" } },
	  "syscall" },
	{ "sys_exit", false,
	  { { KT_TP_BTF, "sys_exit", "exit_btf" }, { KT_RAW_TP, "sys_exit", "exit_raw" } },
	  "syscall" },
};
_Static_assert(KT_VFS_NFNS == 14, "a VFS function without hooks in kt_fs_hooks");

/* A type with its modifiers and typedefs taken off (at most 16 of them). */
static const struct btf_type *bare(const struct kt_kbtf *btf, uint32_t id, uint32_t *out_id)
{
	const struct btf_type *t = kt_kbtf_type(btf, id);

	for (int i = 0; t && i < 16; i++) {
		if (!btf_is_mod(t) && !btf_is_typedef(t))
			break;
		id = t->type;
		t = kt_kbtf_type(btf, id);
	}
	if (out_id)
		*out_id = id;
	return t;
}

/* The name of what a parameter of type id points to ("dentry", "loff_t"), or "". */
static const char *pointee(const struct kt_kbtf *btf, uint32_t id)
{
	const struct btf_type *t = bare(btf, id, NULL), *p;
	const char *name;

	if (!t || !btf_is_ptr(t))
		return "";
	p = kt_kbtf_type(btf, t->type);
	/* const struct path *: the modifier first */
	while (p && btf_is_mod(p))
		p = kt_kbtf_type(btf, p->type);
	if (!p)
		return "";
	name = kt_kbtf_name(btf, p->name_off);
	return name ? name : "";
}

/* Index of the nth (0: first) parameter pointing to a struct/typedef named what, or -1. */
static int param(const struct kt_kbtf *btf, const struct btf_type *proto, const char *what, int nth)
{
	const struct btf_param *p = btf_params(proto);

	for (int i = 0; i < btf_vlen(proto); i++)
		if (!strcmp(pointee(btf, p[i].type), what) && nth-- == 0)
			return i;
	return -1;
}

static struct kt_vfs_layout layouts[KT_VFS_NFNS];
static const char *layout_why[KT_VFS_NFNS];
static bool layouts_done;

/* Finds one function's layout; NULL or why not. */
static const char *find_layout(const struct kt_kbtf *btf, int fn, struct kt_vfs_layout *l)
{
	const char *name = kt_fs_vfs_name((uint32_t)fn);
	const struct btf_type *f, *proto, *rt;
	int id = kt_kbtf_find(btf, name, BTF_KIND_FUNC), a = -1, a2 = -1;

	if (id < 0)
		return "function not in kernel BTF";
	f = kt_kbtf_type(btf, (uint32_t)id);
	proto = f ? kt_kbtf_type(btf, f->type) : NULL;
	if (!proto || !btf_is_func_proto(proto))
		return "no prototype in kernel BTF";
	l->nargs = (uint8_t)btf_vlen(proto);
	rt = bare(btf, proto->type, NULL);
	if (rt && btf_is_ptr(rt))
		l->flags |= KT_VFS_L_RET_PTR;
	switch (fn) {
	case KT_VFS_READ:
	case KT_VFS_WRITE:
		a = param(btf, proto, "file", 0);
		a2 = param(btf, proto, "loff_t", 0);
		break;
	case KT_VFS_FSYNC:
		a = param(btf, proto, "file", 0);
		break;
	case KT_VFS_OPEN:
		a = param(btf, proto, "path", 0);
		a2 = param(btf, proto, "file", 0);
		if (a2 < 0)
			return "no struct file * argument";
		break;
	case KT_VFS_GETATTR:
	case KT_VFS_GETATTR_NOSEC:
		a = param(btf, proto, "path", 0);
		break;
	case KT_VFS_DO_FSYNC:
		/* do_fsync(unsigned int fd, int datasync): the file is found from fd */
		if (btf_vlen(proto) < 1 ||
		    strcmp(kt_kbtf_name(btf, btf_params(proto)[0].name_off) ?: "", "fd"))
			return "its first argument is not the fd";
		a = 0;
		break;
	case KT_VFS_RENAME:
		a = param(btf, proto, "renamedata", 0);
		if (a >= 0) {
			l->flags |= KT_VFS_L_RENAMEDATA;
		} else {
			/* before 5.12: (old_dir, old_dentry, new_dir, new_dentry, ...) */
			a = param(btf, proto, "dentry", 0);
			a2 = param(btf, proto, "dentry", 1);
			if (a2 < 0)
				return "no struct renamedata * nor two struct dentry * arguments";
		}
		break;
	default:
		a = param(btf, proto, "dentry", 0);
		break;
	}
	if (a < 0)
		return "none of its arguments is the struct file *, path * or dentry * ktrace reads";
	/* kprobes read the first 5 arguments from registers; fexit's ctx holds at most 12 */
	if (a > 4 || a2 > 4 || l->nargs > 11)
		return "its arguments are not where ktrace reads them";
	l->arg = (int8_t)a;
	l->arg2 = (int8_t)a2;
	l->flags |= KT_VFS_L_OK;
	return NULL;
}

static void find_layouts(void)
{
	const struct kt_kbtf *btf;

	if (layouts_done)
		return;
	layouts_done = true;
	btf = kt_vmlinux_btf();
	for (int fn = 0; fn < KT_VFS_NFNS; fn++) {
		memset(&layouts[fn], 0, sizeof(layouts[fn]));
		layout_why[fn] = btf ? find_layout(btf, fn, &layouts[fn]) : "no kernel BTF";
		if (layout_why[fn])
			memset(&layouts[fn], 0, sizeof(layouts[fn]));
	}
}

const char *kt_fs_alt_unavailable(const struct kt_alt *alt)
{
	int fn;

	if (alt->type != KT_FENTRY && alt->type != KT_FEXIT && alt->type != KT_KPROBE &&
	    alt->type != KT_KRETPROBE)
		return NULL;
	fn = kt_fs_vfs_lookup(alt->target);
	if (fn < 0)
		return NULL;
	find_layouts();
	return layout_why[fn];
}

void kt_fs_layer_configure(struct kt_ctx *ctx, volatile struct kt_vfs_layout *cfg, const char *what)
{
	bool vfs = ctx->layer && !strcmp(ctx->layer, "vfs");
	static const char *const vfs_maps[] = { "fs_vstarts", "fs_vrenames" };
	struct bpf_map *m;

	find_layouts();
	for (int fn = 0; fn < KT_VFS_NFNS; fn++)
		cfg[fn] = layouts[fn];
	/* the tables of the layer that does not run take (almost) no memory */
	if (vfs) {
		m = bpf_object__find_map_by_name(ctx->obj, "fs_starts");
		if (m)
			bpf_map__set_max_entries(m, 1);
		kt_info("%s: measuring %s in the VFS (vfs_read, vfs_write, vfs_open, ...; every "
			"caller, kernel threads included)", ctx->cmd->name, what);
	} else {
		for (size_t i = 0; i < sizeof(vfs_maps) / sizeof(vfs_maps[0]); i++) {
			m = bpf_object__find_map_by_name(ctx->obj, vfs_maps[i]);
			if (m)
				bpf_map__set_max_entries(m, 1);
		}
		kt_info("%s: measuring %s at the system-call layer (raw_syscalls sys_enter/sys_exit), "
			"not in the VFS", ctx->cmd->name, what);
	}
}
