# irq: loopback TCP traffic runs the NET_RX softirq, the tick runs TIMER;
# ktrace's NET_RX count is at most what /proc/softirqs counted around it
# (the kernel counts each run just before the softirq_entry tracepoint).
. /tests/lib.sh
need_cmd irq

# NET_RX summed over the CPUs of /proc/softirqs
net_rx() {
	awk '$1 == "NET_RX:" { for (i = 2; i <= NF; i++) s += $i } END { print s + 0 }' /proc/softirqs
}
r0=$(net_rx)
kt_start $T/out.json irq -j
kt-lo 5001 16 >$T/wl.out 2>&1 || { show $T/wl.out; fail "kt-lo failed"; }
sleep 0.3
kt_stop
r1=$(net_rx)
[ $KT_RC = 0 ] || { show $T/out.json $T/out.json.err; fail "ktrace irq exited with $KT_RC"; }
json_ok $T/out.json
note "attach: $(meta_attach $T/out.json | tr '\n' ' ')"

# softirq rows: "VEC COUNT TOTAL_NS"
jflat $T/out.json | awk -F '\t' '
	$2 ~ /^\.rows\[[0-9]+\]\.vec$/ { p = $2; sub(/\.vec$/, "", p); v[$1 SUBSEP p] = $3 }
	$2 ~ /^\.rows\[[0-9]+\]\.count$/ { p = $2; sub(/\.count$/, "", p); c[$1 SUBSEP p] = $3 }
	$2 ~ /^\.rows\[[0-9]+\]\.total_ns$/ { p = $2; sub(/\.total_ns$/, "", p); t[$1 SUBSEP p] = $3 }
	END { for (k in v) print v[k], c[k], t[k] }' >$T/soft.txt
cat $T/soft.txt | sed 's/^/# /'
rx=$(awk '$1 == "NET_RX" { print $2 }' $T/soft.txt)
rxt=$(awk '$1 == "NET_RX" { print $3 }' $T/soft.txt)
tm=$(awk '$1 == "TIMER" { print $2 }' $T/soft.txt)
note "NET_RX: ktrace $rx, /proc/softirqs $r0 -> $r1; TIMER: $tm"
[ -n "$rx" ] && [ "$rx" -gt 0 ] && [ "$rxt" -gt 0 ] || { show $T/out.json; fail "no NET_RX softirq time during loopback TCP traffic"; }
[ "$rx" -le $((r1 - r0)) ] || fail "ktrace counted $rx NET_RX runs, /proc/softirqs only $((r1 - r0))"
[ -n "$tm" ] && [ "$tm" -gt 0 ] || { show $T/out.json; fail "no TIMER softirq seen"; }
exit 0
