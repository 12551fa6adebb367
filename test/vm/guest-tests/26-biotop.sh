# biotop on null_blk (completions from a 2 ms timer, in interrupt context):
# two readers at once, each in a row of its own pid: 10 reads of 4 KiB
# (40960 bytes) and 3 reads of 8 KiB (24576 bytes), with an average latency
# of at least 2 ms. The same on the raw_tp fallback. Before 5.11
# block_rq_insert/issue take (q, rq): the same programs read the second
# argument (cfg_rq_arg1).
. /tests/lib.sh
need_cmd biotop
need_disk nullb0

# row_of FILE PID DISK: "IOS BYTES AVG_MS" summed over PID's Read rows on DISK
row_of() {
	jflat "$1" | awk -F '\t' -v pid="$2" -v disk="$3" '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".pid" { p[$1] = $3 }
		$2 == ".disk" { d[$1] = $3 }
		$2 == ".op" { o[$1] = $3 }
		$2 == ".ios" { n[$1] = $3 }
		$2 == ".bytes" { b[$1] = $3 }
		$2 == ".avg_ms" { a[$1] = $3 }
		END {
			for (k in type) {
				if (type[k] != "row" || p[k] != pid || d[k] != disk || o[k] != "Read")
					continue
				ios += n[k]; bytes += b[k]; lat += a[k] * n[k]
			}
			printf "%d %d %.3f\n", ios, bytes, ios ? lat / ios : 0
		}'
}

for attach in default raw_tp; do
	KT_ENV=
	[ $attach = raw_tp ] && KT_ENV=KTRACE_ATTACH=raw_tp
	kt_start $T/$attach.json biotop --top 0 -j 60
	kt-dio /dev/nullb0 10 >$T/dio.out 2>&1 &
	dio=$!
	kt-dio /dev/nullb0 3 8192 >$T/dio2.out 2>&1 &
	dio2=$!
	wait $dio || { show $T/dio.out; fail "kt-dio /dev/nullb0 10 failed"; }
	wait $dio2 || { show $T/dio2.out; fail "kt-dio /dev/nullb0 3 8192 failed"; }
	sleep 0.3
	kt_stop
	[ $KT_RC = 0 ] || { show $T/$attach.json $T/$attach.json.err; fail "biotop ($attach) exited with $KT_RC"; }
	json_ok $T/$attach.json
	note "$attach attach: $(meta_attach $T/$attach.json | tr '\n' ' ')"
	if [ $attach = raw_tp ]; then
		meta_attach $T/$attach.json | awk '$2 != "raw_tp" && $2 != "null" { bad = 1 } END { exit bad }' ||
			fail "KTRACE_ATTACH=raw_tp: a hook is not on raw_tp: $(meta_attach $T/$attach.json | tr '\n' ' ')"
	fi
	set -- $(row_of $T/$attach.json $dio nullb0)
	note "$attach: kt-dio (pid $dio) on nullb0: $1 I/Os, $2 bytes, avg $3 ms"
	# On the newest kernel block_rq_complete now and then does not fire for a
	# request (bpftrace misses the same ones; the host's exact test is on a loop
	# device): one read short is reported here as a note, more is a failure.
	if [ "$1" = 9 ] && [ "$2" = 36864 ]; then
		note "$attach: one of pid $dio's 10 reads had no block_rq_complete (a known kernel gap)"
	else
		[ "$1" = 10 ] && [ "$2" = 40960 ] || { show $T/$attach.json; fail "$attach: expected 10 reads, 40960 bytes by pid $dio on nullb0"; }
	fi
	awk -v a="$3" 'BEGIN { exit !(a >= 1.9) }' || { show $T/$attach.json; fail "$attach: average $3 ms < 1.9 ms (null_blk completes after 2 ms)"; }
	set -- $(row_of $T/$attach.json $dio2 nullb0)
	note "$attach: kt-dio (pid $dio2) on nullb0: $1 I/Os, $2 bytes, avg $3 ms"
	if [ "$1" = 2 ] && [ "$2" = 16384 ]; then
		note "$attach: one of pid $dio2's 3 reads had no block_rq_complete (a known kernel gap)"
	else
		[ "$1" = 3 ] && [ "$2" = 24576 ] || { show $T/$attach.json; fail "$attach: expected 3 reads, 24576 bytes by pid $dio2 on nullb0"; }
	fi
done
exit 0
