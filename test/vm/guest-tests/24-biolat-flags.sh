# biolat -Q --flags on every kernel of the stage: -Q attaches block_rq_insert (and
# block_rq_merge where the kernel has it) and still counts the direct reads on
# null_blk; --flags names each request's flags from this kernel's enum
# req_flag_bits, so no flag comes out as a bare bit number.
. /tests/lib.sh
need_cmd biolat
need_disk nullb0

bg_load dio kt-dio /dev/nullb0 0
sleep 0.2
kill -0 $LOAD_dio 2>/dev/null || { show $T/load.dio.out; fail "kt-dio did not start"; }
kt_start $T/out.json biolat -Q --flags -j 2 1
kt_wait 30
bg_stop dio
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "biolat -Q --flags exited with $KT_RC"; }
json_ok $T/out.json
note "attach: $(meta_attach $T/out.json | tr '\n' ' ')"
meta_attach $T/out.json | grep -q '^rq_insert [a-z_]' ||
	{ show $T/out.json; fail "-Q: rq_insert not attached"; }
total=$(hist_total $T/out.json)
[ "$total" -gt 0 ] || { show $T/out.json; fail "-Q --flags: no block I/O counted while kt-dio was reading"; }
flags=$(jflat $T/out.json | awk -F '\t' '$2 == ".key.flags" { print $3 }' | sort -u)
note "flags: $(echo $flags)"
[ -n "$flags" ] || { show $T/out.json; fail "--flags: no histogram has a flags key"; }
echo "$flags" | grep -q 'Read$' || { show $T/out.json; fail "--flags: the direct reads have no *Read key"; }
bad=$(echo "$flags" | grep -vE '^([A-Z][A-Za-z0-9]*-)*[A-Z][A-Za-z]*$')
[ -z "$bad" ] || { show $T/out.json; fail "--flags: flags without a name: $bad"; }
echo "$flags" | grep -qE '(^|-)(Bit|Op)[0-9]' && { show $T/out.json; fail "--flags: a bit number in: $flags"; }
exit 0
