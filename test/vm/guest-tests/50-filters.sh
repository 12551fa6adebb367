# The common filters (-u, -n, --cgroup) load and select on every kernel: with
# all of them set, the verifier sees the comm search and the cgroup walk of
# probes/lib/kt.bpf.h in each program. A task in a cgroup below --cgroup's
# is in; the same command outside it is not.
# timeout: 120
. /tests/lib.sh
need_cmd runqlat
rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
cg=/sys/fs/cgroup$rel
[ -n "$rel" ] && [ -d "$cg" ] || skip "this test runs in no cgroup-v2 directory"
sub=$cg/below
mkdir -p $sub || skip "cannot make a cgroup below $cg"

# pids FILE: the distinct pids of the records of FILE (events, stacks, hist keys)
pids() { jflat "$1" | awk -F '\t' '$2 == ".pid" || $2 == ".key.pid" { print $3 }' | sort -u; }
# comms FILE: the distinct comms of the records of FILE
comms() { jflat "$1" | awk -F '\t' '$2 == ".comm" || $2 == ".key.comm" { print $3 }' | sort -u; }
# sh -c "$IN" CGROUP CMD...: CMD run in CGROUP under the same pid ($! is
# its pid: a shell function in the background would be a subshell's)
IN='echo $$ >"$0/cgroup.procs" && exec "$@"'
root=/sys/fs/cgroup

# check_sel NAME FILE IN OUT: FILE has records of pid IN, none of OUT, only comm NAME
check_sel() {
	m=0
	json_ok "$2"
	p=$(pids "$2" | tr '\n' ' ')
	c=$(comms "$2" | tr '\n' ' ')
	note "$1: pids $p comms $c (in: $3, out: $4)"
	if ! echo " $p" | grep -q " $3 "; then
		# its one event can be in a program run the kernel skipped: then the run says so
		m=$(kernel_missed "$2")
		[ "$m" -gt 0 ] || { show "$2" "$2.err"; fail "$1: nothing from pid $3 below --cgroup"; }
		note "$1: nothing from pid $3, and the run reports $m missed (skipped program runs)"
	fi
	echo " $p" | grep -q " $4 " && { show "$2"; fail "$1: pid $4 outside --cgroup was reported"; }
	[ -z "$c" ] && [ "${m:-0}" -gt 0 ] && return 0
	[ "$c" = "$5 " ] || { show "$2"; fail "$1: comms '$c', expected only $5"; }
}

# streams: the task that calls open or exec
kt_start $T/open.json open -j -u 0 -n kt-open --cgroup $cg
# settle as the other guest tests do: one run on the newest kernel saw no event from
# a workload started the moment the meta record appeared
sleep 0.5
sh -c "$IN" $sub kt-open /etc/passwd >/dev/null &
a=$!
sh -c "$IN" $root kt-open /etc/passwd >/dev/null &
b=$!
wait $a $b
sleep 0.3
kt_stop
[ $KT_RC = 0 ] || fail "ktrace open with filters exited with $KT_RC"
check_sel open $T/open.json $a $b kt-open

kt_start $T/exec.json exec -j -u 0 -n kt-marker --cgroup $cg
# the same settling as open's: exec's syscall tracepoints are faultable on the newest kernels
sleep 0.5
sh -c "$IN" $sub kt-marker &
a=$!
sh -c "$IN" $root kt-marker &
b=$!
wait $a $b
sleep 0.3
kt_stop
[ $KT_RC = 0 ] || fail "ktrace exec with filters exited with $KT_RC"
check_sel exec $T/exec.json $a $b kt-marker

# runqlat: the task that waits (two spinners below share a CPU with each other)
kt_start $T/runq.json runqlat -j -P -u 0 -n kt-spin --cgroup $cg
sh -c "$IN" $sub kt-spin 2 &
a=$!
sh -c "$IN" $sub kt-spin 2 &
a2=$!
sh -c "$IN" $root kt-spin 2 &
b=$!
wait $a $a2 $b
kt_stop
[ $KT_RC = 0 ] || fail "ktrace runqlat with filters exited with $KT_RC"
json_ok $T/runq.json
p=" $(pids $T/runq.json | tr '\n' ' ')"
note "runqlat: pids$p (in: $a $a2, out: $b)"
echo "$p" | grep -qE " ($a|$a2) " || { show $T/runq.json; fail "runqlat: no waits of the spinners below --cgroup"; }
echo "$p" | grep -q " $b " && fail "runqlat: the spinner outside --cgroup was reported"
[ "$(comms $T/runq.json)" = kt-spin ] || fail "runqlat: comms other than kt-spin"

# offcpu: the task that blocks
kt_start $T/off.json offcpu -j -u 0 -n kt-sleep --cgroup $cg
sh -c "$IN" $sub kt-sleep 20 20 &
a=$!
sh -c "$IN" $root kt-sleep 20 20 &
b=$!
wait $a $b
kt_stop
[ $KT_RC = 0 ] || fail "ktrace offcpu with filters exited with $KT_RC"
check_sel offcpu $T/off.json $a $b kt-sleep

# profile: the task on the CPU when sampled
kt_start $T/prof.json profile -j -u 0 -n kt-spin --cgroup $cg
sh -c "$IN" $sub kt-spin 1 &
a=$!
sh -c "$IN" $root kt-spin 1 &
b=$!
wait $a $b
kt_stop
[ $KT_RC = 0 ] || fail "ktrace profile with filters exited with $KT_RC"
check_sel profile $T/prof.json $a $b kt-spin

# biolat: the task that submits I/O (loads; a disk is not needed)
kt_start $T/bio.json biolat -j --cgroup $cg 1 1
kt_wait 20
[ $KT_RC = 0 ] || { show $T/bio.json.err; fail "ktrace biolat --cgroup exited with $KT_RC"; }
rmdir $sub 2>/dev/null
exit 0
