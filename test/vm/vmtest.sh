#!/bin/bash
# Run ktrace's guest tests on Debian kernels under qemu.
#
# usage: vmtest.sh --ktrace PATH [options]
#   --ktrace PATH      static ktrace binary (default: $KTRACE_BIN)
#   --kernels LIST     kernels to boot, of: 5.10 6.1 6.12 latest
#                      (default: $KT_VM_KERNELS or all four)
#   --tests a,b        run only these guest tests (names without NN- and .sh)
#   --attach SPEC      export KTRACE_ATTACH=SPEC to every guest test
#   --jobs N           guests booted at once (default: number of CPUs)
#   --smp N            guest CPUs (default 1)
#   --timeout SECS     per guest (default 420)
#   --work DIR         keep logs and images there (default: a temporary dir,
#                      removed on success)
#   --refresh          look for newer kernel packages even if cached
#   --verbose          print the log of passing tests too
#
# Prints, per kernel, one "ok"/"not ok"/"skip" line per test and a summary.
# Exit status: 0 all passed, 1 something failed, 77 nothing could run (no
# qemu, no busybox-static, no kernel): ctest treats 77 as "skipped".
#
# Environment: KT_VM_CACHE (kernel cache, default /var/cache/ktrace-vm),
# KT_VM_NO_INSTALL=1 (never apt-get install the host tools), KT_VM_KVM=1
# (use KVM instead of software emulation).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ktrace=${KTRACE_BIN:-}
kernels=${KT_VM_KERNELS:-"5.10 6.1 6.12 latest"}
tests="" attach="" jobs=$(nproc 2>/dev/null || echo 2) smp=1 timeout=420
work="" refresh="" verbose=0

while [ $# -gt 0 ]; do
	case $1 in
	--ktrace) ktrace=$2; shift 2 ;;
	--kernels) kernels=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--attach) attach=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--refresh) refresh=--refresh; shift ;;
	--verbose) verbose=1; shift ;;
	-h | --help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	*) echo "vmtest: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
kernels=$(echo $kernels | tr ',' ' ')

say() { echo "vmtest: $*"; }
skip_all() {
	for k in $kernels; do say "[$k] SKIP: $*"; done
	exit 77
}

if [ -z "$ktrace" ] || [ ! -x "$ktrace" ]; then
	say "no ktrace binary to test (--ktrace PATH or KTRACE_BIN): '${ktrace}'"
	exit 1
fi
ktrace=$(readlink -f "$ktrace")

# --- host tools -----------------------------------------------------------
QEMU=${KT_VM_QEMU:-qemu-system-x86_64}
BUSYBOX=${KT_VM_BUSYBOX:-/bin/busybox}
static_busybox() { [ -x "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; }
missing=()
command -v "$QEMU" >/dev/null || missing+=(qemu-system-x86)
static_busybox || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" = 0 ] && [ -z "${KT_VM_NO_INSTALL:-}" ] && command -v apt-get >/dev/null; then
		say "installing ${missing[*]}"
		mkdir -p "${KT_VM_CACHE:-/var/cache/ktrace-vm}"
		(
			flock 9
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
				-o DPkg::Lock::Timeout=300 "${missing[@]}"
		) 9>"${KT_VM_CACHE:-/var/cache/ktrace-vm}/install.lock" >/tmp/ktrace-vm-install.$$.log 2>&1 ||
			{ say "apt-get install ${missing[*]} failed:"; tail -n 5 /tmp/ktrace-vm-install.$$.log; }
		rm -f /tmp/ktrace-vm-install.$$.log
	fi
	command -v "$QEMU" >/dev/null || skip_all "$QEMU not found (apt-get install qemu-system-x86)"
	static_busybox || skip_all "no static busybox at $BUSYBOX (apt-get install busybox-static)"
fi
command -v gcc >/dev/null || skip_all "gcc not found: the guest helpers are built with gcc -static"
for t in file gzip flock; do
	command -v $t >/dev/null || skip_all "$t not found"
done

# --- kernels --------------------------------------------------------------
declare -A kdir=()
while read -r spec dir; do
	[ -n "$spec" ] && kdir[$spec]=$dir
done < <("$HERE/fetch-kernels.sh" $refresh $kernels)
any=0
for k in $kernels; do [ -n "${kdir[$k]:-}" ] && any=1; done
[ $any = 1 ] || skip_all "no kernel could be downloaded from Debian's package registry (see messages above)"

# --- images ---------------------------------------------------------------
keep=0
if [ -n "$work" ]; then
	keep=1
	mkdir -p "$work"
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/ktrace-vm.XXXXXX")
fi
work=$(readlink -f "$work")
# the compiled helpers are reused across runs when the sources are unchanged
bcache=${KT_VM_CACHE:-/var/cache/ktrace-vm}/build
{ mkdir -p "$bcache" 2>/dev/null && [ -w "$bcache" ]; } || bcache=$work/build
if ! (flock 9 && "$HERE/mkinitramfs.sh" --ktrace "$ktrace" --out "$work/shared.cpio.gz" \
	--work "$bcache") 9>"$bcache.lock" >"$work/mkinitramfs.log" 2>&1; then
	say "building the initramfs failed:"
	cat "$work/mkinitramfs.log"
	exit 1
fi

# --- boot -----------------------------------------------------------------
append="console=ttyS0 quiet panic=-1 rdinit=/init mitigations=off"
[ -n "$tests" ] && append="$append kt.tests=$tests"
[ -n "$attach" ] && append="$append kt.attach=$attach"
[ $verbose = 1 ] && append="$append kt.verbose=1"
# Software emulation by default: results must not depend on the host CPU,
# and a /dev/kvm that exists is not always usable (nested virtualization).
# rdrand keeps the guest's first read of /dev/random from blocking.
accel=(-accel tcg -cpu qemu64,+rdrand)
if [ "${KT_VM_KVM:-}" = 1 ]; then
	accel=(-enable-kvm -cpu host)
fi

boot() { # KERNEL: writes $work/K.{initrd.gz,console.log,results.txt,rc,secs}
	local k=$1 d=${kdir[$1]} t0=$SECONDS rc
	"$HERE/mkinitramfs.sh" --modules "$d" --out "$work/$k.modules.gz" || return 1
	cat "$work/shared.cpio.gz" "$work/$k.modules.gz" >"$work/$k.initrd.gz"
	: >"$work/$k.results.txt"
	timeout -k 5 "$timeout" "$QEMU" -nodefaults -nographic -monitor none -no-reboot -net none \
		"${accel[@]}" -smp "$smp" -m 1G \
		-serial "file:$work/$k.console.log" -serial "file:$work/$k.results.txt" \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$d/vmlinuz" -initrd "$work/$k.initrd.gz" -append "$append" </dev/null \
		>"$work/$k.qemu.log" 2>&1
	rc=$?
	echo $rc >"$work/$k.rc"
	echo $((SECONDS - t0)) >"$work/$k.secs"
}

t_start=$SECONDS
running=0
for k in $kernels; do
	[ -n "${kdir[$k]:-}" ] || continue
	if [ $running -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	echo "vmtest: [$k] booting $(cat "${kdir[$k]}/release")" >&2
	boot "$k" &
	running=$((running + 1))
done
wait

# --- report ---------------------------------------------------------------
# qemu's status: (n << 1) | 1 = the guest reported n failures through qexit;
# 0 = the guest powered off or panicked without a verdict; 124 = host timeout
npass=0 nfail=0 nskip=0
for k in $kernels; do
	d=${kdir[$k]:-}
	if [ -z "$d" ]; then
		say "[$k] SKIP: kernel not available from Debian's package registry"
		nskip=$((nskip + 1))
		continue
	fi
	res=$work/$k.results.txt rc=$(cat "$work/$k.rc" 2>/dev/null || echo 255)
	say "[$k] $(cat "$d/release") ($(cat "$d/package")), $(cat "$work/$k.secs" 2>/dev/null)s"
	tr -d '\r' <"$res" | grep -v '^# \(kernel\|cmdline\|end\) ' | sed "s/^/[$k] /"
	p=$(grep -c '^ok ' "$res")
	f=$(grep -c '^not ok ' "$res")
	s=$(grep -c '^skip ' "$res")
	verdict=""
	if ! grep -q '^# end ' "$res"; then
		case $rc in
		124 | 137) verdict="guest timed out after ${timeout}s" ;;
		*) verdict="guest ended without a verdict (qemu exit $rc)" ;;
		esac
	elif [ $((rc & 1)) != 1 ] || [ $((rc >> 1)) != "$f" ]; then
		verdict="qemu exit $rc does not match $f failed tests"
	fi
	if [ -n "$verdict" ]; then
		f=$((f + 1))
		say "[$k] not ok boot: $verdict; last console lines:"
		tr -d '\r' <"$work/$k.console.log" | tail -n 25 | sed "s/^/[$k] #   /"
		sed "s/^/[$k] #   qemu: /" "$work/$k.qemu.log"
	fi
	if [ "$f" -gt 0 ]; then
		say "[$k] FAIL: $p passed, $f failed, $s skipped"
		nfail=$((nfail + 1))
	elif [ "$p" = 0 ]; then
		say "[$k] SKIP: no test ran ($s skipped)"
		nskip=$((nskip + 1))
	else
		say "[$k] PASS: $p passed, $s skipped"
		npass=$((npass + 1))
	fi
done
say "kernels: $npass passed, $nfail failed, $nskip skipped in $((SECONDS - t_start))s (boot and tests)"
if [ $nfail -gt 0 ]; then
	say "logs kept in $work"
	exit 1
fi
[ $keep = 1 ] || rm -rf "$work"
[ $npass -gt 0 ] || exit 77
exit 0
