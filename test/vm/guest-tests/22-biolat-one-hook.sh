# KTRACE_ATTACH=HOOK=TYPE forces one hook only: the first biolat hook that
# has a raw_tp alternative goes to raw_tp, the others keep their choice.
. /tests/lib.sh
need_cmd biolat
need_disk nullb0

cj=$(check_json) || exit 1
check_rows $cj >$T/rows
hook=$(awk '$1 == "biolat" && $4 == "raw_tp" && $5 == "true" { print $2; exit }' $T/rows)
[ -n "$hook" ] || skip "no biolat hook with a working raw_tp alternative"
# the hooks that have no raw_tp alternative, or are not the one forced, keep
# whatever ktrace picks by default
bg_load dio kt-dio /dev/nullb0 0
KT_ENV="KTRACE_ATTACH=$hook=raw_tp" kt_start $T/out.json biolat -j 1 1
kt_wait 30
bg_stop dio
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "biolat with KTRACE_ATTACH=$hook=raw_tp exited with $KT_RC"; }
meta_attach $T/out.json >$T/attach
note "attach: $(tr '\n' ' ' <$T/attach)"
grep -qx "$hook raw_tp" $T/attach || fail "$hook is not on raw_tp"
if [ -z "$KTRACE_ATTACH" ]; then
	others=$(awk -v h="$hook" '$1 != h && $2 == "raw_tp" { print $1 }' $T/attach | tr '\n' ' ')
	[ -z "$others" ] || fail "hooks other than $hook moved to raw_tp too: $others"
fi
[ "$(hist_total $T/out.json)" -gt 0 ] || { show $T/out.json; fail "no block I/O counted"; }
exit 0
