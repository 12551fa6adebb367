# timeout: 150
# oom: what every attach alternative reports about a memory-cgroup OOM kill.
# A hog in a 48 MiB cgroup-v2 cgroup is both the trigger and the victim.
# oom_kill_process (fentry, kprobe) also gives the OOM domain's size and the
# constraint; the mark_victim variants tell a memcg OOM by the stack.
. /tests/lib.sh
need_cmd oom

cg=/sys/fs/cgroup/kt-oomf
echo +memory >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
mkdir -p $cg
echo $((48 << 20)) >$cg/memory.max 2>/dev/null || skip "no memory controller in this guest"
echo 0 >$cg/memory.swap.max 2>/dev/null
cj=$(check_json) || exit 1
check_rows $cj >$T/rows

# field NAME FILE: the value of NAME in the first event record whose victim is $hog
field() {
	jflat "$2" | awk -F '\t' -v k=".$1" -v pid="$hog" '
		$2 == ".type" { type[$1] = $3 }
		$2 == ".victim_pid" { vp[$1] = $3 }
		$2 == k { v[$1] = $3 }
		END {
			for (l in v)
				if (type[l] == "event" && vp[l] == pid && (best == "" || l + 0 < best + 0))
					best = l
			if (best != "")
				print v[best]
		}'
}

failed=0 tried=0
for type in fentry kprobe tp_btf raw_tp tracepoint; do
	if ! awk -v t=$type '$1 == "oom" && $4 == t && $5 == "true"' $T/rows | grep -q .; then
		note "$type: not usable on this kernel"
		continue
	fi
	tried=$((tried + 1))
	out=$T/oom.$type.json
	KT_ENV="KTRACE_ATTACH=$type" kt_start $out oom -j --stack
	sh -c 'echo $$ >/sys/fs/cgroup/kt-oomf/cgroup.procs && exec kt-hog 512' >/dev/null 2>&1 &
	hog=$!
	wait $hog
	sleep 0.5
	kt_stop
	json_ok $out
	bad=""
	[ "$(field victim_comm $out)" = kt-hog ] || bad="$bad victim_comm"
	[ "$(field pid $out)" = "$hog" ] || bad="$bad trigger_pid"
	[ "$(field anon_rss_kb $out)" -ge 30000 ] 2>/dev/null || bad="$bad anon_rss_kb"
	[ "$(field scope $out)" = memcg ] || bad="$bad scope"
	[ "$(field cgroup $out)" = /kt-oomf ] || bad="$bad cgroup"
	case $type in
	fentry | kprobe)
		[ "$(field totalpages $out)" = $((48 << 20 >> 12)) ] || bad="$bad totalpages"
		[ "$(field constraint $out)" = MEMCG ] || bad="$bad constraint"
		;;
	esac
	if [ -n "$bad" ]; then
		note "$type: wrong or missing:$bad"
		show $out $out.err
		failed=$((failed + 1))
	else
		note "$type: ok (anon $(field anon_rss_kb $out) kB, $(field totalpages $out) pages)"
	fi
done
rmdir $cg 2>/dev/null
[ $tried -gt 0 ] || skip "no attach alternative of oom is usable"
[ $failed = 0 ] || fail "$failed of $tried attach alternatives reported the OOM kill wrongly"
exit 0
