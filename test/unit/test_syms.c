// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of kernel and user symbolization.
 *
 * Kernel: a fake kallsyms (modules, aliases, data symbols) and a
 * kptr_restrict one (all zeros). User: the fixture programs print the
 * addresses of known functions and wait; the test resolves those addresses
 * in the live process for a non-PIE, a PIE (with a shared library), a
 * stripped binary with its symbols in a debug file (found by debuglink in
 * the same directory, in .debug/, and by build-id), a process killed before
 * the lookup, JIT symbols from perf-PID.map, and, as root, processes in a
 * chroot and in a private mount namespace whose files the host cannot see.
 *
 * Usage: test_syms FIXTURE_DIR
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_elf.h"
#include "kt_test.h"
#include "ksyms.h"
#include "rootfs.h"
#include "stacks.h"
#include "usyms.h"


static const char *fixdir;
static char tmpdir[] = "/tmp/kt_syms_testXXXXXX";

enum mode { PLAIN, CHROOT, MOUNTNS };

struct child {
	pid_t pid;
	int in_fd;
	int nfn;
	struct {
		char name[64];
		unsigned long long addr;
	} fn[8];
};

static char *path2(const char *a, const char *b)
{
	static char buf[8][4096];
	static int i;

	i = (i + 1) % 8;
	if (snprintf(buf[i], sizeof(buf[i]), "%s/%s", a, b) >= (int)sizeof(buf[i]))
		abort(); /* test paths are short; checked so gcc -O3 sees it */
	return buf[i];
}

static int write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int copy_file(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY), out = -1, err = -1;
	ssize_t r;

	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0)
		goto out;
	while ((r = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)r) != r)
			goto out;
	err = r < 0 ? -1 : 0;
out:
	close(in);
	if (out >= 0)
		close(out);
	return err;
}

/* In the child: enter a private mount namespace where @dir holds the binary. */
static void enter_mountns(const char *exe, const char *dir)
{
	char buf[4096];

	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		_exit(77);
	/* copy the binary to a tmpfs mounted over @dir: invisible from the host */
	snprintf(buf, sizeof(buf), "%s.img", dir);
	if (copy_file(exe, buf) || mount("tmpfs", dir, "tmpfs", 0, NULL) ||
	    copy_file(buf, path2(dir, "ktfix")))
		_exit(77);
	unlink(buf);
	execl(path2(dir, "ktfix"), "ktfix", (char *)NULL);
	_exit(127);
}

/* Start a fixture and read the "name address" lines it prints. 0, or 77 to skip. */
static int start(struct child *c, const char *exe, enum mode mode, const char *dir)
{
	int in[2], out[2];
	char line[256];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (pipe(in) || pipe(out))
		return -1;
	c->pid = fork();
	if (c->pid < 0)
		return -1;
	if (!c->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		if (mode == CHROOT && (chroot(dir) || chdir("/")))
			_exit(77);
		if (mode == MOUNTNS)
			enter_mountns(exe, dir);
		execl(mode == CHROOT ? "/ktfix" : exe, "ktfix", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in_fd = in[1];
	f = fdopen(out[0], "r");
	while (f && fgets(line, sizeof(line), f) && strcmp(line, "ready\n") && c->nfn < 8) {
		if (sscanf(line, "%63s %llx", c->fn[c->nfn].name, &c->fn[c->nfn].addr) == 2)
			c->nfn++;
	}
	if (f)
		fclose(f);
	if (!c->nfn) {
		int st;

		close(c->in_fd);
		waitpid(c->pid, &st, 0);
		return WIFEXITED(st) && WEXITSTATUS(st) == 77 ? 77 : -1;
	}
	return 0;
}

static void stop(struct child *c)
{
	close(c->in_fd); /* end of file on its stdin: it exits */
	waitpid(c->pid, NULL, 0);
}

/* Every function the child reported resolves to its name, inside its body. */
static void check_child(struct kt_usyms *us, const struct child *c, const char *what)
{
	struct kt_frame fr;
	int i, err;

	CHECK(c->nfn >= 2);
	for (i = 0; i < c->nfn; i++) {
		err = kt_usyms_resolve(us, c->pid, c->fn[i].addr, &fr);
		if (err || !fr.sym || strcmp(fr.sym, c->fn[i].name)) {
			fprintf(stderr, "%s: %s at %#llx resolved to %s+%#llx in %s (%d)\n", what,
				c->fn[i].name, c->fn[i].addr, fr.sym ? fr.sym : "(null)",
				(unsigned long long)fr.offset, fr.module ? fr.module : "(null)",
				err);
			kt_test_failed++;
			continue;
		}
		CHECK(fr.addr == c->fn[i].addr);
		CHECK(fr.offset > 0 && fr.offset < 256);
		CHECK(fr.module != NULL);
		if (fr.module && strstr(c->fn[i].name, "lib"))
			CHECK(!strcmp(fr.module, "libktfixlib.so"));
	}
}

static void test_ksyms(void)
{
	const char *p = path2(tmpdir, "kallsyms");
	const struct kt_ksym *s;
	struct kt_ksyms *ks = NULL;
	uint64_t off;

	CHECK(write_file(p, "ffffffff81000000 T _stext\n"
			    "ffffffff81000000 t _text_alias\n"
			    "ffffffff81001000 T do_thing\n"
			    "ffffffff81002000 D some_data\n"
			    "ffffffff81003000 W weak_fn\n"
			    "garbage line\n"
			    "ffffffff81004000 t\n"
			    "ffffffffc0001000 t mod_fn\t[kvm]\n"
			    "ffffffffc0002000 t mod_fn2\t[kvm_intel]\n"
			    "ffffffffc0003000 t bpf_prog_1234_handler\t[bpf]\n") == 0);
	CHECK(kt_ksyms_load(p, &ks) == 0);
	CHECK(!kt_ksyms_restricted(ks));
	CHECK(kt_ksyms_count(ks) == 6);
	s = kt_ksyms_lookup(ks, 0xffffffff81000010, &off);
	CHECK(s && !strcmp(s->name, "_stext") && off == 0x10 && !s->module);
	s = kt_ksyms_lookup(ks, 0xffffffff81002010, &off);
	CHECK(s && !strcmp(s->name, "do_thing") && off == 0x1010); /* data is skipped */
	s = kt_ksyms_lookup(ks, 0xffffffffc0001004, &off);
	CHECK(s && !strcmp(s->name, "mod_fn") && s->module && !strcmp(s->module, "kvm"));
	s = kt_ksyms_lookup(ks, 0xffffffffc0002000, &off);
	CHECK(s && s->module && !strcmp(s->module, "kvm_intel") && off == 0);
	s = kt_ksyms_lookup(ks, 0xffffffffc0003001, &off);
	CHECK(s && s->module && !strcmp(s->module, "bpf"));
	CHECK(kt_ksyms_lookup(ks, 0x1000, &off) == NULL);
	{
		char b[64];
		const char *m = "x";

		CHECK(!strcmp(kt_ksyms_fmt(ks, 0xffffffff81001000, b, sizeof(b), &m), "do_thing") &&
		      !m);
		CHECK(!strcmp(kt_ksyms_fmt(ks, 0xffffffffc0001004, b, sizeof(b), &m), "mod_fn+0x4") &&
		      m && !strcmp(m, "kvm"));
		CHECK(!strcmp(kt_ksyms_fmt(ks, 0x1000, b, sizeof(b), &m), "0x1000") && !m);
		CHECK(!strcmp(kt_ksyms_fmt(NULL, 0xffffffff81001000, b, sizeof(b), NULL),
			      "0xffffffff81001000"));
	}
	/*
	 * a return address just past a caller whose last instruction was the
	 * call: the caller, not the next function; the innermost frame as is
	 */
	{
		struct kt_frame f;

		kt_stacks_kernel_frame(ks, 0xffffffff81001000, 1, &f);
		CHECK(f.sym && !strcmp(f.sym, "_stext") && f.offset == 0x1000 &&
		      f.addr == 0xffffffff81001000 && !strcmp(f.module, "[kernel]"));
		kt_stacks_kernel_frame(ks, 0xffffffff81001000, 0, &f);
		CHECK(f.sym && !strcmp(f.sym, "do_thing") && f.offset == 0);
		kt_stacks_kernel_frame(ks, 0xffffffffc0001008, 3, &f);
		CHECK(f.sym && !strcmp(f.sym, "mod_fn") && f.offset == 8 && !strcmp(f.module, "kvm"));
		kt_stacks_kernel_frame(ks, 0x1000, 2, &f);
		CHECK(!f.sym && f.offset == 0x1000 && f.addr == 0x1000);
	}
	CHECK(kt_stacks_tracing_frame("bpf_prog_1234_handler"));
	CHECK(kt_stacks_tracing_frame("__traceiter_sched_switch"));
	CHECK(!kt_stacks_tracing_frame("schedule"));
	kt_ksyms_free(ks);

	/* out of address order (a module's symbols are in its own order): sorted on load */
	CHECK(write_file(p, "ffffffffc0002000 t mod_b\t[m]\n"
			    "ffffffff81001000 t local_alias\n"
			    "ffffffffc0001000 t mod_a\t[m]\n"
			    "ffffffff81001000 T global_fn\n"
			    "ffffffff81000000 T first\n"
			    "ffffffffc0003000 t mod_c\t[m]\n") == 0);
	CHECK(kt_ksyms_load(p, &ks) == 0);
	CHECK(kt_ksyms_count(ks) == 5);
	s = kt_ksyms_lookup(ks, 0xffffffff81000800, &off);
	CHECK(s && !strcmp(s->name, "first") && off == 0x800);
	s = kt_ksyms_lookup(ks, 0xffffffff81001004, &off);
	CHECK(s && !strcmp(s->name, "global_fn") && off == 4); /* the global one of the aliases */
	s = kt_ksyms_lookup(ks, 0xffffffffc0001010, &off);
	CHECK(s && !strcmp(s->name, "mod_a") && off == 0x10);
	s = kt_ksyms_lookup(ks, 0xffffffffc0002fff, &off);
	CHECK(s && !strcmp(s->name, "mod_b"));
	s = kt_ksyms_lookup(ks, 0xffffffffc0003000, &off);
	CHECK(s && !strcmp(s->name, "mod_c") && off == 0);
	kt_ksyms_free(ks);

	/* kptr_restrict: everything reads as zero */
	CHECK(write_file(p, "0000000000000000 T _stext\n"
			    "0000000000000000 T do_thing\n"
			    "0000000000000000 t mod_fn\t[kvm]\n") == 0);
	CHECK(kt_ksyms_load(p, &ks) == 0);
	CHECK(kt_ksyms_restricted(ks));
	CHECK(kt_ksyms_count(ks) == 0);
	CHECK(kt_ksyms_lookup(ks, 0xffffffff81000010, &off) == NULL);
	kt_ksyms_free(ks);

	CHECK(write_file(p, "") == 0);
	CHECK(kt_ksyms_load(p, &ks) == 0);
	CHECK(!kt_ksyms_restricted(ks) && kt_ksyms_count(ks) == 0);
	kt_ksyms_free(ks);
	unlink(p);
	CHECK(kt_ksyms_load(p, &ks) == -ENOENT);
	kt_ksyms_free(NULL);

	/* the real one, if readable: the table is not empty, or restricted */
	if (!kt_ksyms_load(NULL, &ks)) {
		CHECK(kt_ksyms_restricted(ks) || kt_ksyms_count(ks) > 1000);
		kt_ksyms_free(ks);
	}
}

static struct kt_usyms *new_usyms(void)
{
	struct kt_usyms_opts o = {.tmp_dir = tmpdir, .debug_dir = path2(tmpdir, "debugroot")};
	struct kt_usyms *us = NULL;

	CHECK(kt_usyms_new(&o, &us) == 0);
	return us;
}

static void test_binaries(void)
{
	static const char *const exes[] = {"ktfix_nopie", "ktfix_pie", "ktfix_stripped"};
	struct kt_usyms *us = new_usyms();
	struct child c;
	size_t i;

	for (i = 0; i < sizeof(exes) / sizeof(exes[0]); i++) {
		CHECK(start(&c, path2(fixdir, exes[i]), PLAIN, NULL) == 0);
		CHECK(c.nfn == 4);
		check_child(us, &c, exes[i]);
		stop(&c);
	}
	kt_usyms_free(us);
}

/* Debug files found by build-id only, and by debuglink in the .debug/ subdirectory. */
static void test_debug_dirs(void)
{
	char dir[4096], sub[4096];
	struct kt_elf *e = NULL;
	struct kt_usyms *us;
	struct child c;
	char hex[41];
	int i;

	CHECK(kt_elf_open(path2(fixdir, "ktfix_nolink"), &e) == 0);
	if (!e || e->build_id_len != 20)
		return;
	for (i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", e->build_id[i]);
	kt_elf_free(e);
	snprintf(dir, sizeof(dir), "%s/debugroot/.build-id/%.2s", tmpdir, hex);
	CHECK(mkdir(path2(tmpdir, "debugroot"), 0755) == 0);
	CHECK(mkdir(path2(tmpdir, "debugroot/.build-id"), 0755) == 0);
	CHECK(mkdir(dir, 0755) == 0);
	snprintf(sub, sizeof(sub), "%s.debug", hex + 2);
	CHECK(copy_file(path2(fixdir, "ktfix_stripped.debug"), path2(dir, sub)) == 0);
	us = new_usyms();
	CHECK(start(&c, path2(fixdir, "ktfix_nolink"), PLAIN, NULL) == 0);
	check_child(us, &c, "build-id");
	stop(&c);
	kt_usyms_free(us);
	unlink(path2(dir, sub));
	rmdir(dir);
	rmdir(path2(tmpdir, "debugroot/.build-id"));
	rmdir(path2(tmpdir, "debugroot"));

	snprintf(dir, sizeof(dir), "%s/sub", tmpdir);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(mkdir(path2(dir, ".debug"), 0755) == 0);
	CHECK(copy_file(path2(fixdir, "ktfix_stripped"), path2(dir, "ktfix_stripped")) == 0);
	CHECK(copy_file(path2(fixdir, "libktfixlib.so"), path2(dir, "libktfixlib.so")) == 0);
	CHECK(copy_file(path2(fixdir, "ktfix_stripped.debug"),
			path2(dir, ".debug/ktfix_stripped.debug")) == 0);
	us = new_usyms();
	CHECK(start(&c, path2(dir, "ktfix_stripped"), PLAIN, NULL) == 0);
	check_child(us, &c, ".debug dir");
	stop(&c);
	kt_usyms_free(us);
	unlink(path2(dir, ".debug/ktfix_stripped.debug"));
	rmdir(path2(dir, ".debug"));
	unlink(path2(dir, "ktfix_stripped"));
	unlink(path2(dir, "libktfixlib.so"));
	rmdir(dir);
}

static void test_exited(void)
{
	struct kt_usyms *us = new_usyms();
	struct kt_frame fr;
	struct child c;

	CHECK(start(&c, path2(fixdir, "ktfix_pie"), PLAIN, NULL) == 0);
	CHECK(kt_usyms_add_pid(us, c.pid) == 0);
	CHECK(kt_usyms_add_pid(us, c.pid) == 0); /* idempotent */
	kill(c.pid, SIGKILL);
	stop(&c);
	check_child(us, &c, "exited");
	kt_usyms_free(us);

	/* never seen and gone: nothing to say, but no crash */
	us = new_usyms();
	CHECK(kt_usyms_resolve(us, c.pid, c.fn[0].addr, &fr) == -ENOENT);
	CHECK(fr.sym == NULL && fr.addr == c.fn[0].addr);
	CHECK(kt_usyms_add_pid(us, -1) == -EINVAL);
	kt_usyms_free(us);
	kt_usyms_free(NULL);
}

/*
 * A pid that exec()s: kt_usyms_refresh_pid() reads the new image. The exec is
 * staged with a proc directory whose PID entry is a symbolic link, first to
 * one process (a PIE), then to another (a non-PIE program).
 */
static void test_refresh(void)
{
	struct kt_usyms_opts o = { .tmp_dir = tmpdir, .debug_dir = path2(tmpdir, "debugroot") };
	char procdir[1024], entry[4096], target[64];
	struct kt_usyms *us = NULL;
	struct child a, b, b_as_a;
	struct kt_frame before, fr;
	char *module_before;

	snprintf(procdir, sizeof(procdir), "%s/proc", tmpdir);
	CHECK(mkdir(procdir, 0700) == 0);
	o.proc_dir = procdir;
	CHECK(kt_usyms_new(&o, &us) == 0);
	CHECK(start(&a, path2(fixdir, "ktfix_pie"), PLAIN, NULL) == 0);
	CHECK(start(&b, path2(fixdir, "ktfix_nopie"), PLAIN, NULL) == 0);
	snprintf(entry, sizeof(entry), "%s/%d", procdir, a.pid);
	snprintf(target, sizeof(target), "/proc/%d", a.pid);
	CHECK(symlink(target, entry) == 0);
	CHECK(kt_usyms_add_pid(us, a.pid) == 0);
	CHECK(kt_usyms_resolve(us, a.pid, a.fn[0].addr, &before) == 0);
	CHECK(before.sym && !strcmp(before.sym, a.fn[0].name));
	module_before = before.module ? strdup(before.module) : NULL;
	/* spend the one re-read a miss gets, so only the explicit refresh can help */
	CHECK(kt_usyms_resolve(us, a.pid, 1, &fr) != 0);

	/* "exec": the same pid now shows b's image */
	CHECK(unlink(entry) == 0);
	snprintf(target, sizeof(target), "/proc/%d", b.pid);
	CHECK(symlink(target, entry) == 0);
	CHECK(kt_usyms_refresh_pid(us, a.pid) == 0);
	b_as_a = b;
	b_as_a.pid = a.pid;
	check_child(us, &b_as_a, "after a refresh");
	/* what was handed out before still reads (ASan would catch a free) */
	CHECK(module_before && before.module && !strcmp(before.module, module_before));
	free(module_before);
	CHECK(kt_usyms_refresh_pid(us, -1) == -EINVAL);

	unlink(entry);
	rmdir(procdir);
	kt_usyms_free(us);
	stop(&b); /* first: b holds a copy of a's stdin pipe */
	stop(&a);
}

static void test_perfmap(void)
{
	struct kt_usyms *us = new_usyms();
	struct kt_frame fr;
	struct child c;
	char name[64];

	CHECK(start(&c, path2(fixdir, "ktfix_nopie"), PLAIN, NULL) == 0);
	snprintf(name, sizeof(name), "perf-%d.map", c.pid);
	CHECK(write_file(path2(tmpdir, name), "20000000 100 jit_one\n"
					      "0x20000100 80 LJava/lang/Object;::hashCode (x)\n"
					      "bogus line\n"
					      "20000200 0 zero_size\n"
					      "20000300 40 old_name\n"
					      "20000300 40 new_name\n") == 0);
	CHECK(kt_usyms_resolve(us, c.pid, 0x20000010, &fr) == 0);
	CHECK(fr.sym && !strcmp(fr.sym, "jit_one") && fr.offset == 0x10);
	CHECK(kt_usyms_resolve(us, c.pid, 0x20000150, &fr) == 0);
	CHECK(fr.sym && !strcmp(fr.sym, "LJava/lang/Object;::hashCode (x)") && fr.offset == 0x50);
	CHECK(kt_usyms_resolve(us, c.pid, 0x20000190, &fr) == -ENOENT && !fr.sym);
	CHECK(kt_usyms_resolve(us, c.pid, 0x20000200, &fr) == -ENOENT);
	CHECK(kt_usyms_resolve(us, c.pid, 0x20000301, &fr) == 0);
	CHECK(fr.sym && !strcmp(fr.sym, "new_name"));
	/* the JIT appends: new symbols are picked up */
	CHECK(write_file(path2(tmpdir, name), "20000000 100 jit_one\n"
					      "20001000 100 jit_later\n") == 0);
	CHECK(kt_usyms_resolve(us, c.pid, 0x20001001, &fr) == 0);
	CHECK(fr.sym && !strcmp(fr.sym, "jit_later"));
	kt_usyms_free(us);

	/* a perf map that is a symlink, or owned by another user, is not read */
	if (geteuid() == 0) {
		us = new_usyms();
		CHECK(chown(path2(tmpdir, name), 12345, 12345) == 0);
		CHECK(kt_usyms_resolve(us, c.pid, 0x20000010, &fr) == -ENOENT);
		kt_usyms_free(us);
	}
	/* a size bomb: 100 MB, mostly a hole. Read up to the cap, and the cut is counted */
	{
		struct kt_usyms_stats stats;
		int fd;

		unlink(path2(tmpdir, name)); /* owned by another user above */
		CHECK(write_file(path2(tmpdir, name), "20000000 100 jit_one\n") == 0);
		fd = open(path2(tmpdir, name), O_WRONLY);
		CHECK(fd >= 0 && ftruncate(fd, 100 << 20) == 0);
		close(fd);
		us = new_usyms();
		CHECK(kt_usyms_resolve(us, c.pid, 0x20000010, &fr) == 0);
		CHECK(fr.sym && !strcmp(fr.sym, "jit_one"));
		kt_usyms_stats(us, &stats);
		CHECK(stats.perfmaps_truncated == 1 && stats.last_truncated_pid == c.pid);
		kt_usyms_free(us);
	}
	CHECK(rename(path2(tmpdir, name), path2(tmpdir, "target")) == 0);
	CHECK(symlink(path2(tmpdir, "target"), path2(tmpdir, name)) == 0);
	us = new_usyms();
	CHECK(kt_usyms_resolve(us, c.pid, 0x20000010, &fr) == -ENOENT);
	kt_usyms_free(us);
	unlink(path2(tmpdir, name));
	unlink(path2(tmpdir, "target"));
	stop(&c);
}

/*
 * A pid reused by another process: kt_usyms_add_pid() notices the new start
 * time and reads the new process, instead of naming its addresses with the
 * old one's symbols. Staged like test_refresh, with a proc directory whose
 * PID entry points first to one process, then to another.
 */
static void test_pid_reuse(void)
{
	struct kt_usyms_opts o = { .tmp_dir = tmpdir, .debug_dir = path2(tmpdir, "debugroot") };
	char procdir[1024], entry[4096], target[64];
	struct kt_usyms *us = NULL;
	struct child a, b, b_as_a;
	struct kt_usyms_stats stats;
	struct kt_frame fr;

	snprintf(procdir, sizeof(procdir), "%s/proc", tmpdir);
	CHECK(mkdir(procdir, 0700) == 0);
	o.proc_dir = procdir;
	CHECK(kt_usyms_new(&o, &us) == 0);
	CHECK(start(&a, path2(fixdir, "ktfix_pie"), PLAIN, NULL) == 0);
	usleep(30 * 1000); /* start times count clock ticks (10 ms): b must start in a later one */
	CHECK(start(&b, path2(fixdir, "ktfix_nopie"), PLAIN, NULL) == 0);
	snprintf(entry, sizeof(entry), "%s/%d", procdir, a.pid);
	snprintf(target, sizeof(target), "/proc/%d", a.pid);
	CHECK(symlink(target, entry) == 0);
	CHECK(kt_usyms_add_pid(us, a.pid) == 0);
	check_child(us, &a, "before the pid is reused");
	/* spend the one re-read a miss gets: only the start time can tell */
	CHECK(kt_usyms_resolve(us, a.pid, 1, &fr) != 0);

	/* a exits, b gets its pid: the start time differs */
	CHECK(unlink(entry) == 0);
	snprintf(target, sizeof(target), "/proc/%d", b.pid);
	CHECK(symlink(target, entry) == 0);
	CHECK(kt_usyms_add_pid(us, a.pid) == 0);
	b_as_a = b;
	b_as_a.pid = a.pid;
	check_child(us, &b_as_a, "after the pid is reused");
	kt_usyms_stats(us, &stats);
	CHECK(stats.pids_reused == 1);
	/* trimming frees the old process's snapshot, never the current one */
	kt_usyms_trim(us);
	check_child(us, &b_as_a, "after the pid is reused and a trim");
	/* the same process announced again is not read again */
	CHECK(kt_usyms_add_pid(us, a.pid) == 0);
	kt_usyms_stats(us, &stats);
	CHECK(stats.pids_reused == 1);

	unlink(entry);
	rmdir(procdir);
	kt_usyms_free(us);
	stop(&b);
	stop(&a);
}

/*
 * The caches are bounded: with room for 2 processes, a third evicts the
 * least recently used (a live one resolves again on its next lookup); with
 * a files budget of 1 byte, only the first file is parsed, the next are
 * counted as skipped; kt_usyms_trim() frees what was evicted.
 */
static void test_budget(void)
{
	struct kt_usyms_opts o = { .tmp_dir = tmpdir, .debug_dir = path2(tmpdir, "debugroot"),
				   .max_procs = 2 };
	struct kt_usyms_stats stats;
	struct kt_usyms *us = NULL;
	struct child c[3];
	int i;

	CHECK(kt_usyms_new(&o, &us) == 0);
	for (i = 0; i < 3; i++)
		CHECK(start(&c[i], path2(fixdir, "ktfix_pie"), PLAIN, NULL) == 0);
	for (i = 0; i < 3; i++)
		CHECK(kt_usyms_add_pid(us, c[i].pid) == 0);
	kt_usyms_stats(us, &stats);
	CHECK(stats.procs_evicted >= 1, "%llu evicted", (unsigned long long)stats.procs_evicted);
	for (i = 0; i < 3; i++)
		check_child(us, &c[i], "after an eviction");
	kt_usyms_trim(us);
	kt_usyms_free(us);

	o.max_procs = 0;
	o.max_files_mem = 1;
	CHECK(kt_usyms_new(&o, &us) == 0);
	CHECK(kt_usyms_add_pid(us, c[0].pid) == 0);
	kt_usyms_stats(us, &stats);
	/* ktfix_pie is parsed; libktfixlib.so, libc and ld.so are over the budget */
	CHECK(stats.files_skipped >= 1, "%llu skipped", (unsigned long long)stats.files_skipped);
	kt_usyms_free(us);
	for (i = 2; i >= 0; i--)
		stop(&c[i]);
}

/* mkdir -p */
static void mkdirs(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(buf, 0755);
		*s = '/';
	}
	mkdir(buf, 0755);
}

/*
 * #21: a stripped binary in a chroot whose build-id debug file is a symlink
 * to a host file is not symbolized from the host file (the link is resolved
 * inside the chroot, where its target does not exist), with openat2() and
 * with the walk of older kernels; a real debug file inside the chroot is
 * used, and so is a link that stays inside it.
 */
static void test_chroot_debug(void)
{
	char root[1024], dir[2048], file[2200], host[1024], hex[41];
	struct kt_elf *e = NULL;
	struct kt_usyms *us;
	struct kt_frame fr;
	struct child c;
	int i, walk, err;

	CHECK(kt_elf_open(path2(fixdir, "ktfix_static_nolink"), &e) == 0);
	if (!e || e->build_id_len != 20) {
		kt_elf_free(e);
		return;
	}
	for (i = 0; i < 20; i++)
		snprintf(hex + 2 * i, 3, "%02x", e->build_id[i]);
	kt_elf_free(e);
	snprintf(root, sizeof(root), "%s/chroot2", tmpdir);
	/* the host copy of the debug file, outside the chroot */
	snprintf(host, sizeof(host), "%s/host.debug", tmpdir);
	CHECK(copy_file(path2(fixdir, "ktfix_static.debug"), host) == 0);
	/* the debug directory new_usyms() names, as seen inside the chroot */
	snprintf(dir, sizeof(dir), "%s%s/debugroot/.build-id/%.2s", root, tmpdir, hex);
	mkdirs(dir);
	snprintf(file, sizeof(file), "%s/%s.debug", dir, hex + 2);
	CHECK(symlink(host, file) == 0);
	CHECK(copy_file(path2(fixdir, "ktfix_static_nolink"), path2(root, "ktfix")) == 0);
	err = start(&c, NULL, CHROOT, root);
	if (err == 77) {
		printf("skip: chroot debug test (chroot failed)\n");
		goto out;
	}
	CHECK(err == 0);
	for (walk = 0; walk < 2; walk++) {
		kt_rootfs_force_walk(walk);
		us = new_usyms();
		err = kt_usyms_resolve(us, c.pid, c.fn[0].addr, &fr);
		CHECK(err != 0 && !fr.sym, "walk %d: %s resolved to %s through a link to the host",
		      walk, c.fn[0].name, fr.sym ? fr.sym : "");
		kt_usyms_free(us);
	}
	/* a link that stays inside the chroot is followed */
	CHECK(copy_file(host, path2(root, "real.debug")) == 0);
	CHECK(unlink(file) == 0);
	CHECK(symlink("/real.debug", file) == 0);
	for (walk = 0; walk < 2; walk++) {
		kt_rootfs_force_walk(walk);
		us = new_usyms();
		check_child(us, &c, walk ? "chroot debug link (walk)" : "chroot debug link");
		kt_usyms_free(us);
	}
	/* and the real file in place */
	CHECK(unlink(file) == 0);
	CHECK(rename(path2(root, "real.debug"), file) == 0);
	us = new_usyms();
	check_child(us, &c, "chroot debug file");
	kt_usyms_free(us);
	kt_rootfs_force_walk(false);
	stop(&c);
out:
	unlink(file);
	unlink(host);
	unlink(path2(root, "ktfix"));
	unlink(path2(root, "real.debug"));
	/* remove the directories made above, deepest first */
	snprintf(dir, sizeof(dir), "%s%s/debugroot/.build-id/%.2s", root, tmpdir, hex);
	while (strlen(dir) > strlen(root) && !rmdir(dir))
		*strrchr(dir, '/') = '\0';
	rmdir(root);
}

/* A static binary in a chroot, with its perf map in the chroot's /tmp. */
static void test_chroot(void)
{
	char root[4096], name[64];
	struct kt_usyms *us;
	struct kt_frame fr;
	struct child c;
	int err;

	snprintf(root, sizeof(root), "%s/chroot", tmpdir);
	CHECK(mkdir(root, 0755) == 0);
	CHECK(mkdir(path2(root, "tmp"), 01777) == 0);
	CHECK(copy_file(path2(fixdir, "ktfix_static"), path2(root, "ktfix")) == 0);
	err = start(&c, NULL, CHROOT, root);
	if (err == 77) {
		printf("skip: chroot test (chroot failed)\n");
	} else {
		CHECK(err == 0);
		/* the host has no /ktfix: only /proc/PID/root can find it */
		CHECK(access("/ktfix", F_OK) != 0);
		snprintf(name, sizeof(name), "tmp/perf-%d.map", c.pid);
		CHECK(write_file(path2(root, name), "30000000 10 jit_in_chroot\n") == 0);
		us = new_usyms();
		check_child(us, &c, "chroot");
		CHECK(kt_usyms_resolve(us, c.pid, 0x30000004, &fr) == 0);
		CHECK(fr.sym && !strcmp(fr.sym, "jit_in_chroot"));
		kt_usyms_free(us);
		stop(&c);
		unlink(path2(root, name));
	}
	unlink(path2(root, "ktfix"));
	rmdir(path2(root, "tmp"));
	rmdir(root);
}

/* A binary on a tmpfs mounted only in the process's private mount namespace. */
static void test_mountns(void)
{
	char dir[4096];
	struct kt_usyms *us;
	struct child c;
	int err;

	snprintf(dir, sizeof(dir), "%s/ns", tmpdir);
	CHECK(mkdir(dir, 0755) == 0);
	err = start(&c, path2(fixdir, "ktfix_static"), MOUNTNS, dir);
	if (err == 77) {
		printf("skip: mount namespace test (unshare or mount failed)\n");
	} else {
		CHECK(err == 0);
		CHECK(access(path2(dir, "ktfix"), F_OK) != 0);
		us = new_usyms();
		check_child(us, &c, "mount namespace");
		kt_usyms_free(us);
		stop(&c);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
		return 2;
	}
	fixdir = argv[1];
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_ksyms();
	test_binaries();
	test_debug_dirs();
	test_exited();
	test_refresh();
	test_pid_reuse();
	test_budget();
	test_perfmap();
	if (geteuid() == 0) {
		test_chroot();
		test_chroot_debug();
		test_mountns();
	} else {
		printf("skip: chroot and mount namespace tests need root\n");
	}
	rmdir(tmpdir);
	if (kt_test_failed) {
		fprintf(stderr, "%d check(s) failed\n", kt_test_failed);
		return 1;
	}
	printf("all symbolization tests passed\n");
	return 0;
}
