# biolat sees direct-I/O reads on null_blk, whose requests complete after a
# 2 ms timer: the counts must be there and almost all of them >= 1024 us.
. /tests/lib.sh
need_cmd biolat
need_disk nullb0

bg_load dio kt-dio /dev/nullb0 0
sleep 0.2
kill -0 $LOAD_dio 2>/dev/null || { show $T/load.dio.out; fail "kt-dio did not start"; }
kt_start $T/out.json biolat -j 2 1
kt_wait 30
bg_stop dio
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace biolat -j 2 1 exited with $KT_RC"; }
json_ok $T/out.json
total=$(hist_total $T/out.json)
set -- $(hist_at_least $T/out.json 1024)
note "attach: $(meta_attach $T/out.json | tr '\n' ' ')"
note "hist total $total, bucket total $2, at or above 1024 us: $1"
[ "$total" -gt 0 ] || { show $T/out.json; fail "no block I/O counted while kt-dio was reading"; }
[ "$2" -gt 0 ] || { show $T/out.json; fail "hist records have no bucket counts"; }
# null_blk's timer makes every request take at least 2 ms
[ $(($1 * 100)) -ge $(($2 * 90)) ] ||
	{ show $T/out.json; fail "only $1 of $2 requests at >= 1024 us; null_blk completes after 2 ms"; }
exit 0
