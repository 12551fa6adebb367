// SPDX-License-Identifier: GPL-2.0
/*
 * writeback: dirty-page throttling of writers, and the writeback work that
 * cleans the pages, per device and reason.
 *
 * Throttling: balance_dirty_pages fires in the writing task each time it is
 * made to pause (and with pause <= 0 when it is let through; those are not
 * counted). Its raw arguments changed completely (see bdp_old/bdp_new) and
 * the pause is in jiffies there, so the classic tracepoint comes first: its
 * record has bdi, limit, dirty and pause (in ms) under the same names on
 * every kernel since 4.x (5.10 calls wb_dirty/wb_setpoint
 * bdi_dirty/bdi_setpoint; neither is read). tp_btf and raw_tp follow, for
 * users who cannot read tracefs, where the layout and HZ are known.
 * Work: writeback_start/writeback_written bracket one wb_writeback() run in
 * a flusher kworker; both have had (struct bdi_writeback *, struct
 * wb_writeback_work *) since 4.x, and their trace record (name, nr_pages,
 * reason) is the same on 5.10 and 6.x. Pages written are the drop in
 * work->nr_pages between them. The in-flight table is keyed by thread
 * (the run does not migrate between threads) and each written deletes its
 * entry; written is attached before start.
 * Filters apply to the throttled writer; writeback work belongs to no
 * writer. Cost: one hash update per pause (a pause is milliseconds long)
 * and per writeback run.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kt.bpf.h"
#include "writeback.h"

/* 4096 flusher threads in flight at most (about 100 KB), each deleted by its end. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct wb_start);
} starts SEC(".maps");

/* Per process and bdi: 8192 rows (about 4.8 MB), drained each interval. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct wb_throttle_key);
	__type(value, struct wb_throttle_val);
} throttles SEC(".maps");

/* Per bdi and reason: 1024 rows (about 100 KB). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct wb_work_key);
	__type(value, struct wb_work_val);
} works SEC(".maps");

/* Pauses or runs that could not be counted: a table was full. */
KT_DEFINE_PERCPU_U64(misses);

static __always_inline void count_miss(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&misses, &zero);

	if (n)
		*n += 1;
}

/* The kernel's HZ (user space reads it from the kernel's config), for the raw arguments in jiffies. */
const volatile __u32 cfg_hz = 0;

static __always_inline void bdi_name(struct bdi_writeback *wb, char *buf);

/* One pause of the current task: pause_ms > 0, bdi the device's name. */
static __always_inline int throttled(const char *bdi, long pause_ms, __u64 dirty, __u64 limit)
{
	static const struct wb_throttle_val zero;
	struct wb_throttle_key key = { .pid = bpf_get_current_pid_tgid() >> 32 };
	struct wb_throttle_val *v;
	long pause = pause_ms;

	if (pause <= 0 || !kt_filter_current())
		return 0;
	__builtin_memcpy(key.bdi, bdi, WB_NAME_LEN);
	v = bpf_map_lookup_elem(&throttles, &key);
	if (!v) {
		bpf_map_update_elem(&throttles, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&throttles, &key);
		if (!v) {
			count_miss();
			return 0;
		}
	}
	bpf_get_current_comm(v->comm, sizeof(v->comm));
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total_ms, pause);
	if ((__u64)pause > v->max_ms)
		v->max_ms = pause;
	v->dirty = dirty;
	v->limit = limit;
	kt_slot_add(&v->slots, kt_log2(pause), 1);
	return 0;
}

SEC("tracepoint/writeback/balance_dirty_pages")
int bdp_tp(struct trace_event_raw_balance_dirty_pages *ctx)
{
	char bdi[WB_NAME_LEN] = {};

	BPF_CORE_READ_STR_INTO(&bdi, ctx, bdi);
	return throttled(bdi, BPF_CORE_READ(ctx, pause), BPF_CORE_READ(ctx, dirty),
			 BPF_CORE_READ(ctx, limit));
}

/*
 * The raw arguments, two layouts (user space picks the program by the
 * number of arguments in this kernel's BTF, and needs HZ):
 *  12 (5.10 and later 5.x/6.x): wb, thresh, bg_thresh, dirty, bdi_thresh,
 *     bdi_dirty, dirty_ratelimit, task_ratelimit, dirtied, period, pause,
 *     start_time; the limit shown is thresh;
 *  8 (newer 6.x): wb, dirty_throttle_control *dtc, dirty_ratelimit,
 *     task_ratelimit, dirtied, period, pause, start_time; dirty and limit
 *     are dtc->dirty and dtc->dom->dirty_limit.
 * pause is in jiffies: ms = pause * 1000 / HZ, as the trace record does.
 */
/* BPF has no signed division: a pause <= 0 stays 0 (not counted) */
static __always_inline long jiffies_ms(long j)
{
	return j > 0 ? (long)((__u64)j * 1000 / cfg_hz) : 0;
}

static __always_inline int bdp_old(__u64 *ctx)
{
	char bdi[WB_NAME_LEN] = {};

	if (!cfg_hz)
		return 0;
	bdi_name((struct bdi_writeback *)ctx[0], bdi);
	return throttled(bdi, jiffies_ms((long)ctx[10]), ctx[3], ctx[1]);
}

static __always_inline int bdp_new(__u64 *ctx)
{
	struct dirty_throttle_control *dtc = (struct dirty_throttle_control *)ctx[1];
	char bdi[WB_NAME_LEN] = {};

	if (!cfg_hz)
		return 0;
	bdi_name((struct bdi_writeback *)ctx[0], bdi);
	return throttled(bdi, jiffies_ms((long)ctx[6]), BPF_CORE_READ(dtc, dirty),
			 BPF_CORE_READ(dtc, dom, dirty_limit));
}

SEC("tp_btf/balance_dirty_pages")
int bdp_btf_new(__u64 *ctx)
{
	return bdp_new(ctx);
}

SEC("tp_btf/balance_dirty_pages")
int bdp_btf_old(__u64 *ctx)
{
	return bdp_old(ctx);
}

SEC("raw_tp/balance_dirty_pages")
int bdp_raw_new(__u64 *ctx)
{
	return bdp_new(ctx);
}

SEC("raw_tp/balance_dirty_pages")
int bdp_raw_old(__u64 *ctx)
{
	return bdp_old(ctx);
}

static __always_inline int work_start(long nr_pages)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct wb_start s = { .ts = bpf_ktime_get_ns(), .nr_pages = nr_pages };

	if (bpf_map_update_elem(&starts, &tid, &s, BPF_ANY))
		count_miss();
	return 0;
}

static __always_inline int work_end(const char *bdi, long nr_pages, __u32 reason)
{
	static const struct wb_work_val zero;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct wb_work_key key = { .reason = reason };
	struct wb_start *s = bpf_map_lookup_elem(&starts, &tid);
	struct wb_work_val *v;
	__u64 delta, pages;

	if (!s)
		return 0;
	delta = bpf_ktime_get_ns() - s->ts;
	pages = s->nr_pages > nr_pages ? s->nr_pages - nr_pages : 0;
	bpf_map_delete_elem(&starts, &tid);
	if ((__s64)delta < 0)
		return 0;
	__builtin_memcpy(key.bdi, bdi, WB_NAME_LEN);
	v = bpf_map_lookup_elem(&works, &key);
	if (!v) {
		bpf_map_update_elem(&works, &key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&works, &key);
		if (!v) {
			count_miss();
			return 0;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->pages, pages);
	__sync_fetch_and_add(&v->total_ns, delta);
	if (delta > v->max_ns)
		v->max_ns = delta;
	return 0;
}

/* The bdi's name as the tracepoints print it (bdi_dev_name: dev_name, "MAJ:MIN"). */
static __always_inline void bdi_name(struct bdi_writeback *wb, char *buf)
{
	struct backing_dev_info *bdi = BPF_CORE_READ(wb, bdi);

	/* dev_name is there since 5.7 (before, the name was only dev's) */
	if (bpf_core_field_exists(bdi->dev_name) && bdi && BPF_CORE_READ(bdi, dev))
		bpf_probe_read_kernel_str(buf, WB_NAME_LEN, &bdi->dev_name);
	else
		__builtin_memcpy(buf, "(unknown)", 10);
}

static __always_inline int end_btf(struct bdi_writeback *wb, struct wb_writeback_work *work)
{
	char name[WB_NAME_LEN] = {};

	bdi_name(wb, name);
	return work_end(name, BPF_CORE_READ(work, nr_pages), BPF_CORE_READ(work, reason));
}

/* writeback_start/written(struct bdi_writeback *wb, struct wb_writeback_work *work) */
KT_TP_BOTH(writeback_start, start)
{
	return work_start(BPF_CORE_READ((struct wb_writeback_work *)ctx[1], nr_pages));
}

SEC("tracepoint/writeback/writeback_start")
int start_tp(struct trace_event_raw_writeback_work_class *ctx)
{
	return work_start(BPF_CORE_READ(ctx, nr_pages));
}

KT_TP_BOTH(writeback_written, written)
{
	return end_btf((struct bdi_writeback *)ctx[0], (struct wb_writeback_work *)ctx[1]);
}

SEC("tracepoint/writeback/writeback_written")
int written_tp(struct trace_event_raw_writeback_work_class *ctx)
{
	char name[WB_NAME_LEN] = {};

	BPF_CORE_READ_STR_INTO(&name, ctx, name);
	return work_end(name, BPF_CORE_READ(ctx, nr_pages), BPF_CORE_READ(ctx, reason));
}

char LICENSE[] SEC("license") = "GPL";
