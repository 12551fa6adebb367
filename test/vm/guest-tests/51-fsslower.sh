# fsslower 0 reports each create, write, fsync, rename and unlink of the
# workload with its full path, on tp_btf and on raw_tp (the system-call
# layer: the same hooks on every kernel of the stage).
. /tests/lib.sh
need_cmd fsslower

mkdir -p /tmp/kt-fs
# ops_of FILE OP: records of op OP whose path is under /tmp/kt-fs/kt-fs
ops_of() {
	jflat "$1" | awk -F '\t' -v want="$2" '
		$2 == ".op" { op[$1] = $3 }
		$2 == ".path" && $3 ~ /^\/tmp\/kt-fs\/kt-fs/ { p[$1] = 1 }
		END { for (l in op) if (op[l] == want && (l in p)) n++; print n + 0 }'
}
for mode in tp_btf raw_tp; do
	KT_ENV=KTRACE_ATTACH=$mode kt_start $T/$mode.json fsslower 0 -n kt-fsw -j
	kt-fsw /tmp/kt-fs 20 >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-fsw failed"; }
	sleep 0.5
	kt_stop
	[ $KT_RC = 0 ] || { show $T/$mode.json $T/$mode.json.err; fail "fsslower ($mode) exited with $KT_RC"; }
	json_ok $T/$mode.json
	meta_attach $T/$mode.json | grep -q "sys_exit $mode" || { show $T/$mode.json; fail "sys_exit is not on $mode"; }
	grep -q '"layer":"syscall"' $T/$mode.json || fail "meta does not say the syscall layer ran"
	for op in create fsync rename unlink; do
		n=$(ops_of $T/$mode.json $op)
		note "$mode: $op $n"
		count_ok $T/$mode.json "$n" 20 || { show $T/$mode.json; fail "$mode: $n ${op}s under /tmp/kt-fs reported, not 20"; }
	done
	[ "$(ops_of $T/$mode.json mkdir)" = 1 ] || { show $T/$mode.json; fail "$mode: mkdir of kt-fsdir missing"; }
	grep -q '"new_path":"/tmp/kt-fs/kt-fsx0[0-9][0-9]"' $T/$mode.json || { show $T/$mode.json; fail "$mode: rename's new path not absolute"; }
done
exit 0
