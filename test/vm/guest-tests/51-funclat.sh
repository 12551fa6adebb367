# funclat: a user function of a static binary (uprobes), then a kernel
# function (fentry where the kernel allows it, else kprobe: both exist in
# the guests' kernels, 5.10 included).
. /tests/lib.sh
need_cmd funclat

# kt-sleep's kt_sleep_once() sleeps 20 ms ten times: 10 calls in 16-31 ms
kt_start $T/u.json funclat -j -m /bin/kt-sleep:kt_sleep_once
kt-sleep 10 20
kt_stop
[ $KT_RC = 0 ] || { show $T/u.json $T/u.json.err; fail "ktrace funclat (uprobe) exited with $KT_RC"; }
json_ok $T/u.json
set -- $(hist_at_least $T/u.json 16)
hi=$1 tot=$2
set -- $(hist_at_least $T/u.json 32)
note "kt_sleep_once: $tot calls, $hi of 16 ms or more, $1 of 32 ms or more"
[ "$tot" = 10 ] && [ "$hi" = 10 ] || { show $T/u.json; fail "expected 10 calls of 16-31 ms, got $tot ($hi >= 16 ms)"; }
meta_attach $T/u.json | grep -q "^entry uprobe$" || { show $T/u.json; fail "entry not attached by uprobe"; }

# a kernel function: 50 read()s of a file (busybox cat would use sendfile)
head -c 4096 /dev/zero >$T/f
kt_start $T/k.json funclat -j --nsecs k:vfs_read
dd if=$T/f of=/dev/null bs=64 count=50 2>/dev/null
kt_stop
[ $KT_RC = 0 ] || { show $T/k.json $T/k.json.err; fail "ktrace funclat k:vfs_read exited with $KT_RC"; }
json_ok $T/k.json
n=$(hist_total $T/k.json)
how=$(meta_attach $T/k.json | awk '$1 == "entry" { print $2 }')
note "vfs_read: $n calls timed, entry attached by $how"
[ "$n" -ge 50 ] || { show $T/k.json; fail "funclat k:vfs_read timed $n calls (dd made 50 reads)"; }
case "$how" in fentry | kprobe) ;; *) fail "k:vfs_read attached by '$how' (expected fentry or kprobe)" ;; esac
exit 0
