// SPDX-License-Identifier: GPL-2.0
/*
 * Stack aggregation table (see stacks.h). A stack is one allocation: the
 * struct followed by its kernel and user IPs. An open-addressing hash table
 * of pointers finds an existing stack; sorting reorders only the pointer
 * array, so the hash stays valid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks.h"

struct node {
	struct kt_stack s;
	uint64_t hash;
	uint64_t ips[]; /* nkern kernel IPs, then nuser user IPs */
};

struct kt_stacks {
	struct node **v;
	size_t n, cap;
	struct node **tab; /* hash table, size tcap (a power of two), NULL = empty */
	size_t tcap;
	uint64_t total;
};

int kt_stacks_new(struct kt_stacks **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void kt_stacks_clear(struct kt_stacks *st)
{
	size_t i;

	if (!st)
		return;
	for (i = 0; i < st->n; i++) {
		free(st->v[i]->s.kframes);
		free(st->v[i]->s.uframes);
		free(st->v[i]);
	}
	st->n = 0;
	st->total = 0;
	if (st->tab)
		memset(st->tab, 0, st->tcap * sizeof(*st->tab));
}

void kt_stacks_free(struct kt_stacks *st)
{
	if (!st)
		return;
	kt_stacks_clear(st);
	free(st->v);
	free(st->tab);
	free(st);
}

static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *c = p;

	while (len--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

/*
 * No user address reaches 2^56 (the top of user space with 5-level paging;
 * 2^47 with 4-level). A frame-pointer walk through code built without frame
 * pointers reads data as return addresses (e.g. 0x5f687361622f706d, which is
 * ASCII): the walk went off the rails there, so it and every frame beyond it
 * are dropped rather than shown as frames.
 */
#define KT_USER_ADDR_END (1ULL << 56)

static size_t user_len(const uint64_t *ips, size_t n)
{
	size_t i;

	for (i = 0; i < n && ips[i] < KT_USER_ADDR_END; i++)
		;
	return i;
}

static size_t ip_len(const uint64_t *ips, size_t n)
{
	size_t i;

	if (!ips)
		return 0;
	if (n > KT_STACK_MAX_DEPTH)
		n = KT_STACK_MAX_DEPTH;
	for (i = 0; i < n && ips[i]; i++)
		;
	return i;
}

static int same(const struct node *a, uint32_t pid, const char *comm, const uint64_t *k, size_t nk,
		const uint64_t *u, size_t nu, unsigned uflags)
{
	return a->s.pid == pid && a->s.nkern == nk && a->s.nuser == nu && a->s.uflags == uflags &&
	       !strcmp(a->s.comm, comm) && (!nk || !memcmp(a->s.kips, k, nk * sizeof(*k))) &&
	       (!nu || !memcmp(a->s.uips, u, nu * sizeof(*u)));
}

static int grow_tab(struct kt_stacks *st)
{
	size_t ncap = st->tcap ? st->tcap * 2 : 1024, i, j;
	struct node **t = calloc(ncap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (i = 0; i < st->n; i++) {
		for (j = st->v[i]->hash & (ncap - 1); t[j]; j = (j + 1) & (ncap - 1))
			;
		t[j] = st->v[i];
	}
	free(st->tab);
	st->tab = t;
	st->tcap = ncap;
	return 0;
}

int kt_stacks_add(struct kt_stacks *st, uint32_t pid, const char *comm, const uint64_t *kips,
		  size_t nkern, size_t kskip, const uint64_t *uips, size_t nuser, uint64_t value)
{
	return kt_stacks_add_flags(st, pid, comm, kips, nkern, kskip, uips, nuser, 0, value);
}

int kt_stacks_add_flags(struct kt_stacks *st, uint32_t pid, const char *comm, const uint64_t *kips,
			size_t nkern, size_t kskip, const uint64_t *uips, size_t nuser,
			unsigned uflags, uint64_t value)
{
	char c[KT_COMM_LEN + 1] = "";
	struct node *nd;
	uint64_t h;
	size_t nk, nu, i;
	int err;

	if (!st)
		return -EINVAL;
	nk = ip_len(kips, nkern);
	nk = kskip < nk ? nk - kskip : 0;
	kips = nk ? kips + kskip : NULL;
	nu = user_len(uips, ip_len(uips, nuser));
	if (comm)
		snprintf(c, sizeof(c), "%.*s", KT_COMM_LEN, comm);
	h = fnv(0xcbf29ce484222325ULL, &pid, sizeof(pid));
	h = fnv(h, c, strlen(c));
	h = fnv(h, &nk, sizeof(nk));
	if (nk)
		h = fnv(h, kips, nk * sizeof(*kips));
	if (nu)
		h = fnv(h, uips, nu * sizeof(*uips));
	h = fnv(h, &uflags, sizeof(uflags));

	for (i = st->tcap ? h & (st->tcap - 1) : 0; st->tcap && st->tab[i];
	     i = (i + 1) & (st->tcap - 1)) {
		nd = st->tab[i];
		if (nd->hash == h && same(nd, pid, c, kips, nk, uips, nu, uflags)) {
			nd->s.value += value;
			st->total += value;
			return 0;
		}
	}
	/* keep the table at most half full */
	if ((st->n + 1) * 2 > st->tcap) {
		err = grow_tab(st);
		if (err)
			return err;
	}
	if (st->n == st->cap) {
		size_t ncap = st->cap ? st->cap * 2 : 256;
		struct node **v = realloc(st->v, ncap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		st->v = v;
		st->cap = ncap;
	}
	nd = calloc(1, sizeof(*nd) + (nk + nu) * sizeof(uint64_t));
	if (!nd)
		return -ENOMEM;
	nd->hash = h;
	nd->s.pid = pid;
	memcpy(nd->s.comm, c, sizeof(c));
	nd->s.value = value;
	nd->s.nkern = (uint32_t)nk;
	nd->s.nuser = (uint32_t)nu;
	nd->s.uflags = uflags;
	if (nk)
		memcpy(nd->ips, kips, nk * sizeof(*kips));
	if (nu)
		memcpy(nd->ips + nk, uips, nu * sizeof(*uips));
	nd->s.kips = nd->ips;
	nd->s.uips = nd->ips + nk;
	for (i = h & (st->tcap - 1); st->tab[i]; i = (i + 1) & (st->tcap - 1))
		;
	st->tab[i] = nd;
	st->v[st->n++] = nd;
	st->total += value;
	return 0;
}

/*
 * Every frame but the innermost holds a return address: the instruction after
 * the call, which is past the end of the caller when the call was its last
 * instruction (a noreturn callee). Such frames are looked up at addr - 1 and
 * their offset given back for addr.
 */
static uint64_t lookup_addr(uint64_t addr, size_t depth)
{
	return depth && addr ? addr - 1 : addr;
}

void kt_stacks_kernel_frame(const struct kt_ksyms *ks, uint64_t addr, size_t depth,
			    struct kt_frame *fr)
{
	uint64_t a = lookup_addr(addr, depth);
	const struct kt_ksym *sym = kt_ksyms_lookup(ks, a, &fr->offset);

	fr->addr = addr;
	fr->sym = sym ? sym->name : NULL;
	fr->module = sym && sym->module ? sym->module : "[kernel]";
	if (!sym)
		fr->offset = addr;
	else
		fr->offset += addr - a;
}

bool kt_stacks_tracing_frame(const char *name)
{
	static const char *const prefixes[] = {
		"bpf_prog_",	   "bpf_trace_run", "__bpf_trace_", "perf_trace_",
		"trace_event_raw_event_", "__traceiter_", "perf_syscall", "kprobe_",
		"bpf_get_stack",   "__bpf_prog_enter", "bpf_trampoline_",
	};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

bool kt_stacks_root_name(const char *name)
{
	static const char *const roots[] = {
		"_start", "__libc_start_main", "__libc_start_call_main", "__libc_start_main_impl",
		"clone", "clone3", "__clone", "__clone3", "start_thread", "thread_start",
	};

	for (size_t i = 0; name && i < sizeof(roots) / sizeof(roots[0]); i++)
		if (!strcmp(name, roots[i]))
			return true;
	return false;
}

int kt_stacks_resolve(struct kt_stacks *st, const struct kt_ksyms *ks, struct kt_usyms *us)
{
	size_t i, j;

	if (!st)
		return -EINVAL;
	for (i = 0; i < st->n; i++) {
		struct kt_stack *s = &st->v[i]->s;

		if (!s->kframes && s->nkern) {
			s->kframes = calloc(s->nkern, sizeof(*s->kframes));
			if (!s->kframes)
				return -ENOMEM;
			for (j = 0; j < s->nkern; j++)
				kt_stacks_kernel_frame(ks, s->kips[j], j, &s->kframes[j]);
		}
		if (!s->uframes && s->nuser) {
			s->uframes = calloc(s->nuser, sizeof(*s->uframes));
			if (!s->uframes)
				return -ENOMEM;
			for (j = 0; j < s->nuser; j++) {
				struct kt_frame *fr = &s->uframes[j];
				uint64_t a = lookup_addr(s->uips[j], j);

				if (us) {
					/* fills fr in, with or without a symbol */
					kt_usyms_resolve(us, (int)s->pid, a, fr);
					fr->addr = s->uips[j];
					fr->offset += s->uips[j] - a;
				} else {
					fr->addr = fr->offset = s->uips[j];
					fr->sym = fr->module = NULL;
				}
			}
		}
		s->urooted = s->nuser && (s->uflags & KT_STACK_U_END);
		for (j = 0; s->uframes && j < s->nuser && !s->urooted; j++)
			s->urooted = kt_stacks_root_name(s->uframes[j].sym);
	}
	return 0;
}

static int cmp_node(const void *a, const void *b)
{
	const struct kt_stack *x = &(*(struct node *const *)a)->s;
	const struct kt_stack *y = &(*(struct node *const *)b)->s;
	int c;

	if (x->value != y->value)
		return x->value > y->value ? -1 : 1;
	c = strcmp(x->comm, y->comm);
	if (c)
		return c;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->nkern + x->nuser != y->nkern + y->nuser)
		return x->nkern + x->nuser < y->nkern + y->nuser ? -1 : 1;
	return 0;
}

void kt_stacks_sort(struct kt_stacks *st)
{
	if (st && st->n)
		qsort(st->v, st->n, sizeof(*st->v), cmp_node);
}

size_t kt_stacks_count(const struct kt_stacks *st)
{
	return st ? st->n : 0;
}

const struct kt_stack *kt_stacks_get(const struct kt_stacks *st, size_t i)
{
	return st && i < st->n ? &st->v[i]->s : NULL;
}

uint64_t kt_stacks_total(const struct kt_stacks *st)
{
	return st ? st->total : 0;
}

size_t kt_stacks_frame_name(const struct kt_frame *fr, int with_offset, char *buf, size_t len)
{
	int n;

	if (!len)
		return 0;
	if (fr->sym && with_offset)
		n = snprintf(buf, len, "%s+0x%llx", fr->sym, (unsigned long long)fr->offset);
	else if (fr->sym)
		n = snprintf(buf, len, "%s", fr->sym);
	else if (fr->module)
		n = snprintf(buf, len, "%s+0x%llx", fr->module, (unsigned long long)fr->offset);
	else
		n = snprintf(buf, len, "[unknown]");
	if (n < 0) {
		buf[0] = '\0';
		return 0;
	}
	return (size_t)n < len ? (size_t)n : len - 1;
}
