# runqlat: two spinners on one CPU wait for each other in the run queue.
. /tests/lib.sh
need_cmd runqlat

kt_start $T/out.json runqlat -j
kt-spin 2 &
a=$!
kt-spin 2 &
b=$!
wait $a $b
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace runqlat exited with $KT_RC"; }
json_ok $T/out.json
n=$(hist_total $T/out.json)
note "run-queue latencies counted: $n"
[ "$n" -gt 0 ] || { show $T/out.json; fail "runqlat counted nothing while two tasks shared a CPU"; }
exit 0
