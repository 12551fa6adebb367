# fsops counts the workload's 20 creates, renames, unlinks and fsyncs, its
# mkdir and kt-trunc's create and unlink in /tmp/kt-fs, per directory (in
# the VFS, the default here) and per process (-P, at the system-call layer:
# KTRACE_ATTACH=raw_tp), both runs at once. Only the VFS layer counts the truncation inside an O_TRUNC
# open as a setattr.
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
kt-fsw /tmp/kt-fs 20 trunc >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-fsw failed"; }
sleep 0.5
kt_stop
[ $KT_RC = 0 ] || { show $T/pid.json $T/pid.json.err; fail "fsops -P exited with $KT_RC"; }
KT_PID=$KT_PID_DIR
kt_stop
[ $KT_RC = 0 ] || { show $T/dir.json $T/dir.json.err; fail "fsops exited with $KT_RC"; }
for f in dir pid; do
	json_ok $T/$f.json
	# 20 of each, and kt-trunc's create and unlink
	for want in create:21 rename:20 unlink:21 fsync:20; do
		op=${want%:*}
		n=$(col $T/$f.json $op)
		note "$f: $op $n"
		count_ok $T/$f.json "$n" "${want#*:}" || { show $T/$f.json; fail "$f: $n ${op}s counted, not ${want#*:}"; }
	done
	[ "$(col $T/$f.json mkdir)" = 1 ] || { show $T/$f.json; fail "$f: the mkdir is not counted"; }
done
grep -q '"dir":"/tmp/kt-fs"' $T/dir.json || { show $T/dir.json; fail "no row for /tmp/kt-fs"; }
meta_attach $T/pid.json | grep -q "sys_exit raw_tp" || { show $T/pid.json; fail "sys_exit is not on raw_tp"; }
grep -q '"layer":"syscall"' $T/pid.json || { show $T/pid.json; fail "-P: meta does not say the syscall layer ran"; }
meta_attach $T/dir.json | grep -qx "vfs_unlink_ret fexit" || { show $T/dir.json; fail "vfs_unlink is not on fexit"; }
grep -q '"layer":"vfs"' $T/dir.json || { show $T/dir.json; fail "meta does not say the vfs layer ran"; }
# the O_TRUNC open's truncation: one setattr in the VFS, none in the system calls
count_ok $T/dir.json "$(col $T/dir.json setattr)" 1 || { show $T/dir.json; fail "vfs: the truncation of kt-trunc is not one setattr"; }
[ "$(col $T/pid.json setattr)" = 0 ] || { show $T/pid.json; fail "syscall: a setattr counted"; }
exit 0
