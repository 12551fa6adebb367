// SPDX-License-Identifier: GPL-2.0
/* Recording and replaying what the kernel handed a run: see tape.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tape.h"
#include "util.h"

#define MAGIC	 "KTTAPE1\n"
#define MAX_TAPE (1ULL << 30)

struct item_hdr {
	uint32_t type;
	uint32_t len;
	uint64_t time_ns;
};

static enum kt_tape_mode mode;
static FILE *out;
static unsigned char *tape;
static size_t tape_len, pos;
static bool complained;

enum kt_tape_mode kt_tape_mode(void)
{
	return mode;
}

void kt_tape_record(FILE *f)
{
	out = f;
	mode = KT_TAPE_RECORDING;
	fwrite(MAGIC, 1, sizeof(MAGIC) - 1, out);
}

void kt_tape_put2(enum kt_tape_item type, const void *a, size_t na, const void *b, size_t nb)
{
	struct item_hdr h = { .type = type, .len = (uint32_t)(na + nb), .time_ns = kt_now_mono() };

	if (mode != KT_TAPE_RECORDING || na + nb > UINT32_MAX)
		return;
	/* write errors are the file's (core/ofile.c keeps the first and fails the run) */
	fwrite(&h, sizeof(h), 1, out);
	if (na)
		fwrite(a, 1, na, out);
	if (nb)
		fwrite(b, 1, nb, out);
}

void kt_tape_put(enum kt_tape_item type, const void *p, size_t n)
{
	kt_tape_put2(type, p, n, NULL, 0);
}

int kt_tape_load(const char *path)
{
	struct stat st;
	size_t off;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = -errno;
		kt_err("cannot open the tape %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_TAPE) {
		kt_err("%s: not a tape (a regular file of at most 1 GiB written by --record)", path);
		close(fd);
		return -EINVAL;
	}
	tape_len = (size_t)st.st_size;
	tape = malloc(tape_len ? tape_len : 1);
	if (!tape) {
		close(fd);
		kt_err("cannot read the tape %s: out of memory", path);
		return -ENOMEM;
	}
	for (off = 0; off < tape_len;) {
		ssize_t r = read(fd, tape + off, tape_len - off);

		if (r <= 0) {
			err = r < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	if (err) {
		kt_err("cannot read the tape %s: %s", path, strerror(-err));
		kt_tape_unload();
		return err;
	}
	if (tape_len < sizeof(MAGIC) - 1 || memcmp(tape, MAGIC, sizeof(MAGIC) - 1)) {
		kt_err("%s: not a ktrace tape (it does not start with the mark --record writes)", path);
		kt_tape_unload();
		return -EINVAL;
	}
	/* every item must lie inside the file: check them all once, here */
	for (off = sizeof(MAGIC) - 1; off < tape_len;) {
		struct item_hdr h;

		if (tape_len - off < sizeof(h)) {
			err = -EINVAL;
			break;
		}
		memcpy(&h, tape + off, sizeof(h));
		if (!h.type || h.type > KT_TAPE_LAST || tape_len - off - sizeof(h) < h.len) {
			err = -EINVAL;
			break;
		}
		off += sizeof(h) + h.len;
	}
	if (err) {
		/* a run killed while writing leaves a cut last item: replay what is whole */
		kt_warn("%s: the tape is cut or damaged after byte %zu; replaying what comes before",
			path, off);
		tape_len = off;
	}
	pos = sizeof(MAGIC) - 1;
	mode = KT_TAPE_REPLAYING;
	return 0;
}

static bool next(struct item_hdr *h)
{
	if (mode != KT_TAPE_REPLAYING || !tape || tape_len - pos < sizeof(*h))
		return false;
	memcpy(h, tape + pos, sizeof(*h));
	return true;
}

enum kt_tape_item kt_tape_peek(void)
{
	struct item_hdr h;

	return next(&h) ? (enum kt_tape_item)h.type : 0;
}

const void *kt_tape_take(enum kt_tape_item type, size_t *n)
{
	struct item_hdr h;
	const void *p;

	*n = 0;
	if (!next(&h))
		return NULL;
	if (h.type != type) {
		if (!complained)
			kt_err("the tape does not match this replay: item %u where %u was expected "
			       "(recorded by another version of ktrace?)", h.type, type);
		complained = true;
		return NULL;
	}
	p = tape + pos + sizeof(h);
	pos += sizeof(h) + h.len;
	*n = h.len;
	kt_clock_pin(h.time_ns);
	return p;
}

uint64_t kt_tape_first_time(void)
{
	struct item_hdr h;

	if (!tape || tape_len < sizeof(MAGIC) - 1 + sizeof(h))
		return 0;
	memcpy(&h, tape + sizeof(MAGIC) - 1, sizeof(h));
	return h.time_ns;
}

void kt_tape_unload(void)
{
	free(tape);
	tape = NULL;
	tape_len = pos = 0;
}
