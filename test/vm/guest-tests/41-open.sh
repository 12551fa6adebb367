# open reports a successful open and a failed one, with the errno by name;
# -F names the directory of a relative path (in the kernel with bpf_loop,
# 5.17+; from /proc before).
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

kt_start $T/full.json open -j --full-path
(cd /tmp && KT_OPEN_LINGER=2 kt-open kt-open-present >/dev/null)
kt_stop
[ $KT_RC = 0 ] || { show $T/full.json $T/full.json.err; fail "ktrace open --full-path exited with $KT_RC"; }
json_ok $T/full.json
grep '"path":"kt-open-present"' $T/full.json | grep -q '"full_path":"/tmp/kt-open-present"' ||
	{ show $T/full.json $T/full.json.err; fail "-F did not resolve kt-open-present to /tmp"; }
note "-F: $(grep -c 'bpf_loop' $T/full.json.err) bpf_loop warning(s)"
exit 0
