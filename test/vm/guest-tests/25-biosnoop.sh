# biosnoop on null_blk (each request completes from a 2 ms timer, in
# interrupt context): one event per read of kt-dio, charged to kt-dio's pid
# (the submitter), 4096 bytes, a device latency of at least 2 ms; the same on
# the raw_tp fallback. Before 5.11 block_rq_insert/issue take (q, rq): the
# same programs read the second argument (cfg_rq_arg1), on both hooks.
. /tests/lib.sh
need_cmd biosnoop
need_disk nullb0

# events_of FILE PID: "N OK": events of PID, and how many are 4096-byte reads
# on nullb0 taking at least 1.9 ms
events_of() {
	jflat "$1" | awk -F '\t' -v pid="$2" '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".pid" { p[$1] = $3 }
		$2 == ".disk" { d[$1] = $3 }
		$2 == ".op" { o[$1] = $3 }
		$2 == ".bytes" { b[$1] = $3 }
		$2 == ".lat_ms" { l[$1] = $3 }
		END {
			for (k in type) {
				if (type[k] != "event" || p[k] != pid)
					continue
				n++
				if (d[k] == "nullb0" && o[k] == "Read" && b[k] == 4096 && l[k] >= 1.9)
					ok++
			}
			print n + 0, ok + 0
		}'
}

for attach in default raw_tp; do
	KT_ENV=
	[ $attach = raw_tp ] && KT_ENV=KTRACE_ATTACH=raw_tp
	kt_start $T/$attach.json biosnoop -Q -b nullb0 -j
	kt-dio /dev/nullb0 10 >$T/dio.out 2>&1 &
	dio=$!
	wait $dio || { show $T/dio.out; fail "kt-dio /dev/nullb0 10 failed"; }
	sleep 0.3
	kt_stop
	[ $KT_RC = 0 ] || { show $T/$attach.json $T/$attach.json.err; fail "biosnoop ($attach) exited with $KT_RC"; }
	json_ok $T/$attach.json
	note "$attach attach: $(meta_attach $T/$attach.json | tr '\n' ' ')"
	if [ $attach = raw_tp ]; then
		meta_attach $T/$attach.json | awk '$2 != "raw_tp" && $2 != "null" { bad = 1 } END { exit bad }' ||
			fail "KTRACE_ATTACH=raw_tp: a hook is not on raw_tp: $(meta_attach $T/$attach.json | tr '\n' ' ')"
	fi
	set -- $(events_of $T/$attach.json $dio)
	note "$attach: $1 events of kt-dio (pid $dio), $2 of them 4 KiB reads of nullb0 >= 1.9 ms"
	[ "$1" = 10 ] && [ "$2" = 10 ] ||
		{ show $T/$attach.json; fail "$attach: expected 10 reads of nullb0 by pid $dio, each >= 1.9 ms"; }
done
exit 0
