# writeback: with vm.dirty_bytes at 4 MiB a buffered 64 MiB write to
# null_blk is throttled in balance_dirty_pages (the tracepoint whose raw
# arguments changed between 5.10 and 6.x: ktrace reads its trace record),
# and `sync` after a write to an ext2 file system (on a loop device over a
# tmpfs file) makes the flusher write back with reason "sync"
# (writeback_start/written: the same arguments on 5.10 and 6.x). sync(2)
# writes a raw block device's page cache itself, without flusher work.
. /tests/lib.sh
need_cmd writeback
[ -e /dev/loop-control ] || skip "no loop driver in this guest"
need_disk nullb0

old=$(cat /proc/sys/vm/dirty_bytes)
oldr=$(cat /proc/sys/vm/dirty_ratio)
mnt=$T/mnt
dev=""
cleanup() {
	if [ "$old" = 0 ]; then echo "$oldr" >/proc/sys/vm/dirty_ratio; else echo "$old" >/proc/sys/vm/dirty_bytes; fi
	umount $mnt 2>/dev/null
	[ -n "$dev" ] && losetup -d $dev 2>/dev/null
	rm -f $T/img
}
trap cleanup EXIT

dd if=/dev/zero of=$T/img bs=1M count=64 2>/dev/null
dev=$(losetup -f) && losetup $dev $T/img || skip "no free loop device"
mke2fs -q $dev >$T/mkfs.out 2>&1 || { show $T/mkfs.out; fail "mke2fs $dev failed"; }
mkdir -p $mnt
mount -t ext2 $dev $mnt 2>$T/mount.err || { show $T/mount.err; skip "cannot mount ext2 here"; }

# rows FILE TABLE: "COMM PAUSES TOTAL_MS" (throttled) or "REASON RUNS PAGES" (writeback) per row
rows() {
	jflat "$1" | awk -F '\t' -v want="$2" '
		$2 == ".name" { name[$1] = $3 }
		$2 ~ /^\.rows\[[0-9]+\]\.[a-z_]+$/ {
			r = $2; sub(/\.[a-z_]+$/, "", r); f = $2; sub(/^.*\./, "", f)
			v[$1 SUBSEP r SUBSEP f] = $3; rows[$1 SUBSEP r] = 1
		}
		END {
			for (k in rows) {
				split(k, a, SUBSEP)
				if (name[a[1]] != want) continue
				if (want == "throttled") print v[k SUBSEP "comm"], v[k SUBSEP "pauses"], v[k SUBSEP "total_ms"]
				else print v[k SUBSEP "reason"], v[k SUBSEP "runs"], v[k SUBSEP "pages"]
			}
		}'
}

for at in tp_btf tracepoint; do
	sync
	# the work hooks forced; balance_dirty_pages takes its tracepoint (a guest has no
	# kernel config, so no HZ for the raw forms: check says so)
	KT_ENV=KTRACE_ATTACH=writeback_start=$at,writeback_written=$at kt_start $T/out.$at.json writeback -j
	echo $((4 << 20)) >/proc/sys/vm/dirty_bytes
	# throttling shows on null_blk's page cache (writeback to the loop device over
	# tmpfs keeps up, so dd is never paused there)
	dd if=/dev/zero of=/dev/nullb0 bs=1M count=64 2>/dev/null
	if [ "$old" = 0 ]; then echo "$oldr" >/proc/sys/vm/dirty_ratio; else echo "$old" >/proc/sys/vm/dirty_bytes; fi
	dd if=/dev/zero of=$mnt/small bs=1M count=2 2>/dev/null
	sync
	sleep 0.3
	kt_stop
	rm -f $mnt/small
	[ $KT_RC = 0 ] || { show $T/out.$at.json $T/out.$at.json.err; fail "[$at] ktrace writeback exited with $KT_RC"; }
	json_ok $T/out.$at.json
	note "[$at] attach: $(meta_attach $T/out.$at.json | tr '\n' ' ')"
	meta_attach $T/out.$at.json | grep -q "^writeback_written $at\$" || fail "[$at] writeback_written not attached with $at"
	rows $T/out.$at.json throttled >$T/thr
	rows $T/out.$at.json writeback >$T/wb
	note "[$at] throttled: $(tr '\n' ';' <$T/thr) writeback: $(tr '\n' ';' <$T/wb)"
	# balance_dirty_pages takes its tracepoint in both runs; whether the second dd is
	# paused at all depends on the bandwidth the kernel learnt in the first (one
	# 5.10 run wrote it all back in the background): one run must show pauses
	grep -q '^dd [1-9]' $T/thr && paused=1
	grep -q '^sync [1-9][0-9]* [1-9]' $T/wb || { show $T/out.$at.json; fail "[$at] no writeback with reason sync"; }
done
[ -n "${paused:-}" ] || { show $T/out.tp_btf.json $T/out.tracepoint.json; fail "no throttling pause of dd in either run"; }
exit 0
