// SPDX-License-Identifier: GPL-2.0
/*
 * The light BTF reader (core/kbtf.c): a hand-made BTF blob, corrupt ones
 * (which must be refused, never read past), and the running kernel's BTF
 * checked against libbpf's own parse of it (same type count, same ids, same
 * names, same tracepoint argument counts).
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include <bpf/btf.h>

#include "features.h"
#include "kbtf.h"
#include "kt_test.h"

/* A small BTF: 1 int, 2 ptr->1, 3 func_proto(2 params), 4 ptr->3, 5 typedef "btf_trace_x" -> 4, 6 enum */
static const char strs[] = "\0int\0btf_trace_x\0e\0A\0B\0";
enum { S_INT = 1, S_TP = 5, S_E = 17, S_A = 19, S_B = 21 };

struct blob {
	struct btf_header h;
	uint32_t types[64];
	char strs[sizeof(strs)];
};

static size_t make(struct blob *b)
{
	uint32_t *t = b->types;
	size_t n = 0;

	memset(b, 0, sizeof(*b));
	/* int: name, info, size, then the int encoding */
	t[n++] = S_INT; t[n++] = BTF_KIND_INT << 24; t[n++] = 4; t[n++] = 32;
	t[n++] = 0; t[n++] = BTF_KIND_PTR << 24; t[n++] = 1;
	/* func_proto returning int with 2 params (int, int*) */
	t[n++] = 0; t[n++] = BTF_KIND_FUNC_PROTO << 24 | 2; t[n++] = 1;
	t[n++] = 0; t[n++] = 1; t[n++] = 0; t[n++] = 2;
	t[n++] = 0; t[n++] = BTF_KIND_PTR << 24; t[n++] = 3;
	t[n++] = S_TP; t[n++] = BTF_KIND_TYPEDEF << 24; t[n++] = 4;
	t[n++] = S_E; t[n++] = BTF_KIND_ENUM << 24 | 2; t[n++] = 4;
	t[n++] = S_A; t[n++] = 0; t[n++] = S_B; t[n++] = 1;
	b->h.magic = BTF_MAGIC;
	b->h.version = BTF_VERSION;
	b->h.hdr_len = sizeof(b->h);
	b->h.type_off = 0;
	b->h.type_len = (uint32_t)(n * 4);
	b->h.str_off = (uint32_t)sizeof(b->types);
	b->h.str_len = sizeof(strs);
	memcpy(b->strs, strs, sizeof(strs));
	return n;
}

static void synthetic(void)
{
	static struct blob b;
	struct kt_kbtf *kb;
	const struct btf_type *t;
	int id;

	make(&b);
	CHECK(kt_kbtf_from_mem(&b, sizeof(b), &kb) == 0, "a valid blob parses");
	if (!kb)
		return;
	CHECK(kt_kbtf_ntypes(kb) == 6, "6 types, got %u", kt_kbtf_ntypes(kb));
	id = kt_kbtf_find(kb, "btf_trace_x", BTF_KIND_TYPEDEF);
	CHECK(id == 5, "typedef id %d", id);
	CHECK(kt_kbtf_find(kb, "btf_trace_x", BTF_KIND_STRUCT) == -ENOENT, "kind is matched");
	CHECK(kt_kbtf_find(kb, "trace_x", BTF_KIND_TYPEDEF) == -ENOENT, "a suffix is not a name");
	t = kt_kbtf_type(kb, 5);
	t = kt_kbtf_type(kb, t->type);
	CHECK(t && btf_is_ptr(t), "typedef -> ptr");
	t = kt_kbtf_type(kb, t->type);
	CHECK(t && btf_is_func_proto(t) && btf_vlen(t) == 2, "ptr -> func_proto(2)");
	t = kt_kbtf_type(kb, (uint32_t)kt_kbtf_find(kb, "e", BTF_KIND_ENUM));
	CHECK(t && btf_vlen(t) == 2 && !strcmp(kt_kbtf_name(kb, btf_enum(t)[1].name_off), "B"),
	      "enum names");
	CHECK(kt_kbtf_type(kb, 0) == NULL && kt_kbtf_type(kb, 7) == NULL, "ids out of range");
	CHECK(kt_kbtf_name(kb, 1000) == NULL, "name offset out of range");
	kt_kbtf_free(kb);
}

static void corrupt(void)
{
	static struct blob b;
	struct kt_kbtf *kb;
	size_t n;

	make(&b);
	b.h.magic = 0x9feb; /* the other byte order */
	CHECK(kt_kbtf_from_mem(&b, sizeof(b), &kb) == -EINVAL && !kb, "bad magic");

	make(&b);
	CHECK(kt_kbtf_from_mem(&b, sizeof(b.h) + 8, &kb) == -EINVAL, "sections past the end");

	make(&b);
	b.types[1] = 31u << 24; /* a kind this reader does not know */
	CHECK(kt_kbtf_from_mem(&b, sizeof(b), &kb) == -EINVAL, "unknown kind");

	n = make(&b);
	b.types[n - 6] = BTF_KIND_ENUM << 24 | 1000; /* the enum's vlen runs past the section */
	CHECK(kt_kbtf_from_mem(&b, sizeof(b), &kb) == -EINVAL, "vlen past the type section");

	make(&b);
	b.strs[sizeof(strs) - 1] = 'x'; /* strings not terminated */
	CHECK(kt_kbtf_from_mem(&b, sizeof(b), &kb) == -EINVAL, "unterminated strings");

	make(&b);
	b.h.type_len -= 2; /* a type cut in half */
	CHECK(kt_kbtf_from_mem(&b, sizeof(b), &kb) == -EINVAL, "a partial type");

	CHECK(kt_kbtf_open("/nonexistent/vmlinux", &kb) == -ENOENT && !kb, "missing file");
}

/*
 * A subset for CO-RE: libbpf accepts it, the named structs are there with
 * every member at the kernel's offset, pointers point to void, and what the
 * structs embed (sched_entity in task_struct) came along.
 */
static void subset(const struct kt_kbtf *kb, const struct btf *lb)
{
	const char *names[] = { "task_struct", "mm_struct", "u32", "no_such_type_anywhere" };
	const struct btf_type *a, *b;
	struct btf *sb;
	void *blob;
	size_t len;
	int ia, ib, se = -1;

	CHECK(kt_kbtf_subset(kb, names, 4, &blob, &len) == 0, "subset made");
	if (!blob)
		return;
	sb = btf__new(blob, len);
	CHECK(sb != NULL, "libbpf parses the subset (%zu bytes)", len);
	if (!sb)
		goto out;
	CHECK(btf__type_cnt(sb) < btf__type_cnt(lb) / 10, "subset is small: %u of %u types",
	      btf__type_cnt(sb), btf__type_cnt(lb));
	ia = btf__find_by_name_kind(sb, "task_struct", BTF_KIND_STRUCT);
	ib = btf__find_by_name_kind(lb, "task_struct", BTF_KIND_STRUCT);
	CHECK(ia > 0 && ib > 0, "task_struct in both");
	if (ia <= 0 || ib <= 0)
		goto out;
	a = btf__type_by_id(sb, ia);
	b = btf__type_by_id(lb, ib);
	CHECK(btf_vlen(a) == btf_vlen(b) && a->size == b->size, "same size and member count");
	for (int i = 0; i < btf_vlen(a) && i < btf_vlen(b); i++) {
		const struct btf_member *ma = btf_members(a) + i, *mb = btf_members(b) + i;
		const struct btf_type *ta = btf__type_by_id(sb, ma->type);
		const struct btf_type *tb = btf__type_by_id(lb, mb->type);
		const char *na = btf__name_by_offset(sb, ma->name_off);

		CHECK(ma->offset == mb->offset && !strcmp(na, btf__name_by_offset(lb, mb->name_off)) &&
			      btf_kind(ta) == btf_kind(tb),
		      "task_struct member %d (%s)", i, na);
		if (btf_is_ptr(ta))
			CHECK(ta->type == 0, "pointer member %s points to void", na);
		if (!strcmp(na, "se"))
			se = (int)ma->type;
	}
	CHECK(se > 0 && btf_is_struct(btf__type_by_id(sb, se)) &&
		      !strcmp(btf__name_by_offset(sb, btf__type_by_id(sb, se)->name_off), "sched_entity"),
	      "embedded struct sched_entity came along");
	CHECK(btf__find_by_name_kind(sb, "mm_struct", BTF_KIND_STRUCT) > 0, "mm_struct");
	CHECK(btf__find_by_name_kind(sb, "u32", BTF_KIND_TYPEDEF) > 0, "typedef u32");
	CHECK(btf__find_by_name_kind(sb, "inode", BTF_KIND_STRUCT) < 0,
	      "struct inode (only behind pointers) stayed out");
out:
	btf__free(sb);
	free(blob);
}

/* The kernel's BTF: kbtf and libbpf must agree. */
static void kernel(void)
{
	static const char *const tps[] = { "sched_switch", "sched_wakeup", "block_rq_issue",
					   "sched_process_exit", "mark_victim" };
	struct btf *lb;
	struct kt_kbtf *kb;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		printf("test_kbtf: no kernel BTF, the kernel checks are skipped\n");
		return;
	}
	CHECK(kt_kbtf_open(NULL, &kb) == 0, "the kernel's BTF opens");
	lb = btf__load_vmlinux_btf();
	CHECK(lb != NULL, "libbpf parses it too");
	if (!kb || !lb)
		goto out;
	CHECK(kt_kbtf_ntypes(kb) + 1 == btf__type_cnt(lb), "type count %u vs libbpf %u",
	      kt_kbtf_ntypes(kb), btf__type_cnt(lb));
	/* every type at the same id with the same name and kind (a sample of 1 in 97) */
	for (uint32_t id = 1; id <= kt_kbtf_ntypes(kb); id += 97) {
		const struct btf_type *a = kt_kbtf_type(kb, id), *b = btf__type_by_id(lb, id);

		CHECK(a && b && a->info == b->info && a->name_off == b->name_off &&
			      !strcmp(kt_kbtf_name(kb, a->name_off), btf__name_by_offset(lb, b->name_off)),
		      "type %u", id);
	}
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		char name[64];
		int want;

		snprintf(name, sizeof(name), "btf_trace_%s", tps[i]);
		want = btf__find_by_name_kind(lb, name, BTF_KIND_TYPEDEF);
		CHECK(kt_kbtf_find(kb, name, BTF_KIND_TYPEDEF) == (want < 0 ? -ENOENT : want),
		      "%s: same id as libbpf (%d)", name, want);
	}
	CHECK(kt_kbtf_find(kb, "do_exit", BTF_KIND_FUNC) == btf__find_by_name_kind(lb, "do_exit", BTF_KIND_FUNC),
	      "a function");
	/* sched_switch passes (preempt, prev, next[, prev_state]) since 5.18: 3 or 4 */
	CHECK(kt_btf_tp_nargs("sched_switch") >= 3, "sched_switch args %d", kt_btf_tp_nargs("sched_switch"));
	CHECK(kt_btf_tp_nargs("no_such_tracepoint_anywhere") == -ENOENT, "missing tracepoint");
	subset(kb, lb);
	kt_vmlinux_btf_release();
out:
	btf__free(lb);
	kt_kbtf_free(kb);
}

int main(void)
{
	synthetic();
	corrupt();
	kernel();
	return kt_test_done("test_kbtf");
}
