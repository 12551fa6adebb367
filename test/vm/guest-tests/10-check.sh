# `ktrace check -j` is valid JSON Lines listing each hook with its chosen
# and alternative attach types, and on these kernels (all with BTF) it picks
# tp_btf for biolat's hooks.
. /tests/lib.sh

timeout -s KILL 30 "$KT" check -j >$T/check.json 2>$T/check.err || {
	show $T/check.json $T/check.err
	fail "ktrace check -j exited with $?"
}
json_ok $T/check.json
cp $T/check.json /tmp/kt-check.json # shared with later tests (check_json)
check_rows $T/check.json >$T/rows
[ -s $T/rows ] || { show $T/check.json; fail "check -j lists no hooks with their alternatives"; }
note "cmd hook chosen alternative ok:"
sed 's/^/#   /' $T/rows

if has_cmd biolat; then
	awk '$1 == "biolat"' $T/rows >$T/biolat
	[ -s $T/biolat ] || fail "check lists no hooks for biolat"
	if [ -n "$KTRACE_ATTACH" ]; then
		note "KTRACE_ATTACH=$KTRACE_ATTACH: not asserting the default choice"
	else
		bad=$(awk '$3 != "tp_btf" { print $2 "=" $3 }' $T/biolat | sort -u | tr '\n' ' ')
		[ -z "$bad" ] || fail "biolat hooks not on tp_btf although the kernel has BTF: $bad"
	fi
	awk '$4 == "tp_btf" && $5 != "true"' $T/biolat | grep -q . &&
		fail "check says tp_btf does not work for biolat on a BTF kernel"
fi
exit 0
