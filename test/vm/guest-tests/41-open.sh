# open reports a successful open and a failed one, with the errno by name.
. /tests/lib.sh
need_cmd open

echo hi >/tmp/kt-open-present
kt_start $T/out.json open -j
kt-open /tmp/kt-open-present /tmp/kt-open-missing >$T/wl.out
sleep 1
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace open exited with $KT_RC"; }
json_ok $T/out.json
[ "$(lines_with $T/out.json kt-open-present)" -ge 1 ] || { show $T/out.json; fail "open of /tmp/kt-open-present not reported"; }
jflat $T/out.json | awk -F '\t' '
	$3 ~ /kt-open-missing/ { m[$1] = 1 }
	$3 == "ENOENT" { e[$1] = 1 }
	END { for (l in m) if (l in e) f = 1; exit !f }' ||
	{ show $T/out.json; fail "failed open of /tmp/kt-open-missing not reported with ENOENT"; }
exit 0
