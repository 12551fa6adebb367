# memstall: a task over its memory cgroup's limit stalls in memcg reclaim
# (mm_vmscan_memcg_reclaim_begin/end; the same pair on 5.10 and 6.x, for
# cgroup v1 and v2) before the OOM killer takes it; the stall is reported
# for it, with its cgroup's path. Once per attach type the kernel offers
# (tp_btf, raw_tp, tracepoint: all three exist from 5.10 on).
. /tests/lib.sh
need_cmd memstall

cg=/sys/fs/cgroup/kt-memstall
echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
mkdir -p $cg
echo $((48 << 20)) >$cg/memory.max 2>/dev/null || skip "no memory controller in this guest"
echo 0 >$cg/memory.swap.max 2>/dev/null

# rows_for FILE: "COMM KIND MEMCG COUNT" per row of the processes tables
rows_for() {
	jflat "$1" | awk -F '\t' '
		$2 == ".name" { name[$1] = $3 }
		$2 ~ /^\.rows\[[0-9]+\]\.(comm|kind|memcg|count)$/ {
			r = $2; sub(/\.[a-z]+$/, "", r); f = $2; sub(/^.*\./, "", f)
			v[$1 SUBSEP r SUBSEP f] = $3; rows[$1 SUBSEP r] = 1
		}
		END {
			for (k in rows) {
				split(k, a, SUBSEP)
				if (name[a[1]] == "processes")
					print v[k SUBSEP "comm"], v[k SUBSEP "kind"], v[k SUBSEP "memcg"], v[k SUBSEP "count"]
			}
		}'
}

for at in tp_btf raw_tp tracepoint; do
	KT_ENV=KTRACE_ATTACH=$at kt_start $T/out.$at.json memstall -j
	sh -c 'echo $$ >/sys/fs/cgroup/kt-memstall/cgroup.procs && exec kt-hog 256' >$T/hog.out 2>&1 &
	hog=$!
	wait $hog
	sleep 0.3
	kt_stop
	[ $KT_RC = 0 ] || { show $T/out.$at.json $T/out.$at.json.err; fail "[$at] ktrace memstall exited with $KT_RC"; }
	json_ok $T/out.$at.json
	note "[$at] attach: $(meta_attach $T/out.$at.json | awk '{print $2}' | sort -u | tr '\n' ' ')"
	[ "$(meta_attach $T/out.$at.json | awk -v t=$at '$2 != t' | wc -l)" = 0 ] ||
		{ meta_attach $T/out.$at.json; fail "[$at] not every hook attached with $at"; }
	rows_for $T/out.$at.json >$T/rows
	note "[$at] rows: $(grep kt-hog $T/rows | tr '\n' ';')"
	grep -q '^kt-hog memcg_reclaim /kt-memstall [1-9]' $T/rows ||
		{ cat $T/rows; show $T/out.$at.json; fail "[$at] no memcg reclaim stall of kt-hog in /kt-memstall"; }
	[ "$(lines_with $T/out.$at.json 'compact_control')" -ge 1 ] || fail "[$at] meta has no kernel_notes"
done
rmdir $cg 2>/dev/null
exit 0
