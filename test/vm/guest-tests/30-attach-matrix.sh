# timeout: 300
# Every attach alternative that `ktrace check -j` lists, forced one type at a
# time with KTRACE_ATTACH=TYPE (the default choice is covered elsewhere):
#  - where check says the alternative works, the subcommand must start and its
#    meta record must show TYPE for every hook that offers TYPE (or null for a
#    hook it does not need with its default options);
#  - where check says it does not, the subcommand must exit with status 1.
# biolat also has to count real I/O on every path.  On these guest kernels
# this is where kprobe/kretprobe and fentry/fexit get exercised at all: the
# CI host cannot attach them.
. /tests/lib.sh

cj=$(check_json) || exit 1
check_rows $cj >$T/rows
[ -s $T/rows ] || { show $cj; fail "check lists no attach alternatives"; }

# (cmd, type) pairs other than each hook's default choice; an optional hook
# that has no choice here (the fs commands' do_fsync on 5.10) is left out
awk '$4 != $3 && !($3 == "null" && $6 == "true") { print $1, $4 }' $T/rows | sort -u >$T/pairs
[ -s $T/pairs ] || skip "no subcommand has an alternative besides its default"
failed=0 tried=0
while read -r cmd type; do
	[ "$cmd" = - ] && continue
	if ! has_cmd "$cmd"; then
		note "$cmd/$type: subcommand not built"
		continue
	fi
	# a bare fentry (kprobe) forces fexit (kretprobe) on the return hooks
	# too: the entry type's run checks both, the return type needs no run
	ret=""
	case $type in
	fentry) ret=fexit ;;
	kprobe) ret=kretprobe ;;
	fexit | kretprobe)
		entry=fentry
		[ $type = kretprobe ] && entry=kprobe
		if grep -qx "$cmd $entry" $T/pairs; then
			note "$cmd/$type: checked with $cmd/$entry"
			continue
		fi
		;;
	esac
	# the return hooks that follow the entry type (they do not have it)
	rhooks=""
	[ -n "$ret" ] && rhooks=$(awk -v c="$cmd" -v t="$type" -v r="$ret" '
		$1 == c && $4 == t { e[$2] = 1 }
		$1 == c && $4 == r && !($3 == "null" && $6 == "true") { h[$2] = 1 }
		END { for (x in h) if (!(x in e)) print x }' $T/rows | sort -u)
	# it must work only if every hook of cmd that offers TYPE has an
	# alternative of that type that works (open's sys_exit_* hooks have two
	# raw_tp programs, one needing bpf_loop)
	want=ok
	awk -v c="$cmd" -v t="$type" -v rh=" $(echo $rhooks) " -v r="$ret" '
		$1 == c && ($4 == t || ($4 == r && index(rh, " " $2 " "))) && !($3 == "null" && $6 == "true") {
			w[$2] = w[$2] || $5 == "true"
		}
		END { for (h in w) if (!w[h]) exit 0; exit 1 }' $T/rows && want=fail
	tried=$((tried + 1))
	out=$T/$cmd.$type.json
	load=""
	if [ "$cmd" = biolat ] && [ -b /dev/nullb0 ]; then
		bg_load dio kt-dio /dev/nullb0 0
		load=dio
	fi
	# options that turn on the hooks a default run leaves out
	opts=""
	[ "$cmd" = tcpretrans ] && opts="--lossprobe --resets"
	# function commands need a target, of the kind the forced type probes
	case $cmd/$type in
	funclat/uprobe | funclat/uretprobe | funccount/uprobe) opts="/bin/kt-sleep:kt_sleep_once" ;;
	funclat/* | funccount/*) opts="k:vfs_read" ;;
	esac
	# shellcheck disable=SC2086 # opts is a list of words on purpose
	env KTRACE_ATTACH=$type "$KT" "$cmd" -j $opts >$out 2>$out.err &
	pid=$!
	i=0 started=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 400 ]; do
		if grep -q '"type" *: *"meta"' $out; then
			started=1
			break
		fi
		i=$((i + 1))
		sleep 0.1
	done
	[ $started = 1 ] && sleep 1
	kill -INT $pid 2>/dev/null
	i=0
	while kill -0 $pid 2>/dev/null && [ $i -lt 150 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	kill -KILL $pid 2>/dev/null
	wait $pid
	rc=$?
	[ -n "$load" ] && bg_stop $load
	if [ $want = fail ]; then
		if [ $started = 1 ] || [ $rc != 1 ]; then
			note "$cmd/$type: check says it cannot attach, but ktrace started=$started rc=$rc"
			show $out $out.err
			failed=$((failed + 1))
		else
			note "$cmd/$type: refused as expected ($(head -c 200 $out.err | tr '\n' ' '))"
		fi
		continue
	fi
	if [ $started != 1 ] || [ $rc != 0 ]; then
		note "$cmd/$type: check says it works, but ktrace started=$started rc=$rc"
		show $out $out.err
		failed=$((failed + 1))
		continue
	fi
	meta_attach $out >$T/attach
	hooks=$(awk -v c="$cmd" -v t="$type" '$1 == c && $4 == t { print $2 }' $T/rows | sort -u)
	# a hook the subcommand leaves out with its default options (meta
	# type null) is fine, but at least one must be attached as TYPE
	bad="" seen=0
	for h in $hooks; do
		if grep -qx "$h $type" $T/attach; then
			seen=1
		elif ! grep -qx "$h null" $T/attach; then
			bad="$bad $h"
		fi
	done
	[ $seen = 1 ] || bad="$bad (none attached as $type)"
	for h in $rhooks; do
		grep -qx "$h $ret" $T/attach || grep -qx "$h null" $T/attach || bad="$bad $h(not $ret)"
	done
	if [ -n "$bad" ]; then
		note "$cmd/$type: hooks not attached as $type:$bad (meta: $(tr '\n' ' ' <$T/attach))"
		failed=$((failed + 1))
		continue
	fi
	extra=""
	if [ "$cmd" = biolat ] && [ -n "$load" ]; then
		n=$(hist_total $out)
		if [ "$n" -le 0 ]; then
			note "$cmd/$type: attached but counted no I/O"
			show $out
			failed=$((failed + 1))
			continue
		fi
		extra=", $n requests"
	fi
	note "$cmd/$type: ok ($(echo $hooks $rhooks | tr ' ' ,)$extra)"
done <$T/pairs
[ $tried -gt 0 ] || skip "none of the subcommands with alternatives is built"
[ $failed = 0 ] || fail "$failed of $tried forced alternatives misbehaved"
exit 0
