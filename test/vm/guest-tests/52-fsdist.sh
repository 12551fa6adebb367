# fsdist counts the workload's 20 fsyncs and 21 writes (20 files and its
# output line) in the histograms, in the VFS (the default here: fentry/fexit)
# and at the system-call layer (KTRACE_ATTACH=tp_btf), both at once.
. /tests/lib.sh
need_cmd fsdist

mkdir -p /tmp/kt-fs
# count_of FILE OP: the count of the hist record(s) of op OP
count_of() {
	jflat "$1" | awk -F '\t' -v want="$2" '
		$2 == ".key.op" { op[$1] = $3 }
		$2 == ".count" { c[$1] = $3 }
		END { for (l in op) if (op[l] == want) n += c[l]; print n + 0 }'
}
# both layers on the same workload at once
kt_start $T/default.json fsdist -n kt-fsw -j
PID_default=$KT_PID
KT_ENV=KTRACE_ATTACH=tp_btf kt_start $T/tp_btf.json fsdist -n kt-fsw -j
PID_tp_btf=$KT_PID
kt-fsw /tmp/kt-fs 20 >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-fsw failed"; }
sleep 0.5
for mode in tp_btf default; do
	eval "KT_PID=\$PID_$mode"
	kt_stop
	[ $KT_RC = 0 ] || { show $T/$mode.json $T/$mode.json.err; fail "fsdist ($mode) exited with $KT_RC"; }
	json_ok $T/$mode.json
	if [ $mode = default ]; then
		want="vfs_write_ret fexit" layer=vfs
	else
		want="sys_exit $mode" layer=syscall
	fi
	meta_attach $T/$mode.json | grep -qx "$want" || { show $T/$mode.json; fail "$mode: not attached as '$want'"; }
	grep -q "\"layer\":\"$layer\"" $T/$mode.json || { show $T/$mode.json; fail "$mode: meta does not say the $layer layer ran"; }
	# 20 fsyncs; 21 writes: the 20 files' and its "ok" line (stdout is a file)
	for want in fsync:20 write:21; do
		op=${want%:*}
		n=$(count_of $T/$mode.json $op)
		note "$mode: $op $n"
		count_ok $T/$mode.json "$n" "${want#*:}" || { show $T/$mode.json; fail "$mode: $n ${op}s counted, not ${want#*:}"; }
	done
	[ "$(count_of $T/$mode.json open)" -ge 20 ] || { show $T/$mode.json; fail "$mode: fewer than 20 opens"; }
done
exit 0
