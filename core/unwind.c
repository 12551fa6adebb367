// SPDX-License-Identifier: GPL-2.0
/*
 * User stack unwinding from CFI (see unwind.h).
 *
 * One step: the pc's mapping gives the file and the ELF virtual address;
 * libdw computes the frame state there (the CIE's and FDE's instructions up
 * to that pc); the CFA and the caller's registers are evaluated here from
 * the DWARF expressions libdw hands back, reading memory only from the copy
 * of the stack. Registers the CFI leaves undefined keep their value when
 * they are callee-saved on x86-64 (rbx, rbp, r12-r15: what the ABI's
 * initial rules, which libdw takes from its "ebl" backends, would say) and
 * are forgotten otherwise; rsp is the CFA.
 */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <gelf.h>
#include <libelf.h>

#include "kt_elf.h"
#include "unwind.h"

#define FILE_BUCKETS 1024
#define MAX_EXPR_OPS 64 /* longer DWARF expressions are not evaluated */
#define EXPR_STACK   16

struct cfi_data {
	Elf *elf;
	Dwarf_CFI *cfi;
	size_t mem;
	uint8_t build_id[KT_ELF_MAX_BUILD_ID];
	size_t build_id_len;
};

struct cfi_file {
	struct cfi_file *next;
	uint64_t dev, ino;
	struct cfi_data *d; /* NULL: no CFI (none in the file, or over a budget) */
};

struct kt_unwind {
	struct cfi_file *files[FILE_BUCKETS];
	struct cfi_data **datas;
	size_t ndatas, cap;
	size_t nfiles;
	struct kt_unwind_stats stats;
};

/*
 * libdw asks elfutils' "ebl" backends for an architecture's initial CFI
 * rules (and would link the backends of every architecture elfutils knows,
 * some 280 KB, with their disassemblers). ktrace unwinds x86-64 only and
 * applies the ABI's rules itself (see the top of this file), so these two
 * definitions stand in for libebl's: no backend, and libdw goes on with the
 * CIE's own instructions, which on x86-64 state the CFA and the return
 * address.
 */
struct ebl;
struct ebl *ebl_openbackend(Elf *elf);
int ebl_abi_cfi(struct ebl *ebl, Dwarf_CIE *abi_info);

struct ebl *ebl_openbackend(Elf *elf)
{
	(void)elf;
	return NULL;
}

int ebl_abi_cfi(struct ebl *ebl, Dwarf_CIE *abi_info)
{
	(void)ebl;
	(void)abi_info;
	return -1;
}

int kt_unwind_new(struct kt_unwind **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	elf_version(EV_CURRENT);
	return 0;
}

void kt_unwind_free(struct kt_unwind *uw)
{
	if (!uw)
		return;
	for (size_t i = 0; i < FILE_BUCKETS; i++) {
		struct cfi_file *f, *next;

		for (f = uw->files[i]; f; f = next) {
			next = f->next;
			free(f);
		}
	}
	for (size_t i = 0; i < uw->ndatas; i++) {
		dwarf_cfi_end(uw->datas[i]->cfi);
		elf_end(uw->datas[i]->elf);
		free(uw->datas[i]);
	}
	free(uw->datas);
	free(uw);
}

static size_t bucket(uint64_t dev, uint64_t ino)
{
	return (size_t)((dev * 31 + ino) % FILE_BUCKETS);
}

static struct cfi_file *find_file(const struct kt_unwind *uw, uint64_t dev, uint64_t ino)
{
	struct cfi_file *f;

	for (f = uw->files[bucket(dev, ino)]; f; f = f->next)
		if (f->dev == dev && f->ino == ino)
			return f;
	return NULL;
}

/* Sizes of .eh_frame and .eh_frame_hdr, from the section headers (0: none). */
static void eh_sizes(Elf *e, uint64_t *frame, uint64_t *hdr)
{
	size_t shstrndx, n = 0;
	Elf_Scn *scn = NULL;

	*frame = *hdr = 0;
	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	while ((scn = elf_nextscn(e, scn)) && n++ < KT_ELF_MAX_SECTIONS) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type == SHT_NOBITS)
			continue;
		name = elf_strptr(e, shstrndx, sh.sh_name);
		if (!name)
			continue;
		if (!strcmp(name, ".eh_frame"))
			*frame = sh.sh_size;
		else if (!strcmp(name, ".eh_frame_hdr"))
			*hdr = sh.sh_size;
	}
}

/* Read the CFI of the file at @fd; NULL when it has none or it is over a budget (counted). */
static struct cfi_data *load(struct kt_unwind *uw, int fd, const struct kt_elf *ke)
{
	struct cfi_data *d = NULL;
	uint64_t frame, hdr;
	GElf_Ehdr eh;
	size_t mem;
	Elf *e;

	e = elf_begin(fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64)
		goto none;
	eh_sizes(e, &frame, &hdr);
	if (!frame)
		goto none;
	mem = sizeof(*d) + 2 * (size_t)(frame + hdr);
	if (frame > KT_UNWIND_MAX_EH_FRAME || hdr > KT_UNWIND_MAX_EH_FRAME ||
	    uw->stats.mem + mem > KT_UNWIND_MAX_MEM || uw->ndatas >= KT_UNWIND_MAX_FILES) {
		uw->stats.files_skipped++;
		elf_end(e);
		return NULL;
	}
	if (uw->ndatas == uw->cap) {
		size_t ncap = uw->cap ? uw->cap * 2 : 64;
		struct cfi_data **v = realloc(uw->datas, ncap * sizeof(*v));

		if (!v)
			goto none;
		uw->datas = v;
		uw->cap = ncap;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		goto none;
	/* reads .eh_frame_hdr and .eh_frame now (pread, no mmap): the fd is not used after */
	d->cfi = dwarf_getcfi_elf(e);
	if (!d->cfi)
		goto none;
	elf_cntl(e, ELF_C_FDDONE);
	d->elf = e;
	d->mem = mem;
	if (ke && ke->build_id_len) {
		memcpy(d->build_id, ke->build_id, ke->build_id_len);
		d->build_id_len = ke->build_id_len;
	}
	uw->datas[uw->ndatas++] = d;
	uw->stats.mem += mem;
	uw->stats.files++;
	return d;
none:
	free(d);
	if (e)
		elf_end(e);
	uw->stats.files_no_cfi++;
	return NULL;
}

void kt_unwind_file_cb(const struct kt_usyms_file *f, void *arg)
{
	struct kt_unwind *uw = arg;
	struct cfi_data *d = NULL;
	struct cfi_file *cf;

	if (find_file(uw, f->dev, f->ino) || uw->nfiles >= 16 * KT_UNWIND_MAX_FILES)
		return;
	/* the same binary under another inode (a container's copy): share its CFI */
	for (size_t i = 0; f->elf && f->elf->build_id_len && i < uw->ndatas && !d; i++)
		if (uw->datas[i]->build_id_len == f->elf->build_id_len &&
		    !memcmp(uw->datas[i]->build_id, f->elf->build_id, f->elf->build_id_len))
			d = uw->datas[i];
	if (!d)
		d = load(uw, f->fd, f->elf);
	cf = calloc(1, sizeof(*cf));
	if (!cf)
		return;
	cf->dev = f->dev;
	cf->ino = f->ino;
	cf->d = d;
	cf->next = uw->files[bucket(f->dev, f->ino)];
	uw->files[bucket(f->dev, f->ino)] = cf;
	uw->nfiles++;
}

void kt_unwind_stats(const struct kt_unwind *uw, struct kt_unwind_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (uw)
		*out = uw->stats;
}

/* ---- one walk ---- */

struct walk {
	uint64_t r[KT_UREG_N];
	uint32_t valid; /* bit per register */
	const uint8_t *stack;
	uint64_t base; /* address of stack[0] */
	size_t len;
	uint64_t cfa;
};

static bool mem_read(const struct walk *w, uint64_t addr, size_t size, uint64_t *v)
{
	uint64_t off = addr - w->base;

	*v = 0;
	if (addr < w->base || off > w->len || w->len - off < size || size > 8)
		return false;
	memcpy(v, w->stack + off, size); /* little endian */
	return true;
}

static bool reg_get(const struct walk *w, uint64_t reg, uint64_t *v)
{
	if (reg >= KT_UREG_N || !(w->valid & (1U << reg)))
		return false;
	*v = w->r[reg];
	return true;
}

/*
 * Evaluate a DWARF expression as CFI uses it. Returns false when it uses
 * what is not known (an unsaved register, memory outside the copy, an
 * operation CFI does not need). *is_value is set when the result is a
 * value (DW_OP_stack_value, a register operation), else it is an address.
 */
static bool eval(const struct walk *w, const Dwarf_Op *ops, size_t n, uint64_t *out,
		 bool *is_value)
{
	uint64_t st[EXPR_STACK], a, b;
	size_t sp = 0;

	*is_value = false;
	if (!n || n > MAX_EXPR_OPS)
		return false;
#define PUSH(x)                                                                                    \
	do {                                                                                       \
		if (sp == EXPR_STACK)                                                              \
			return false;                                                              \
		st[sp++] = (x);                                                                    \
	} while (0)
#define POP(x)                                                                                     \
	do {                                                                                       \
		if (!sp)                                                                           \
			return false;                                                              \
		(x) = st[--sp];                                                                    \
	} while (0)
	for (size_t i = 0; i < n; i++) {
		uint8_t op = ops[i].atom;

		if (op >= DW_OP_lit0 && op <= DW_OP_lit31) {
			PUSH((uint64_t)(op - DW_OP_lit0));
		} else if (op >= DW_OP_breg0 && op <= DW_OP_breg31) {
			if (!reg_get(w, op - DW_OP_breg0, &a))
				return false;
			PUSH(a + ops[i].number);
		} else if (op >= DW_OP_reg0 && op <= DW_OP_reg31) {
			if (!reg_get(w, op - DW_OP_reg0, &a))
				return false;
			PUSH(a);
			*is_value = true;
		} else {
			switch (op) {
			case DW_OP_bregx:
				if (!reg_get(w, ops[i].number, &a))
					return false;
				PUSH(a + ops[i].number2);
				break;
			case DW_OP_regx:
				if (!reg_get(w, ops[i].number, &a))
					return false;
				PUSH(a);
				*is_value = true;
				break;
			case DW_OP_call_frame_cfa:
				PUSH(w->cfa);
				break;
			case DW_OP_addr:
			case DW_OP_const1u:
			case DW_OP_const1s:
			case DW_OP_const2u:
			case DW_OP_const2s:
			case DW_OP_const4u:
			case DW_OP_const4s:
			case DW_OP_const8u:
			case DW_OP_const8s:
			case DW_OP_constu:
			case DW_OP_consts:
				PUSH(ops[i].number);
				break;
			case DW_OP_plus_uconst:
				POP(a);
				PUSH(a + ops[i].number);
				break;
			case DW_OP_deref:
			case DW_OP_deref_size:
				POP(a);
				if (!mem_read(w, a, op == DW_OP_deref ? 8 : ops[i].number, &b))
					return false;
				PUSH(b);
				break;
			case DW_OP_dup:
				POP(a);
				PUSH(a);
				PUSH(a);
				break;
			case DW_OP_drop:
				POP(a);
				break;
			case DW_OP_over:
				if (sp < 2)
					return false;
				a = st[sp - 2];
				PUSH(a);
				break;
			case DW_OP_swap:
				POP(a);
				POP(b);
				PUSH(a);
				PUSH(b);
				break;
			case DW_OP_neg:
				POP(a);
				PUSH(-a);
				break;
			case DW_OP_not:
				POP(a);
				PUSH(~a);
				break;
			case DW_OP_nop:
				break;
			case DW_OP_stack_value:
				*is_value = true;
				break;
			case DW_OP_plus:
			case DW_OP_minus:
			case DW_OP_mul:
			case DW_OP_and:
			case DW_OP_or:
			case DW_OP_xor:
			case DW_OP_shl:
			case DW_OP_shr:
			case DW_OP_shra:
			case DW_OP_ge:
			case DW_OP_gt:
			case DW_OP_le:
			case DW_OP_lt:
			case DW_OP_eq:
			case DW_OP_ne:
				POP(b);
				POP(a);
				switch (op) {
				case DW_OP_plus: a += b; break;
				case DW_OP_minus: a -= b; break;
				case DW_OP_mul: a *= b; break;
				case DW_OP_and: a &= b; break;
				case DW_OP_or: a |= b; break;
				case DW_OP_xor: a ^= b; break;
				case DW_OP_shl: a = b < 64 ? a << b : 0; break;
				case DW_OP_shr: a = b < 64 ? a >> b : 0; break;
				case DW_OP_shra: a = (uint64_t)((int64_t)a >> (b < 64 ? b : 63)); break;
				case DW_OP_ge: a = (int64_t)a >= (int64_t)b; break;
				case DW_OP_gt: a = (int64_t)a > (int64_t)b; break;
				case DW_OP_le: a = (int64_t)a <= (int64_t)b; break;
				case DW_OP_lt: a = (int64_t)a < (int64_t)b; break;
				case DW_OP_eq: a = a == b; break;
				default: a = a != b; break;
				}
				PUSH(a);
				break;
			default:
				return false;
			}
		}
	}
#undef PUSH
#undef POP
	if (!sp)
		return false;
	*out = st[sp - 1];
	return true;
}

#define CALLEE_SAVED                                                                               \
	((1U << KT_UREG_RBX) | (1U << KT_UREG_RBP) | (1U << KT_UREG_R12) | (1U << KT_UREG_R13) |   \
	 (1U << KT_UREG_R14) | (1U << KT_UREG_R15))

enum step { STEP_OK, STEP_END, STEP_FAIL };

/* One step by CFI from the frame at w (pc looked up at @lookup); w becomes the caller's. */
static enum step step_cfi(struct walk *w, Dwarf_CFI *cfi, uint64_t vaddr)
{
	uint64_t nr[KT_UREG_N], v;
	uint32_t nvalid = 0;
	Dwarf_Frame *fr = NULL;
	Dwarf_Op *ops, mem[3];
	size_t nops;
	bool is_value;
	enum step ret = STEP_FAIL;

	if (dwarf_cfi_addrframe(cfi, vaddr, &fr) || !fr)
		return STEP_FAIL;
	if (dwarf_frame_cfa(fr, &ops, &nops) || !nops || !eval(w, ops, nops, &w->cfa, &is_value))
		goto out;
	for (int reg = 0; reg < KT_UREG_N; reg++) {
		if (reg == KT_UREG_RSP)
			continue;
		if (dwarf_frame_register(fr, reg, mem, &ops, &nops))
			goto out;
		if (!nops) {
			if (ops == mem) {
				/* undefined: the outermost frame when it is the return address */
				if (reg == KT_UREG_RIP) {
					ret = STEP_END;
					goto out;
				}
				if (!(CALLEE_SAVED & (1U << reg)))
					continue;
			}
			/* same value (or callee-saved by the ABI) */
			if (w->valid & (1U << reg)) {
				nr[reg] = w->r[reg];
				nvalid |= 1U << reg;
			}
			continue;
		}
		if (!eval(w, ops, nops, &v, &is_value) ||
		    (!is_value && !mem_read(w, v, 8, &v))) {
			if (reg == KT_UREG_RIP)
				goto out; /* the return address is not in the copy */
			continue;
		}
		nr[reg] = v;
		nvalid |= 1U << reg;
	}
	if (!(nvalid & (1U << KT_UREG_RIP)))
		goto out;
	nr[KT_UREG_RSP] = w->cfa;
	nvalid |= 1U << KT_UREG_RSP;
	memcpy(w->r, nr, sizeof(nr));
	w->valid = nvalid;
	ret = STEP_OK;
out:
	free(fr);
	return ret;
}

/* One step by frame pointer: the caller's rbp at [rbp], its pc at [rbp + 8]. */
static enum step step_fp(struct walk *w)
{
	uint64_t bp, nbp, ra;

	if (!reg_get(w, KT_UREG_RBP, &bp) || bp < w->r[KT_UREG_RSP] || !mem_read(w, bp, 8, &nbp) ||
	    !mem_read(w, bp + 8, 8, &ra))
		return STEP_FAIL;
	w->cfa = bp + 16;
	w->r[KT_UREG_RBP] = nbp;
	w->r[KT_UREG_RSP] = bp + 16;
	w->r[KT_UREG_RIP] = ra;
	w->valid = (1U << KT_UREG_RBP) | (1U << KT_UREG_RSP) | (1U << KT_UREG_RIP);
	return STEP_OK;
}

size_t kt_unwind_stack(struct kt_unwind *uw, struct kt_usyms *us, int pid,
		       const uint64_t regs[KT_UREG_N], const void *stack, size_t len, uint64_t *ips,
		       size_t max, unsigned *flags)
{
	struct walk w;
	size_t n = 0;

	*flags = 0;
	if (!max)
		return 0;
	memcpy(w.r, regs, sizeof(w.r));
	w.valid = (1U << KT_UREG_N) - 1;
	w.stack = stack;
	w.base = regs[KT_UREG_RSP];
	w.len = len;
	ips[n++] = regs[KT_UREG_RIP];
	while (n < max) {
		uint64_t pc = w.r[KT_UREG_RIP], sp = w.r[KT_UREG_RSP];
		struct kt_usyms_where where;
		struct cfi_file *cf = NULL;
		enum step s = STEP_FAIL;

		/* a return address is looked up in the call before it (n > 1 frames down) */
		if (!kt_usyms_where(us, pid, n > 1 ? pc - 1 : pc, &where))
			cf = find_file(uw, where.dev, where.ino);
		if (cf && cf->d) {
			s = step_cfi(&w, cf->d->cfi, where.vaddr);
			if (s == STEP_OK)
				uw->stats.frames_cfi++;
		}
		if (s == STEP_END) {
			*flags |= KT_UNWIND_END;
			break;
		}
		if (s == STEP_FAIL) {
			s = step_fp(&w);
			if (s != STEP_OK)
				break;
			uw->stats.frames_fp++;
		}
		/* the stack grows down: a caller's frame lies above; a pc of 0 ends a walk */
		if (w.r[KT_UREG_RSP] <= sp || !w.r[KT_UREG_RIP])
			break;
		ips[n++] = w.r[KT_UREG_RIP];
	}
	return n;
}
