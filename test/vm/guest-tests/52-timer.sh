# timer: ten `sleep 0.1` expire hrtimer_wakeup at least ten times, each with
# a lateness, through the default attachment (tp_btf where the kernel has
# it) and through forced raw_tp; meta says which HZ wheel timers are
# measured in (guest kernels may have no config to read it from).
. /tests/lib.sh
need_cmd timer

# timer_rows FILE: "FUNC TYPE COUNT LATE_COUNT" per row of the timer tables
timer_rows() {
	jflat "$1" | awk -F '\t' '
		$2 ~ /^\.rows\[[0-9]+\]\.(func|type|count|late_count)$/ {
			r = $2; sub(/^\.rows\[/, "", r); sub(/\]\..*$/, "", r)
			f = $2; sub(/^.*\]\./, "", f)
			v[$1 SUBSEP r SUBSEP f] = $3; rows[$1 SUBSEP r] = 1
		}
		END {
			for (k in rows)
				print v[k SUBSEP "func"], v[k SUBSEP "type"],
				      v[k SUBSEP "count"], v[k SUBSEP "late_count"]
		}'
}

for mode in default raw_tp; do
	env=
	[ $mode = raw_tp ] && env=KTRACE_ATTACH=raw_tp
	KT_ENV=$env kt_start $T/$mode.json timer -j
	i=0
	while [ $i -lt 10 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kt_stop
	[ $KT_RC = 0 ] || { show $T/$mode.json $T/$mode.json.err; fail "ktrace timer ($mode) exited with $KT_RC"; }
	json_ok $T/$mode.json
	note "$mode attach: $(meta_attach $T/$mode.json | tr '\n' ' ')"
	note "$mode hz: $(jflat $T/$mode.json | awk -F '\t' '$2 == ".hz" { print $3 }')"
	if [ $mode = raw_tp ]; then
		bad=$(meta_attach $T/$mode.json | awk '$2 != "raw_tp"' | tr '\n' ' ')
		[ -z "$bad" ] || fail "hooks not on raw_tp although forced: $bad"
	fi
	timer_rows $T/$mode.json >$T/$mode.rows
	note "$mode: $(wc -l <$T/$mode.rows) rows; $(grep '^hrtimer_wakeup ' $T/$mode.rows | tr '\n' ' ')"
	awk '$1 == "hrtimer_wakeup" && $2 == "hrtimer" && $3 >= 10 && $4 == $3 { ok = 1 } END { exit !ok }' \
		$T/$mode.rows || { show $T/$mode.rows; fail "timer ($mode): hrtimer_wakeup not counted 10 times with a lateness"; }
done
exit 0
