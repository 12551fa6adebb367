# timeout: 90
# tcpretrans --lossprobe reports a tail loss probe (kind L) with its 4-tuple and
# state, on the default hook (fentry here) and on the kprobe: kt-tlp's
# server end drops every segment with a socket filter, so the client's data
# is never acknowledged.
. /tests/lib.sh
need_cmd tcpretrans

failed=0
for type in default kprobe; do
	env=
	[ $type = default ] || env="KTRACE_ATTACH=tlp=$type"
	out=$T/tlp.$type.json
	KT_ENV="$env" kt_start $out tcpretrans -j --lossprobe
	kt-tlp 4343 1500 >$T/tlp.out || { show $T/tlp.out; fail "kt-tlp failed"; }
	kt_stop
	json_ok $out
	client=$(awk '$1 == "client" { print $2 }' $T/tlp.out)
	meta_attach $out >$T/attach
	jflat $out | awk -F '\t' '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".kind" { k[$1] = $3 }
		$2 == ".lport" { lp[$1] = $3 }
		$2 == ".rport" { rp[$1] = $3 }
		$2 == ".state" { st[$1] = $3 }
		END { for (l in type) if (type[l] == "event") print k[l], lp[l], rp[l], st[l] }' >$T/ev
	bad=""
	awk -v p="$client" '$1 == "L" && $2 == p && $3 == 4343 && $4 == "ESTABLISHED"' $T/ev |
		grep -q . || bad="$bad no-loss-probe"
	want=$type
	[ $type = default ] && want="(fentry|kprobe)"
	grep -Eq "^tlp $want\$" $T/attach || bad="$bad tlp-not-on-$type"
	if [ -n "$bad" ]; then
		note "$type: wrong or missing:$bad"
		show $T/ev $T/tlp.out $T/attach $out.err
		failed=$((failed + 1))
	else
		note "$type: ok ($(awk '$1 == "L"' $T/ev | wc -l) loss probes, $(cat $T/attach | tr '\n' ' '))"
	fi
done
[ $failed = 0 ] || fail "$failed attach variants missed the loss probe"
exit 0
