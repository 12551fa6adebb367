# timeout: 150
# tcpretrans on every attach alternative of its tracepoint hooks: SYN
# retransmits (kt-synretry) with their 4-tuple and state, and resets
# (kt-rst): a linger-0 close names the closing process; on 6.10 and later a
# refused connect gives a reset without a socket, reason NO_SOCKET. With -l
# the tail loss probe hook must attach as fentry or kprobe here.
. /tests/lib.sh
need_cmd tcpretrans

# events FILE: "KIND LPORT RPORT STATE PID REASON" per event record
events() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".kind" { k[$1] = $3 }
		$2 == ".lport" { lp[$1] = $3 }
		$2 == ".rport" { rp[$1] = $3 }
		$2 == ".state" { st[$1] = $3 }
		$2 == ".pid" { pid[$1] = $3 }
		$2 == ".reason" { rs[$1] = $3 }
		END {
			for (l in type)
				if (type[l] == "event")
					print k[l], lp[l], rp[l], st[l], pid[l], rs[l]
		}'
}

failed=0
for type in default raw_tp tracepoint; do
	env=
	[ $type = default ] || env="KTRACE_ATTACH=$type"
	out=$T/tr.$type.json
	KT_ENV="$env" kt_start $out tcpretrans -j --lossprobe --resets
	kt-rst 5000 >$T/rst.out &
	rst=$!
	wait $rst
	kt-synretry 4242 2500 >/dev/null 2>&1
	kt_stop
	json_ok $out
	events $out >$T/ev
	refused=$(awk '$1 == "refused" { print $2 }' $T/rst.out)
	linger=$(awk '$1 == "linger" { print $2 }' $T/rst.out)
	bad=""
	awk '$1 == "R" && $3 == 4242 && $4 == "SYN_SENT" && $5 == "null"' $T/ev | grep -q . ||
		bad="$bad syn-retransmit"
	awk -v p=$linger -v pid=$rst '$1 == "RST_SENT" && $2 == p && $3 == 5001 && $5 == pid' $T/ev |
		grep -q . || bad="$bad linger-reset"
	awk -v p=$refused '$1 == "RST_RECV" && $2 == p && $3 == 5000 && $4 == "SYN_SENT"' $T/ev |
		grep -q . || bad="$bad refused-reset-received"
	if grep -q '"reason_raw"' $out; then
		# a kernel with reset reasons also traces resets without a socket
		awk -v p=$refused '$1 == "RST_SENT" && $2 == 5000 && $3 == p && $4 == "null" && $6 == "NO_SOCKET"' $T/ev |
			grep -q . || bad="$bad refused-reset-sent"
	fi
	meta_attach $out >$T/attach
	grep -Eq '^tlp (fentry|kprobe)$' $T/attach || bad="$bad tlp-not-attached"
	if [ $type != default ]; then
		for h in retransmit synack send_reset receive_reset; do
			grep -qx "$h $type" $T/attach || bad="$bad $h-not-$type"
		done
	fi
	if [ -n "$bad" ]; then
		note "$type: wrong or missing:$bad"
		show $T/ev $T/rst.out $T/attach $out.err
		failed=$((failed + 1))
	else
		note "$type: ok ($(wc -l <$T/ev) events)"
	fi
done
[ $failed = 0 ] || fail "$failed attach variants reported wrongly"
exit 0
