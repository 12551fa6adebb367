# tcpretrans: SYNs to a loopback listener whose accept queue is full are
# dropped and retransmitted after 1 s.
. /tests/lib.sh
need_cmd tcpretrans

# the kernel's own count, to tell a ktrace miss from a workload that did
# not provoke anything
retrans() {
	awk '/^Tcp:/ { if (!c) { for (i = 1; i <= NF; i++) if ($i == "RetransSegs") c = i } else print $c }' /proc/net/snmp
}
r0=$(retrans)
kt_start $T/out.json tcpretrans -j
kt-synretry 4242 2500 >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-synretry failed"; }
kt_stop
r1=$(retrans)
note "kernel RetransSegs: $r0 -> $r1"
[ "$r1" -gt "$r0" ] || fail "the workload provoked no retransmission (RetransSegs $r0 -> $r1)"
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace tcpretrans exited with $KT_RC"; }
json_ok $T/out.json
n=$(lines_with $T/out.json '(^|[:.])4242$')
note "records with port 4242: $n"
[ "$n" -ge 1 ] || { show $T/out.json; fail "no retransmit to or from port 4242 reported"; }
exit 0
