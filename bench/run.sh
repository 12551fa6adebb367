#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# ktrace's benchmark, one command: bench/run.sh [--quick] [KTRACE] [run.py options]
# Builds the floor (do-nothing BPF programs and their loader) and the storms
# into build/bench/, then runs bench/run.py as root. See bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
out=${KTB_BUILD:-$repo/build/bench}
cc=${CC:-cc}
clang=${CLANG:-clang}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: run as root (it loads BPF programs)" >&2
	exit 2
fi
command -v bpftrace >/dev/null || echo "bench: bpftrace is missing (apt-get install bpftrace): its columns stay empty" >&2
mkdir -p "$out"
warn="-Wall -Wextra -Werror -Wno-unused-parameter"
multiarch=$($cc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
$clang -O2 -g -target bpf -D__TARGET_ARCH_x86 -I/usr/include/"$multiarch" $warn \
	-c "$here/floor/floor.bpf.c" -o "$out/floor.bpf.o"
$cc -O2 $warn -o "$out/floor" "$here/floor/floor.c" -static -lbpf -lelf -lz
for w in "$here"/workloads/*.c; do
	n=$(basename "$w" .c)
	# frame pointers: the profiled spinner's user stack must be walkable
	$cc -O2 -g -fno-omit-frame-pointer $warn -o "$out/$n" "$w"
done
exec python3 "$here/run.py" --bin "$out" "$@"
