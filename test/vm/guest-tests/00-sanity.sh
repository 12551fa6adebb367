# The binary runs in the guest at all, and the guest has what ktrace needs.
. /tests/lib.sh

[ -r /sys/kernel/btf/vmlinux ] || fail "guest kernel has no /sys/kernel/btf/vmlinux"
[ -d /sys/kernel/tracing/events ] || [ -d /sys/kernel/debug/tracing/events ] ||
	fail "tracefs is not mounted"
timeout -s KILL 10 "$KT" --help >$T/help 2>&1 || { show $T/help; fail "ktrace --help failed"; }
note "subcommands: $(sed -n 's/^[[:space:]]\{1,\}\([a-z][a-z0-9_-]*\)[[:space:]].*/\1/p' $T/help | tr '\n' ' ')"
timeout -s KILL 30 "$KT" check >$T/check 2>&1 || { show $T/check; fail "ktrace check failed"; }
exit 0
