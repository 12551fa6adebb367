# timeout: 60
# tcpdrop on every attach alternative of skb:kfree_skb: a refused loopback
# connect (kt-rst) drops the SYN in tcp_v4_rcv, no socket listening there.
# Expected: on 5.17 and later the meta record says the reasons come from the
# kernel and the SYN shows reason NO_SOCKET with its flow and flag S (and -c
# counts it under NO_SOCKET); before 5.17 (the 5.10 guest) the kernel gives
# no reason: the meta record says "absent", the SYN is still shown, with its
# flow and the function that freed it (tcp_v4_rcv), --reason is an error,
# and `ktrace check` says so.
. /tests/lib.sh
need_cmd tcpdrop

# drops FILE: "DPORT FLAGS REASON LOCATION" per event record
drops() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".dport" { dp[$1] = $3 }
		$2 == ".tcp_flags" { fl[$1] = $3 }
		$2 == ".reason" { rs[$1] = $3 }
		$2 == ".location" { lo[$1] = $3 }
		END {
			for (l in type)
				if (type[l] == "event")
					print dp[l], fl[l], rs[l], lo[l]
		}'
}

failed=0
port=5200
for type in default raw_tp tracepoint; do
	env=
	[ $type = default ] || env="KTRACE_ATTACH=$type"
	out=$T/td.$type.json
	KT_ENV="$env" kt_start $out tcpdrop -j --lport $port
	kt-rst $port >$T/rst.out 2>&1
	sleep 0.2
	kt_stop
	[ $KT_RC = 0 ] || { show $out $out.err; fail "[$type] ktrace tcpdrop exited with $KT_RC"; }
	json_ok $out
	if grep -q '"drop_reasons":"kernel' $out; then
		reasons=1
		want='$1 == p && $2 == "S" && $3 == "NO_SOCKET"'
	elif grep -q '"drop_reasons":"absent' $out; then
		reasons=0
		want='$1 == p && $2 == "S" && $3 == "null" && $4 ~ /^tcp_v4_rcv/'
	else
		show $out
		fail "[$type] the meta record does not say whether the kernel gives drop reasons"
	fi
	[ $type = default ] && note "attach: $(meta_attach $out | tr '\n' ' ') reasons: $reasons"
	drops $out >$T/ev
	if ! awk -v p=$port "$want" $T/ev | grep -q .; then
		echo "[$type] the refused SYN to :$port is missing (reasons $reasons)"
		cat $T/ev
		failed=1
	fi
	port=$((port + 2))
done
[ $failed = 0 ] || fail "tcpdrop drops missing"

# counting mode and --reason
out=$T/td.count.json
if [ $reasons = 1 ]; then
	kt_start $out tcpdrop -j -c --reason NO_SOCKET --lport $port
	kt-rst $port >/dev/null 2>&1
	sleep 0.2
	kt_stop
	[ $KT_RC = 0 ] || { show $out $out.err; fail "ktrace tcpdrop -c exited with $KT_RC"; }
	json_ok $out
	jflat $out | grep -q "rows\[0\]\.reason	NO_SOCKET" || { show $out; fail "-c: no NO_SOCKET row"; }
else
	timeout -s KILL 20 $KT tcpdrop --reason NO_SOCKET -d 1 >$out 2>$out.err
	rc=$?
	[ $rc = 1 ] && grep -q "no drop reasons" $out.err ||
		{ show $out.err; fail "--reason on a kernel without reasons: exit $rc, want 1 and a message"; }
	timeout -s KILL 30 $KT check >$T/check.out 2>&1
	grep -E "^tcpdrop +ok .*no drop reasons" $T/check.out >/dev/null ||
		{ grep tcpdrop $T/check.out; fail "check does not say that tcpdrop has no drop reasons here"; }
fi
exit 0
