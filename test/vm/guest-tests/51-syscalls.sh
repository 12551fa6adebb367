# syscalls: 5000 getppid of one workload counted exactly; with --hist, its
# three 50 ms sleeps in the 32768-65535 usecs bucket; with --slower 30, those
# three sleeps and nothing of the getppid storm. The raw_syscalls hooks are
# the same on every kernel of the stage (tp_btf, raw_tp forced at the end);
# calls in flight are kept in task storage from 5.12 on, an LRU hash before.
. /tests/lib.sh
need_cmd syscalls

kt_start $T/tab.json syscalls -j --hist -n kt-ppid --syscall getppid,clock_nanosleep,nanosleep
tab_pid=$KT_PID
kt_start $T/slow.json syscalls -j --slower 30 -n kt-ppid
slow_pid=$KT_PID
kt-ppid 5000 3 50 >$T/wl.out || { show $T/wl.out; fail "kt-ppid failed"; }
tid=$(awk '/^tid/ { print $2 }' $T/wl.out)
KT_PID=$tab_pid
kt_stop
[ $KT_RC = 0 ] || { show $T/tab.json $T/tab.json.err; fail "ktrace syscalls --hist exited with $KT_RC"; }
KT_PID=$slow_pid
kt_stop
[ $KT_RC = 0 ] || { show $T/slow.json $T/slow.json.err; fail "ktrace syscalls --slower exited with $KT_RC"; }
json_ok $T/tab.json
json_ok $T/slow.json
note "attach: $(meta_attach $T/tab.json | tr '\n' ' ')"

# the table: getppid's row count
n=$(jflat $T/tab.json | awk -F '\t' '
	$2 ~ /^\.rows\[[0-9]+\]\.syscall$/ { p = $2; sub(/\.syscall$/, "", p); name[$1 SUBSEP p] = $3 }
	$2 ~ /^\.rows\[[0-9]+\]\.count$/ { p = $2; sub(/\.count$/, "", p); cnt[$1 SUBSEP p] = $3 }
	END { for (k in name) if (name[k] == "getppid") s += cnt[k]; print s + 0 }')
note "getppid counted: $n"
[ "$n" = 5000 ] || { show $T/tab.json; fail "getppid counted $n times, not 5000"; }

# the histogram of the sleeps: 3 calls, all in 32768-65535 usecs (50 ms)
grep '"type":"hist"' $T/tab.json | grep 'nanosleep"' >$T/sleep-hist.json
set -- $(hist_at_least $T/sleep-hist.json 32768)
note "sleep histogram: $1 of $2 at >= 32768 usecs"
[ "$2" = 3 ] && [ "$1" = 3 ] || { show $T/tab.json; fail "the sleeps' histogram has $1 of $2 calls >= 32768 usecs, not 3 of 3"; }
set -- $(hist_at_least $T/sleep-hist.json 65536)
[ "$1" = 0 ] || note "a sleep took over 65.5 ms (loaded host?)"

# --slower 30: the three sleeps of the workload's thread, no getppid
s=$(jflat $T/slow.json | awk -F '\t' -v tid="$tid" '
	$2 == ".syscall" && $3 ~ /nanosleep$/ { sl[$1] = 1 }
	$2 == ".tid" { t[$1] = $3 }
	$2 == ".lat_ms" { l[$1] = $3 }
	END { for (k in sl) if (t[k] == tid && l[k] >= 50 && l[k] < 1000) n++; print n + 0 }')
note "--slower 30: $s sleeps of tid $tid"
[ "$s" = 3 ] || { show $T/slow.json; fail "--slower 30 showed $s sleeps of tid $tid, not 3"; }
! grep -q '"syscall":"getppid"' $T/slow.json || { show $T/slow.json; fail "--slower 30 showed a getppid"; }

# where calls in flight are kept: task storage from 5.12 on, an LRU hash before
inf=$(jflat $T/tab.json | awk -F '\t' '$2 == ".in_flight" { print $3 }')
rel=$(uname -r)
maj=${rel%%.*}
min=${rel#*.}
min=${min%%[!0-9]*}
want=task_storage
[ "$maj" -lt 5 ] || { [ "$maj" = 5 ] && [ "$min" -lt 12 ]; } && want=lru_hash
note "in_flight: $inf (expected on $rel: $want)"
[ "$inf" = "$want" ] || fail "calls in flight kept in '$inf', expected $want on $rel"

# the fallback on every kernel: raw_tp hooks and the LRU hash
KT_ENV=KTRACE_ATTACH=raw_tp kt_start $T/raw.json syscalls -j -n kt-ppid --syscall getppid
kt-ppid 5000 >/dev/null || fail "kt-ppid failed"
kt_stop
[ $KT_RC = 0 ] || { show $T/raw.json $T/raw.json.err; fail "ktrace syscalls (raw_tp) exited with $KT_RC"; }
json_ok $T/raw.json
grep -q '"in_flight":"lru_hash"' $T/raw.json || { show $T/raw.json; fail "raw_tp did not use the LRU hash"; }
grep -q '"syscall":"getppid","syscall_raw":[0-9]*,"count":5000,' $T/raw.json ||
	{ show $T/raw.json; fail "raw_tp: getppid not counted 5000 times"; }
exit 0
