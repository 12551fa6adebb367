# fsslower 0 reports each create, write, fsync, rename and unlink of the
# workload with its full path, in both layers: the VFS (the default on these
# kernels, by fentry/fexit; KTRACE_ATTACH=kprobe: kprobe/kretprobe) and the
# system calls (KTRACE_ATTACH=raw_tp; fsdist runs them on tp_btf); on tmpfs,
# and in the VFS on ext4 too (a loop device). Only the VFS layer sees the truncation inside an
# O_TRUNC open (notify_change: a setattr).
. /tests/lib.sh
need_cmd fsslower

# ops_of FILE OP PREFIX: records of op OP whose path starts with PREFIX
ops_of() {
	jflat "$1" | awk -F '\t' -v want="$2" -v pre="$3" '
		$2 == ".op" { op[$1] = $3 }
		$2 == ".path" && substr($3, 1, length(pre)) == pre { p[$1] = 1 }
		END { for (l in op) if (op[l] == want && (l in p)) n++; print n + 0 }'
}
# run MODE DIR FSTYPE: the workload in DIR under fsslower, KTRACE_ATTACH=MODE
# (default: none), and its checks
run() {
	mode=$1 dir=$2 fst=$3
	out=$T/$mode.$fst.json
	env=""
	[ $mode = default ] || env=KTRACE_ATTACH=$mode
	KT_ENV=$env kt_start $out fsslower 0 -n kt-fsw -j
	kt-fsw $dir 20 trunc >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-fsw failed"; }
	sleep 0.5
	kt_stop
	[ $KT_RC = 0 ] || { show $out $out.err; fail "fsslower ($mode) exited with $KT_RC"; }
	json_ok $out
	case $mode in
	default | fentry) layer=vfs want="vfs_unlink fentry" ;;
	kprobe) layer=vfs want="vfs_unlink_ret kretprobe" ;;
	*) layer=syscall want="sys_exit $mode" ;;
	esac
	meta_attach $out | grep -qx "$want" || { show $out; fail "$mode: not attached as '$want'"; }
	grep -q "\"layer\":\"$layer\"" $out || { show $out; fail "$mode: meta does not say the $layer layer ran"; }
	for op in create fsync rename unlink; do
		n=$(ops_of $out $op $dir/kt-fs)
		note "$mode $fst: $op $n"
		count_ok $out "$n" 20 || { show $out; fail "$mode $fst: $n ${op}s under $dir reported, not 20"; }
	done
	[ "$(ops_of $out mkdir $dir/kt-fsdir)" = 1 ] || { show $out; fail "$mode $fst: mkdir of kt-fsdir missing"; }
	grep -q "\"new_path\":\"$dir/kt-fsx0[0-9][0-9]\"" $out || { show $out; fail "$mode $fst: rename's new path not absolute"; }
	grep -q "\"fstype\":\"$fst\"" $out || { show $out; fail "$mode $fst: no record says $fst"; }
	n=$(ops_of $out setattr $dir/kt-trunc)
	if [ $layer = vfs ]; then
		count_ok $out "$n" 1 || { show $out; fail "$mode $fst: the truncation of kt-trunc (notify_change) not reported"; }
	else
		[ "$n" = 0 ] || { show $out; fail "$mode $fst: a setattr of kt-trunc at the system-call layer"; }
	fi
}

mkdir -p /tmp/kt-fs
for mode in default kprobe raw_tp; do
	run $mode /tmp/kt-fs tmpfs
done
# ext4 on a loop device over a file in /tmp (busybox's mke2fs makes ext2,
# which the ext4 driver mounts)
img=/tmp/kt-ext4.img
dev=""
if { dd if=/dev/zero of=$img bs=1M count=8 && dev=$(losetup -f) && losetup $dev $img &&
	mke2fs -q $dev && mkdir -p /mnt/kt-ext4 && mount -t ext4 $dev /mnt/kt-ext4; } >$T/ext4.log 2>&1; then
	run default /mnt/kt-ext4 ext4
	umount /mnt/kt-ext4
	losetup -d $dev
else
	note "no ext4 here: $(tr '\n' ' ' <$T/ext4.log | cut -c1-200); tmpfs only"
	[ -n "$dev" ] && losetup -d $dev 2>/dev/null
fi
rm -f $img
exit 0
