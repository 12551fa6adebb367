# profile --unwind dwarf: kt-spin is built -O2 without frame pointers; its
# samples unwind from CFI through kt_spin_work and main to a root, and the
# summary counts the complete stacks. On kernels without bpf_task_pt_regs
# (before 5.15) samples taken in the kernel carry no user registers: the
# program must still load (the helper's branch is dropped by CO-RE).
. /tests/lib.sh
need_cmd profile
"$KT" profile --help 2>&1 | grep -q -- '--unwind' || skip "profile has no --unwind in this build"

kt_start $T/out.json profile -j -F 99 --unwind dwarf
kt-spin 2
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace profile --unwind dwarf exited with $KT_RC"; }
json_ok $T/out.json
jflat $T/out.json >$T/flat
# records of kt-spin whose user frames name kt_spin_work and main
spin=$(awk -F '\t' '$2 == ".comm" && $3 == "kt-spin" { s[$1] = 1 }
	$2 ~ /^\.user_frames\[[0-9]+\]\.symbol$/ && $3 == "kt_spin_work" { w[$1] = 1 }
	$2 ~ /^\.user_frames\[[0-9]+\]\.symbol$/ && $3 == "main" { m[$1] = 1 }
	END { for (l in s) if (w[l] && m[l]) n++; print n + 0 }' $T/flat)
[ "$spin" -ge 1 ] || { show $T/out.json; fail "no kt-spin stack unwinds through kt_spin_work to main"; }
rooted=$(awk -F '\t' '$2 == ".user_stacks.rooted" { print $3 }' $T/flat)
total=$(awk -F '\t' '$2 == ".user_stacks.total" { print $3 }' $T/flat)
[ -n "$total" ] && [ "$total" -ge 1 ] || { show $T/out.json; fail "no user_stacks in the summary"; }
note "user stacks: $rooted of $total complete; $spin kt-spin stacks through kt_spin_work and main"
[ $((rooted * 2)) -ge "$total" ] || { show $T/out.json; fail "fewer than half of the user stacks are complete"; }
exit 0
