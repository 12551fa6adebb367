# fsops counts the workload's 20 creates, renames, unlinks and fsyncs and
# its mkdir in /tmp/kt-fs, per directory and per process (-P, on raw_tp).
. /tests/lib.sh
need_cmd fsops

mkdir -p /tmp/kt-fs
# col FILE KEY: the sum of KEY over the rows of the table records
col() {
	jflat "$1" | awk -F '\t' -v k="$2" '$2 ~ ("^\\.rows\\[[0-9]+\\]\\." k "$") { n += $3 } END { print n + 0 }'
}
kt_start $T/dir.json fsops -n kt-fsw -j
KT_PID_DIR=$KT_PID
KT_ENV=KTRACE_ATTACH=raw_tp kt_start $T/pid.json fsops -P -n kt-fsw -j
kt-fsw /tmp/kt-fs 20 >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-fsw failed"; }
sleep 0.5
kt_stop
[ $KT_RC = 0 ] || { show $T/pid.json $T/pid.json.err; fail "fsops -P exited with $KT_RC"; }
KT_PID=$KT_PID_DIR
kt_stop
[ $KT_RC = 0 ] || { show $T/dir.json $T/dir.json.err; fail "fsops exited with $KT_RC"; }
for f in dir pid; do
	json_ok $T/$f.json
	for op in create rename unlink fsync; do
		n=$(col $T/$f.json $op)
		note "$f: $op $n"
		count_ok $T/$f.json "$n" 20 || { show $T/$f.json; fail "$f: $n ${op}s counted, not 20"; }
	done
	[ "$(col $T/$f.json mkdir)" = 1 ] || { show $T/$f.json; fail "$f: the mkdir is not counted"; }
done
grep -q '"dir":"/tmp/kt-fs"' $T/dir.json || { show $T/dir.json; fail "no row for /tmp/kt-fs"; }
meta_attach $T/pid.json | grep -q "sys_exit raw_tp" || { show $T/pid.json; fail "sys_exit is not on raw_tp"; }
exit 0
