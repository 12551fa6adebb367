# biolat -D keeps one histogram per disk: reads on both null_blk and a loop
# device must show up under their own names.
. /tests/lib.sh
need_cmd biolat
need_disk nullb0
need_disk loop0
kt_help biolat | grep -qE '(^|[^A-Za-z0-9-])-D([^A-Za-z0-9]|$)' || skip "biolat has no -D option"

bg_load null kt-dio /dev/nullb0 0
bg_load loop kt-dio /dev/loop0 0
kt_start $T/out.json biolat -D -j 2 1
kt_wait 30
bg_stop null
bg_stop loop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "biolat -D exited with $KT_RC"; }
json_ok $T/out.json
for d in nullb0 loop0; do
	jflat $T/out.json | awk -F '\t' -v d=$d '$3 == d { f = 1 } END { exit !f }' ||
		{ show $T/out.json; fail "no per-disk histogram for $d"; }
done
exit 0
