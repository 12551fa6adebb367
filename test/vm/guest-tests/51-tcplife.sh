# timeout: 60
# tcplife on every attach alternative of sock:inet_sock_set_state: one
# loopback session (kt-tcpsess) of 300000 bytes out and 1000 back, whose
# client socket a forked child closes last. Expected on every kernel (the
# tracepoint and tcp_sock's byte counters exist since 4.16 and 4.19): the
# client's session with exactly those bytes under the opener's pid, the
# server's with the bytes reversed.
. /tests/lib.sh
need_cmd tcplife

# sessions FILE: "LPORT RPORT PID TX RX OPENED_BY" per event record
sessions() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".lport" { lp[$1] = $3 }
		$2 == ".rport" { rp[$1] = $3 }
		$2 == ".pid" { pid[$1] = $3 }
		$2 == ".tx_bytes" { tx[$1] = $3 }
		$2 == ".rx_bytes" { rx[$1] = $3 }
		$2 == ".opened_by" { ob[$1] = $3 }
		END {
			for (l in type)
				if (type[l] == "event")
					print lp[l], rp[l], pid[l], tx[l], rx[l], ob[l]
		}'
}

failed=0
port=5100
for type in default raw_tp tracepoint; do
	env=
	[ $type = default ] || env="KTRACE_ATTACH=$type"
	out=$T/tl.$type.json
	KT_ENV="$env" kt_start $out tcplife -j
	kt-tcpsess $port >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-tcpsess failed"; }
	sleep 0.2
	kt_stop
	[ $KT_RC = 0 ] || { show $out $out.err; fail "[$type] ktrace tcplife exited with $KT_RC"; }
	json_ok $out
	[ $type = default ] && note "attach: $(meta_attach $out | tr '\n' ' ')"
	sessions $out >$T/ev
	pid=$(awk '{ print $2 }' $T/wl.out)
	cport=$(awk '{ print $4 }' $T/wl.out)
	bad=""
	awk -v c=$cport -v s=$port -v pid=$pid \
		'$1 == c && $2 == s && $3 == pid && $4 == 300000 && $5 == 1000 && $6 == "connect"' $T/ev |
		grep -q . || bad="$bad client"
	awk -v c=$cport -v s=$port '$1 == s && $2 == c && $4 == 1000 && $5 == 300000' $T/ev |
		grep -q . || bad="$bad server"
	if [ -n "$bad" ]; then
		echo "[$type] missing:$bad (pid $pid, cport $cport)"
		cat $T/ev
		failed=1
	fi
	port=$((port + 1))
done
[ $failed = 0 ] || fail "tcplife sessions missing"
exit 0
