# wq: buffered writes to null_blk and a sync wake the flusher: wb_workfn runs
# on the "writeback" workqueue, with a run time, through the default
# attachment (tp_btf where the kernel has it) and through forced raw_tp.
. /tests/lib.sh
need_cmd wq
need_disk nullb0

# wq_rows FILE: "FUNC WORKQUEUE COUNT RUN_TOTAL_NS" per row of the work tables
wq_rows() {
	jflat "$1" | awk -F '\t' '
		$2 ~ /^\.rows\[[0-9]+\]\.(func|workqueue|count|run_total_ns)$/ {
			r = $2; sub(/^\.rows\[/, "", r); sub(/\]\..*$/, "", r)
			f = $2; sub(/^.*\]\./, "", f)
			v[$1 SUBSEP r SUBSEP f] = $3; rows[$1 SUBSEP r] = 1
		}
		END {
			for (k in rows)
				print v[k SUBSEP "func"], v[k SUBSEP "workqueue"],
				      v[k SUBSEP "count"], v[k SUBSEP "run_total_ns"]
		}'
}

for mode in default raw_tp; do
	env=
	[ $mode = raw_tp ] && env=KTRACE_ATTACH=raw_tp
	KT_ENV=$env kt_start $T/$mode.json wq -j
	# fd 3 keeps the device open: the last close of a block device writes its
	# dirty pages itself (no flusher), so dd's close must not be the last
	exec 3</dev/nullb0
	dd if=/dev/zero of=/dev/nullb0 bs=64k count=32 2>/dev/null
	sync
	sleep 0.5
	exec 3<&-
	kt_stop
	[ $KT_RC = 0 ] || { show $T/$mode.json $T/$mode.json.err; fail "ktrace wq ($mode) exited with $KT_RC"; }
	json_ok $T/$mode.json
	note "$mode attach: $(meta_attach $T/$mode.json | tr '\n' ' ')"
	if [ $mode = raw_tp ]; then
		bad=$(meta_attach $T/$mode.json | awk '$2 != "raw_tp"' | tr '\n' ' ')
		[ -z "$bad" ] || fail "hooks not on raw_tp although forced: $bad"
	fi
	wq_rows $T/$mode.json >$T/$mode.rows
	note "$mode: $(wc -l <$T/$mode.rows) rows; $(grep '^wb_workfn ' $T/$mode.rows | tr '\n' ' ')"
	awk '$1 == "wb_workfn" && $2 == "writeback" && $3 >= 1 && $4 > 0 { ok = 1 } END { exit !ok }' \
		$T/$mode.rows || { show $T/$mode.rows; fail "wq ($mode): no wb_workfn run on writeback after dd + sync"; }
done
exit 0
