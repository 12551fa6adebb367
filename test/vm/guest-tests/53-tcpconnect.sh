# timeout: 60
# tcpconnect on every attach alternative: kt-rst makes a refused loopback
# connect to PORT and an established one to PORT+1 (then reset by SO_LINGER
# {1,0}). Expected on every kernel: one record each, named by the client's
# local port, with outcome refused (111) and established (0) and the pid of
# kt-rst; -c counts them per destination.
. /tests/lib.sh
need_cmd tcpconnect

# connects FILE: "LPORT RPORT OUTCOME OUTCOME_RAW PID" per event record
connects() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".lport" { lp[$1] = $3 }
		$2 == ".rport" { rp[$1] = $3 }
		$2 == ".outcome" { oc[$1] = $3 }
		$2 == ".outcome_raw" { ocr[$1] = $3 }
		$2 == ".pid" { pid[$1] = $3 }
		END {
			for (l in type)
				if (type[l] == "event")
					print lp[l], rp[l], oc[l], ocr[l], pid[l]
		}'
}

failed=0
port=5300
for type in default raw_tp tracepoint; do
	env=
	[ $type = default ] || env="KTRACE_ATTACH=$type"
	out=$T/tc.$type.json
	KT_ENV="$env" kt_start $out tcpconnect -j
	kt-rst $port >$T/rst.out &
	rst=$!
	wait $rst
	sleep 0.2
	kt_stop
	[ $KT_RC = 0 ] || { show $out $out.err; fail "[$type] ktrace tcpconnect exited with $KT_RC"; }
	json_ok $out
	[ $type = default ] && note "attach: $(meta_attach $out | tr '\n' ' ')"
	connects $out >$T/ev
	refused=$(awk '$1 == "refused" { print $2 }' $T/rst.out)
	linger=$(awk '$1 == "linger" { print $2 }' $T/rst.out)
	bad=""
	awk -v l=$refused -v p=$port -v pid=$rst '$1 == l && $2 == p && $3 == "refused" && $4 == 111 && $5 == pid' \
		$T/ev | grep -q . || bad="$bad refused"
	awk -v l=$linger -v p=$((port + 1)) -v pid=$rst '$1 == l && $2 == p && $3 == "established" && $4 == 0 && $5 == pid' \
		$T/ev | grep -q . || bad="$bad established"
	if [ -n "$bad" ]; then
		echo "[$type] missing:$bad (pid $rst, refused from $refused, established from $linger)"
		cat $T/ev
		failed=1
	fi
	port=$((port + 2))
done
[ $failed = 0 ] || fail "tcpconnect records missing"

out=$T/tc.count.json
kt_start $out tcpconnect -j -c
kt-rst $port >/dev/null
sleep 0.2
kt_stop
[ $KT_RC = 0 ] || { show $out $out.err; fail "ktrace tcpconnect -c exited with $KT_RC"; }
json_ok $out
jflat $out | awk -F '\t' -v p=$port '
	$2 ~ /^\.rows\[[0-9]+\]\.rport$/ { r = $2; sub(/\.rport$/, "", r); rp[r] = $3 }
	$2 ~ /^\.rows\[[0-9]+\]\.refused$/ { r = $2; sub(/\.refused$/, "", r); rf[r] = $3 }
	$2 ~ /^\.rows\[[0-9]+\]\.established$/ { r = $2; sub(/\.established$/, "", r); es[r] = $3 }
	END {
		for (r in rp) {
			if (rp[r] == p && rf[r] == 1) a = 1
			if (rp[r] == p + 1 && es[r] == 1) b = 1
		}
		exit !(a && b)
	}' || { show $out; fail "-c: no row with 1 refused to :$port and 1 established to :$((port + 1))"; }
exit 0
