# fsslower 0 reports each create, write, fsync, rename and unlink of the
# workload with its full path, in both layers: the VFS (the default on these
# kernels, by fentry/fexit; KTRACE_ATTACH=kprobe: kprobe/kretprobe) and the
# system calls (KTRACE_ATTACH=raw_tp; fsdist runs them on tp_btf); on tmpfs
# and on ext4 (a loop device). The three runs trace the same workload at
# once. Only the VFS layer sees the truncation inside an O_TRUNC
# open (notify_change: a setattr).
. /tests/lib.sh
need_cmd fsslower

# ops_of FILE OP PREFIX: records of op OP whose path starts with PREFIX
ops_of() {
	jflat "$1" | awk -F '\t' -v want="$2" -v pre="$3" '
		$2 == ".op" { op[$1] = $3 }
		$2 == ".path" && substr($3, 1, length(pre)) == pre { p[$1] = 1 }
		END { for (l in op) if (op[l] == want && (l in p)) n++; print n + 0 }'
}
# launch MODE: fsslower 0 in the background, KTRACE_ATTACH=MODE (default:
# none); ready MODE: wait for its meta record (the runs start side by side)
launch() {
	env=""
	[ $1 = default ] || env=KTRACE_ATTACH=$1
	# shellcheck disable=SC2086 # env is empty or one word
	env $env "$KT" fsslower 0 -n kt-fsw -j >$T/$1.json 2>$T/$1.json.err &
	eval "PID_$1=\$!"
}
ready() {
	_i=0
	while ! grep -q '"type" *: *"meta"' $T/$1.json 2>/dev/null; do
		eval "_p=\$PID_$1"
		kill -0 $_p 2>/dev/null || { show $T/$1.json $T/$1.json.err; fail "fsslower ($1) exited before its meta record"; }
		_i=$((_i + 1))
		[ $_i -le 400 ] || fail "fsslower ($1): no meta record within 40 s"
		sleep 0.1
	done
}
# stop MODE: stop it and check how it attached
stop() {
	eval "KT_PID=\$PID_$1"
	kt_stop
	out=$T/$1.json
	[ $KT_RC = 0 ] || { show $out $out.err; fail "fsslower ($1) exited with $KT_RC"; }
	json_ok $out
	case $1 in
	default) want="vfs_unlink fentry" ;;
	kprobe) want="vfs_unlink_ret kretprobe" ;;
	*) want="sys_exit $1" ;;
	esac
	meta_attach $out | grep -qx "$want" || { show $out; fail "$1: not attached as '$want'"; }
	grep -q "\"layer\":\"$(layer $1)\"" $out || { show $out; fail "$1: meta does not say the $(layer $1) layer ran"; }
}
layer() { case $1 in default | kprobe) echo vfs ;; *) echo syscall ;; esac; }
# check MODE DIR FSTYPE: what the run of MODE saw of the workload in DIR
check() {
	mode=$1 dir=$2 fst=$3 out=$T/$1.json
	for op in create fsync rename unlink; do
		n=$(ops_of $out $op $dir/kt-fs)
		note "$mode $fst: $op $n"
		count_ok $out "$n" 20 || { show $out; fail "$mode $fst: $n ${op}s under $dir reported, not 20"; }
	done
	[ "$(ops_of $out mkdir $dir/kt-fsdir)" = 1 ] || { show $out; fail "$mode $fst: mkdir of kt-fsdir missing"; }
	grep -q "\"new_path\":\"$dir/kt-fsx0[0-9][0-9]\"" $out || { show $out; fail "$mode $fst: rename's new path not absolute"; }
	grep -q "\"fstype\":\"$fst\"" $out || { show $out; fail "$mode $fst: no record says $fst"; }
	n=$(ops_of $out setattr $dir/kt-trunc)
	if [ $(layer $mode) = vfs ]; then
		count_ok $out "$n" 1 || { show $out; fail "$mode $fst: the truncation of kt-trunc (notify_change) not reported"; }
	else
		[ "$n" = 0 ] || { show $out; fail "$mode $fst: a setattr of kt-trunc at the system-call layer"; }
	fi
}
workload() {
	kt-fsw $1 20 trunc >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-fsw $1 failed"; }
}

mkdir -p /tmp/kt-fs
dirs="/tmp/kt-fs:tmpfs"
# ext4 on a loop device over a file in /tmp (busybox's mke2fs makes ext2,
# which the ext4 driver mounts)
img=/tmp/kt-ext4.img
dev=""
if { dd if=/dev/zero of=$img bs=1M count=8 && dev=$(losetup -f) && losetup $dev $img &&
	mke2fs -q $dev && mkdir -p /mnt/kt-ext4 && mount -t ext4 $dev /mnt/kt-ext4; } >$T/ext4.log 2>&1; then
	dirs="$dirs /mnt/kt-ext4:ext4"
else
	note "no ext4 here: $(tr '\n' ' ' <$T/ext4.log | cut -c1-200); tmpfs only"
fi
cleanup() {
	grep -q " /mnt/kt-ext4 " /proc/mounts && umount /mnt/kt-ext4
	[ -n "$dev" ] && losetup -d $dev 2>/dev/null
	rm -f $img
}

# the VFS by fentry and by kprobes, and the system calls by raw_tp, on the
# same workload
for m in default kprobe raw_tp; do launch $m; done
for m in default kprobe raw_tp; do ready $m; done
sleep 0.3
for d in $dirs; do workload ${d%:*}; done
sleep 0.5
for m in default kprobe raw_tp; do eval "kill -INT \$PID_$m"; done
for m in default kprobe raw_tp; do stop $m; done
for d in $dirs; do
	for m in default kprobe raw_tp; do check $m ${d%:*} ${d#*:}; done
done
cleanup
exit 0
