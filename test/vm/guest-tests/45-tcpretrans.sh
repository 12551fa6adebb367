# tcpretrans: SYNs to a loopback listener whose accept queue is full are
# dropped and retransmitted after 1 s.
. /tests/lib.sh
need_cmd tcpretrans

kt_start $T/out.json tcpretrans -j
kt-synretry 4242 2500 >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-synretry failed"; }
kt_stop
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace tcpretrans exited with $KT_RC"; }
json_ok $T/out.json
n=$(lines_with $T/out.json '(^|[:.])4242$')
note "records with port 4242: $n"
[ "$n" -ge 1 ] || { show $T/out.json; fail "no retransmit to or from port 4242 reported"; }
exit 0
