# exec sees every exec, including one made from a thread that is not the
# thread-group leader (the kernel keeps the process id; execsnoop-like tools
# keyed by thread id lose or mislabel it).
. /tests/lib.sh
need_cmd exec

kt_start $T/out.json exec -j
kt-marker plain-exec
kt-execthr /bin/kt-marker thread-exec &
thr=$!
wait $thr
sleep 1
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace exec exited with $KT_RC"; }
json_ok $T/out.json
n=$(lines_with $T/out.json kt-marker)
note "$n records mention kt-marker; the threaded exec ran as pid $thr"
[ "$n" -ge 2 ] || { show $T/out.json; fail "expected 2 exec events of kt-marker, saw $n"; }
# the threaded exec must be reported under the process id, with the new comm
jflat $T/out.json | awk -F '\t' -v p=$thr '
	$3 ~ /kt-marker/ { m[$1] = 1 }
	$2 == ".pid" && $3 == p { q[$1] = 1 }
	END { for (l in m) if (l in q) f = 1; exit !f }' ||
	{ show $T/out.json; fail "no kt-marker exec event with pid $thr (exec from a non-leader thread)"; }
exit 0
