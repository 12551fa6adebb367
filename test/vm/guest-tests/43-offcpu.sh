# offcpu: a task that sleeps 40 times shows up with its off-CPU time.
. /tests/lib.sh
need_cmd offcpu

kt_start $T/out.json offcpu -j
kt-sleep 40 20
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace offcpu exited with $KT_RC"; }
json_ok $T/out.json
[ "$(lines_with $T/out.json kt-sleep)" -ge 1 ] || { show $T/out.json; fail "kt-sleep not in offcpu's output"; }
exit 0
