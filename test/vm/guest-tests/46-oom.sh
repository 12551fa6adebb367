# oom: a task over its memory cgroup's limit is OOM-killed and reported.
. /tests/lib.sh
need_cmd oom

cg=/sys/fs/cgroup/kt-oom
echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
mkdir -p $cg
echo $((48 << 20)) >$cg/memory.max 2>/dev/null || skip "no memory controller in this guest"
echo 0 >$cg/memory.swap.max 2>/dev/null

kt_start $T/out.json oom -j
# the hog joins the cgroup, then becomes kt-hog (same pid)
sh -c 'echo $$ >/sys/fs/cgroup/kt-oom/cgroup.procs && exec kt-hog 512' >$T/hog.out 2>&1 &
hog=$!
wait $hog
hrc=$?
sleep 1
kt_stop
rmdir $cg 2>/dev/null
[ $hrc = 137 ] || { show $T/hog.out; fail "kt-hog was not OOM-killed (exit $hrc)"; }
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace oom exited with $KT_RC"; }
json_ok $T/out.json
[ "$(lines_with $T/out.json kt-hog)" -ge 1 ] || { show $T/out.json; fail "OOM kill of kt-hog (pid $hog) not reported"; }
exit 0
