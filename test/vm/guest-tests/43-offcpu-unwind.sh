# offcpu --unwind dwarf: kt-sleep (built -O2, no frame pointers) blocks 10
# times for 50 ms; from 5.15 on (bpf_task_pt_regs) its blocks unwind from
# CFI through kt_sleep_once to main. Before 5.15 the program must still load
# and the blocks be charged (user stacks by frame pointers there).
. /tests/lib.sh
need_cmd offcpu
"$KT" offcpu --help 2>&1 | grep -q -- '--unwind' || skip "offcpu has no --unwind in this build"

kt_start $T/out.json offcpu -j --unwind dwarf
kt-sleep 10 50
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace offcpu --unwind dwarf exited with $KT_RC"; }
json_ok $T/out.json
[ "$(lines_with $T/out.json kt-sleep)" -ge 1 ] || { show $T/out.json; fail "kt-sleep not in offcpu's output"; }
jflat $T/out.json >$T/flat
deep=$(awk -F '\t' '$2 == ".comm" && $3 == "kt-sleep" { s[$1] = 1 }
	$2 ~ /^\.user_frames\[[0-9]+\]\.symbol$/ && $3 == "kt_sleep_once" { w[$1] = 1 }
	$2 ~ /^\.user_frames\[[0-9]+\]\.symbol$/ && $3 == "main" { m[$1] = 1 }
	END { for (l in s) if (w[l] && m[l]) n++; print n + 0 }' $T/flat)
maj=$(uname -r | cut -d. -f1)
min=$(uname -r | cut -d. -f2)
if [ "$maj" -gt 5 ] || { [ "$maj" = 5 ] && [ "$min" -ge 15 ]; }; then
	[ "$deep" -ge 1 ] || { show $T/out.json; fail "no kt-sleep block unwinds through kt_sleep_once to main"; }
	note "$deep kt-sleep stacks through kt_sleep_once and main"
else
	note "kernel $(uname -r): no bpf_task_pt_regs, user stacks walked by frame pointers ($deep through main)"
fi
exit 0
