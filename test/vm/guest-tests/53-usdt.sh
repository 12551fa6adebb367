# usdt: the probes of a static binary (kt-usdt): listed from its notes,
# counted (kt:tick is guarded by a semaphore, which ktrace must raise), and
# the time from kt:start to kt:done of ten 20 ms sleeps.
. /tests/lib.sh
need_cmd usdt

"$KT" usdt -j --list /bin/kt-usdt >$T/l.json 2>$T/l.err || { show $T/l.json $T/l.err; fail "usdt --list failed"; }
json_ok $T/l.json
for p in start done tick; do
	grep -q "\"provider\":\"kt\",\"probe\":\"$p\"" $T/l.json || { show $T/l.json; fail "--list lacks kt:$p"; }
done

kt_start $T/c.json usdt -j 'u:/bin/kt-usdt:kt:*'
kt-usdt 10 1 >$T/c.out
kt_stop
[ $KT_RC = 0 ] || { show $T/c.json $T/c.json.err; fail "ktrace usdt exited with $KT_RC"; }
json_ok $T/c.json
grep -q "enabled 10" $T/c.out || { show $T/c.out; fail "the kt:tick semaphore was not raised"; }
for p in start done tick; do
	grep -q "{\"probe\":\"kt:$p\",\"count\":10}" $T/c.json || { show $T/c.json; fail "kt:$p not counted 10 times"; }
done

kt_start $T/l.json usdt -j -m --latency kt:start u:/bin/kt-usdt:kt:done
# settle as the other guest tests do (one 5.10 run missed the first two pairs)
sleep 0.5
kt-usdt 10 20 >/dev/null
kt_stop
[ $KT_RC = 0 ] || { show $T/l.json $T/l.json.err; fail "ktrace usdt --latency exited with $KT_RC"; }
json_ok $T/l.json
set -- $(hist_at_least $T/l.json 16)
hi=$1 tot=$2
set -- $(hist_at_least $T/l.json 32)
note "kt:start -> kt:done: $tot intervals, $hi of 16 ms or more, $1 of 32 ms or more"
[ "$tot" = 10 ] && [ "$hi" = 10 ] || { show $T/l.json; fail "expected 10 intervals of 16 ms or more, got $tot ($hi)"; }
exit 0
