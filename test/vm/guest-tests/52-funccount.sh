# funccount: kernel functions by kprobe (every guest kernel, 5.10 included:
# counted by address), user functions by uprobe with attach cookies (5.15+;
# older kernels must say so).
. /tests/lib.sh
need_cmd funccount

# 50 read()s of a file (busybox cat would use sendfile)
head -c 4096 /dev/zero >$T/f
kt_start $T/k.json funccount -j 'k:vfs_rea*'
dd if=$T/f of=/dev/null bs=64 count=50 2>/dev/null
kt_stop
[ $KT_RC = 0 ] || { show $T/k.json $T/k.json.err; fail "ktrace funccount k:vfs_rea* exited with $KT_RC"; }
json_ok $T/k.json
n=$(jflat $T/k.json | awk -F '\t' '$3 == "vfs_read" { l = $1; p = $2; sub(/\.function$/, ".count", p); want[l SUBSEP p] = 1 }
	{ v[$1 SUBSEP $2] = $3 } END { for (k in want) s += v[k]; print s + 0 }')
note "vfs_read counted $n times"
[ "$n" -ge 50 ] || { show $T/k.json; fail "funccount counted vfs_read $n times (dd made 50 reads)"; }

major=$(uname -r | cut -d. -f1)
minor=$(uname -r | cut -d. -f2)
if [ "$major" -lt 5 ] || { [ "$major" = 5 ] && [ "$minor" -lt 15 ]; }; then
	"$KT" funccount -d 1 '/bin/kt-sleep:kt_sleep*' >$T/u.out 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q "5.15" $T/u.out || { show $T/u.out; fail "user functions on $(uname -r): expected exit 1 naming Linux 5.15 (got $rc)"; }
	note "user functions need 5.15: said so"
	exit 0
fi
kt_start $T/u.json funccount -j '/bin/kt-sleep:kt_sleep*'
kt-sleep 7 5
kt_stop
[ $KT_RC = 0 ] || { show $T/u.json $T/u.json.err; fail "ktrace funccount (uprobe) exited with $KT_RC"; }
json_ok $T/u.json
grep -q '"function":"kt_sleep_once","count":7' $T/u.json || { show $T/u.json; fail "kt_sleep_once not counted 7 times"; }
exit 0
