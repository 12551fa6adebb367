# profile: a spinning task is sampled; its function should be symbolized
# from the static binary's symbol table.
. /tests/lib.sh
need_cmd profile

kt_start $T/out.json profile -j
kt-spin 2
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace profile exited with $KT_RC"; }
json_ok $T/out.json
[ "$(lines_with $T/out.json kt-spin)" -ge 1 ] || { show $T/out.json; fail "kt-spin not sampled"; }
if [ "$(lines_with $T/out.json kt_spin_work)" -ge 1 ]; then
	note "kt_spin_work symbolized"
else
	note "kt_spin_work not found in the stacks (user symbolization?)"
fi
exit 0
