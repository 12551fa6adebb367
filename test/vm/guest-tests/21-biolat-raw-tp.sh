# Forcing the raw_tp alternative (KTRACE_ATTACH=raw_tp): biolat attaches raw
# tracepoints for every hook and still counts real I/O.
. /tests/lib.sh
need_cmd biolat
need_disk nullb0

bg_load dio kt-dio /dev/nullb0 0
KT_ENV=KTRACE_ATTACH=raw_tp kt_start $T/out.json biolat -j 2 1
kt_wait 30
bg_stop dio
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "biolat with KTRACE_ATTACH=raw_tp exited with $KT_RC"; }
json_ok $T/out.json
meta_attach $T/out.json >$T/attach
note "attach: $(tr '\n' ' ' <$T/attach)"
[ -s $T/attach ] || { show $T/out.json; fail "meta record has no attach array"; }
grep -q ' raw_tp$' $T/attach || fail "no hook attached as raw_tp although forced"
bad=$(awk '$2 != "raw_tp" && $2 != "null"' $T/attach | tr '\n' ' ')
[ -z "$bad" ] || fail "hooks not on raw_tp although forced: $bad"
total=$(hist_total $T/out.json)
[ "$total" -gt 0 ] || { show $T/out.json; fail "no block I/O counted through raw_tp"; }
note "counted $total requests"
exit 0
