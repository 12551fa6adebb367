#!/bin/bash
# Build the guest initramfs for ktrace's qemu tests.
#
# usage: mkinitramfs.sh --ktrace PATH --out FILE [--work DIR]
#        mkinitramfs.sh --modules KERNEL_DIR --out FILE
#
# The first form writes the part every kernel shares: /init, busybox, qexit,
# jflat, the static ktrace binary, the workloads and the guest tests.  The
# second writes the per-kernel part: KERNEL_DIR/modules/*.ko and their load
# order (see fetch-kernels.sh).  Both are gzip'd newc cpio archives; the
# kernel unpacks concatenated archives in order, so the harness boots with
# "cat shared.gz modules.gz".
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ktrace="" out="" work="" moddir=""
while [ $# -gt 0 ]; do
	case $1 in
	--ktrace) ktrace=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--modules) moddir=$2; shift 2 ;;
	*) echo "mkinitramfs: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$out" ] || { echo "mkinitramfs: --out is required" >&2; exit 2; }

BUSYBOX=${KT_VM_BUSYBOX:-/bin/busybox}

# newc cpio of directory $1 -> gzip'd file $2; everything owned by root
pack() {
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | "$BUSYBOX" cpio -o -H newc 2>/dev/null) |
		gzip -1 >"$2.tmp"
	mv "$2.tmp" "$2"
}

if [ -n "$moddir" ]; then
	root=$(mktemp -d)
	trap 'rm -rf "$root"' EXIT
	mkdir -p "$root/lib/modules"
	if [ -d "$moddir/modules" ]; then
		cp "$moddir"/modules/*.ko "$moddir/modules/load-order" "$root/lib/modules/" 2>/dev/null || true
	fi
	pack "$root" "$out"
	exit 0
fi

[ -n "$ktrace" ] || { echo "mkinitramfs: --ktrace is required" >&2; exit 2; }
if ! file -L "$ktrace" 2>/dev/null | grep -q 'statically linked' &&
	ldd "$ktrace" >/dev/null 2>&1; then
	echo "mkinitramfs: $ktrace is dynamically linked; the guest has no libraries" >&2
	exit 2
fi
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' || {
	echo "mkinitramfs: $BUSYBOX is not a static busybox (install busybox-static)" >&2
	exit 2
}

work=${work:-$(dirname "$out")/build}
mkdir -p "$work/bin"
# The helpers and workloads only change with their sources: rebuild a
# binary when its source is newer.
build() { # SRC NAME
	local bin=$work/bin/$2
	if [ ! -x "$bin" ] || [ "$1" -nt "$bin" ]; then
		${CC:-gcc} -O2 -Wall -static -pthread -o "$bin.tmp" "$1"
		mv "$bin.tmp" "$bin"
	fi
}
build "$HERE/qexit.c" qexit
build "$HERE/jflat.c" jflat
for src in "$HERE"/workloads/*.c; do
	n=${src##*/}
	build "$src" "${n%.c}"
done

root=$work/root
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,root,etc,tests,lib/modules}
cp "$BUSYBOX" "$root/bin/busybox"
cp "$work"/bin/* "$root/bin/"
rm -f "$root"/bin/*.tmp
cp "$ktrace" "$root/bin/ktrace"
cp "$HERE/init" "$root/init"
cp "$HERE"/guest-tests/*.sh "$root/tests/"
chmod 755 "$root/init" "$root"/bin/* "$root"/tests/*
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
# The kernel opens /dev/console before running /init; without the node it
# still works (init reopens it from devtmpfs), but creating it needs root.
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true
pack "$root" "$out"
