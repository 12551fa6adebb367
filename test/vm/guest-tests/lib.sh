# Helpers for the guest tests (busybox sh).  Sourced, not run.
#
# A test exits 0 on success, 77 to skip (after printing "skip: REASON") and
# anything else on failure; everything it prints ends up in the harness's log
# when it fails.  JSON is checked through jflat (see ../jflat.c): one
# "LINE<TAB>PATH<TAB>VALUE" per scalar, which busybox awk can take apart.

KT=${KT:-/bin/ktrace}
T=/tmp/t.$$
mkdir -p $T

note() { echo "# $*"; }
fail() {
	echo "FAIL: $*"
	exit 1
}
skip() {
	echo "skip: $*"
	exit 77
}

# show FILE...: print files into the log, marked, at most 60 lines each
show() {
	for f in "$@"; do
		[ -s "$f" ] || continue
		echo "--- $f"
		head -n 60 "$f"
	done
}

# kt_help [CMD]: ktrace's (or CMD's) --help text; never hangs a test
kt_help() {
	timeout -s KILL 10 "$KT" "$@" --help 2>&1
}
has_cmd() { # NAME: does this ktrace build have the subcommand?
	kt_help | grep -qE "^[[:space:]]+$1([[:space:]]|\$)"
}
need_cmd() { has_cmd "$1" || skip "$1: subcommand not built"; }
need_disk() { [ -b "/dev/$1" ] || skip "no /dev/$1 in this guest (module missing?)"; }

# json_ok FILE: every JSON line of FILE parses
json_ok() {
	jflat "$1" >$T/jflat.out || {
		show "$1"
		fail "$1 holds malformed JSON: $(grep '!error' $T/jflat.out | head -3 | tr '\n' ' ')"
	}
}

# kt_start OUT ARGS...: run ktrace ARGS in the background, output to OUT
# (stderr to OUT.err), and wait until it has printed its meta record, which
# comes once its probes are attached.  Sets KT_PID.  KT_ENV="VAR=VALUE ..."
# adds to ktrace's environment (e.g. KT_ENV=KTRACE_ATTACH=raw_tp).
kt_start() {
	_out=$1
	shift
	# shellcheck disable=SC2086 # KT_ENV is a list of words on purpose
	env ${KT_ENV:-} "$KT" "$@" >"$_out" 2>"$_out.err" &
	KT_PID=$!
	_i=0
	while ! grep -q '"type" *: *"meta"' "$_out" 2>/dev/null; do
		if ! kill -0 $KT_PID 2>/dev/null; then
			wait $KT_PID
			KT_RC=$?
			show "$_out" "$_out.err"
			kt_verbose_log "$@"
			fail "ktrace $* exited with $KT_RC before printing its meta record"
		fi
		_i=$((_i + 1))
		if [ $_i -gt 400 ]; then
			kill -KILL $KT_PID 2>/dev/null
			show "$_out" "$_out.err"
			fail "ktrace $* printed no meta record within 40 s"
		fi
		sleep 0.1
	done
	# The meta record follows the attach; on the slow, one-CPU TCG guests the
	# first event after it was missed now and then (biotop on the newest kernel,
	# usdt on 5.10, exec and open under --cgroup on the newest): give the
	# attached programs a moment before a test starts its workload.
	sleep ${KT_SETTLE:-0.3}
}

# kt_verbose_log CMD ARGS...: after a failed start, run it again with -v
# and show the end of libbpf's messages (the verifier's log, for one)
kt_verbose_log() {
	_c=$1
	shift
	# shellcheck disable=SC2086
	env ${KT_ENV:-} timeout -s KILL 20 "$KT" "$_c" -v "$@" >$T/verbose.log 2>&1 &
	_vp=$!
	sleep 5
	kill -INT $_vp 2>/dev/null
	wait $_vp
	echo "--- ktrace $_c -v $* (last 40 lines)"
	tail -n 40 $T/verbose.log
}

# kt_stop: SIGINT the background ktrace, wait for it (15 s at most), set KT_RC
kt_stop() {
	kill -INT $KT_PID 2>/dev/null
	_i=0
	while kill -0 $KT_PID 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 150 ]; then
			kill -KILL $KT_PID
			wait $KT_PID
			fail "ktrace did not exit within 15 s of SIGINT"
		fi
		sleep 0.1
	done
	wait $KT_PID
	KT_RC=$?
}

# kt_wait: wait for a background ktrace that ends by itself (interval/count)
kt_wait() { # SECONDS
	_i=0
	while kill -0 $KT_PID 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt $(($1 * 10)) ]; then
			kill -KILL $KT_PID
			wait $KT_PID
			fail "ktrace did not finish within $1 s"
		fi
		sleep 0.1
	done
	wait $KT_PID
	KT_RC=$?
}

# hist_total FILE: sum of the counts of all "hist" records (bucket counts when
# the record has buckets, else its own "count")
hist_total() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" { type[$1] = $3 }
		$2 ~ /\]\.count$/ { b[$1] += $3; hasb[$1] = 1 }
		$2 == ".count" { top[$1] = $3 }
		END {
			for (l in type)
				if (type[l] == "hist")
					s += (l in hasb) ? b[l] : top[l]
			print s + 0
		}'
}

# hist_at_least FILE MIN: "HI TOTAL": counts in buckets whose min >= MIN, and
# all bucket counts, over the "hist" records
hist_at_least() {
	jflat "$1" | awk -F '\t' -v min="$2" '
		$2 == ".type" { type[$1] = $3 }
		$2 ~ /\]\.min$/ { p = $2; sub(/\.min$/, "", p); mn[$1 SUBSEP p] = $3 }
		$2 ~ /\]\.count$/ { p = $2; sub(/\.count$/, "", p); ct[$1 SUBSEP p] = $3 }
		END {
			for (k in ct) {
				split(k, a, SUBSEP)
				if (type[a[1]] != "hist")
					continue
				tot += ct[k]
				if ((k in mn) && mn[k] + 0 >= min + 0)
					hi += ct[k]
			}
			print hi + 0, tot + 0
		}'
}

# meta_attach FILE: "HOOK TYPE" for each entry of the meta record's attach
# array; TYPE is "null" for a hook left unattached (not needed, optional)
meta_attach() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" && $3 == "meta" { meta[$1] = 1 }
		$2 ~ /^\.attach\[[0-9]+\]\.hook$/ { p = $2; sub(/\.hook$/, "", p); h[$1 SUBSEP p] = $3 }
		$2 ~ /^\.attach\[[0-9]+\]\.type$/ { p = $2; sub(/\.type$/, "", p); t[$1 SUBSEP p] = $3 }
		END {
			for (k in h) {
				split(k, a, SUBSEP)
				if (a[1] in meta)
					print h[k], t[k]
			}
		}' | sort
}

# check_rows FILE: one "CMD HOOK CHOSEN TYPE OK OPTIONAL" line per attach
# alternative listed by `ktrace check -j`: rows with cmd, hook, chosen and
# alternatives, the latter either a list of {"type","ok"} objects or a string
# "TYPE TARGET, TYPE TARGET, ..." (then OK is true unless the entry says
# the alternative is unavailable); OPTIONAL is the row's "optional" (true:
# the command runs without the hook), false when it has none
check_rows() {
	jflat "$1" | awk -F '\t' '
		$2 ~ /\]\.alternatives$/ {
			h = $2; sub(/\.alternatives$/, "", h)
			n = split($3, parts, ",")
			for (i = 1; i <= n; i++) {
				p = parts[i]; sub(/^ +/, "", p)
				split(p, w, " ")
				if (w[1] == "") continue
				a = h ".alternatives[" i "]"
				at[$1 SUBSEP a] = w[1]
				ok[$1 SUBSEP a] = (p ~ /unavailable|not available|not supported/) ? "false" : "true"
				ah[$1 SUBSEP a] = $1 SUBSEP h
			}
			next
		}
		$2 ~ /\.alternatives\[[0-9]+\]\.(type|ok)$/ {
			a = $2; sub(/\.[a-z]+$/, "", a)
			h = a; sub(/\.alternatives\[[0-9]+\]$/, "", h)
			if ($2 ~ /\.type$/) at[$1 SUBSEP a] = $3; else ok[$1 SUBSEP a] = $3
			ah[$1 SUBSEP a] = $1 SUBSEP h
			next
		}
		$2 ~ /\]\.(cmd|command|subcommand|hook|chosen|optional)$/ {
			h = $2; f = $2
			sub(/\.[a-z]+$/, "", h); sub(/^.*\./, "", f)
			if (f == "command" || f == "subcommand") f = "cmd"
			v[$1 SUBSEP h SUBSEP f] = $3
		}
		END {
			for (a in at) {
				h = ah[a]
				c = v[h SUBSEP "cmd"]; if (c == "") c = "-"
				ch = v[h SUBSEP "chosen"]; if (ch == "") ch = "-"
				op = v[h SUBSEP "optional"]; if (op == "") op = "false"
				print c, v[h SUBSEP "hook"], ch, at[a], (ok[a] == "" ? "true" : ok[a]), op
			}
		}' | sort -u
}

# kernel_missed FILE: the events a run says it missed: the program runs the
# kernel skipped (summary skipped_runs) and the counts of its lost records
kernel_missed() {
	jflat "$1" | awk -F '\t' '
		$2 == ".type" { t[$1] = $3 }
		$2 == ".skipped_runs" { s[$1] = $3 }
		$2 == ".what" { w[$1] = $3 }
		$2 == ".count" { c[$1] = $3 }
		END {
			for (l in t) {
				if (t[l] == "summary") n += s[l]
				if (t[l] == "lost" && w[l] != "program runs") n += c[l]
			}
			print n + 0
		}'
}

# count_ok FILE GOT WANT: GOT is WANT, or short by no more than what the
# run in FILE says it missed (nothing lost silently; noted)
count_ok() {
	[ "$2" = "$3" ] && return 0
	_m=$(kernel_missed "$1")
	[ "$2" -lt "$3" ] && [ "$_m" -ge $(($3 - $2)) ] || return 1
	note "$(($3 - $2)) short of $3; the run reports $_m missed (skipped program runs, lost events)"
}

# bg_load NAME CMD...: start a workload in the background, remember its pid
bg_load() {
	_n=$1
	shift
	"$@" >$T/load.$_n.out 2>&1 &
	eval "LOAD_$_n=\$!"
}
# bg_stop NAME: stop a background workload (it is ours: by pid)
bg_stop() {
	eval "_p=\$LOAD_$1"
	[ -n "$_p" ] || return 0
	kill -TERM $_p 2>/dev/null
	wait $_p 2>/dev/null
	return 0
}

# lines_with FILE REGEX: number of JSON records (lines) with any value
# matching the awk regular expression REGEX
lines_with() {
	jflat "$1" | awk -F '\t' -v re="$2" '$3 ~ re && !($1 in l) { l[$1] = 1; n++ } END { print n + 0 }'
}

# check_json: path of a file holding `ktrace check -j`'s output, run once per
# boot (tests that only need its answers share it; 10-check tests the command)
check_json() {
	_f=/tmp/kt-check.json
	if [ ! -s $_f ]; then
		timeout -s KILL 30 "$KT" check -j >$_f.tmp 2>$_f.err || {
			show $_f.tmp $_f.err >&2
			fail "ktrace check -j failed" >&2
		}
		mv $_f.tmp $_f
	fi
	echo $_f
}
