#!/bin/bash
# Installs everything ktrace needs to build, test and benchmark on a fresh
# Debian 12 machine (as root). Only packages that are missing are installed;
# the system's apt sources are not changed.
set -euo pipefail

build=(gcc make cmake clang llvm libbpf-dev libelf-dev libdw-dev zlib1g-dev libzstd-dev bpftool
	dpkg-dev debian-archive-keyring file pkg-config linux-libc-dev)
tests=(python3 jq util-linux iproute2 nftables libxml2-utils linux-perf stress-ng fio
	bpftrace libclang-rt-14-dev qemu-system-x86 busybox-static cpio gzip procps
	man-db coreutils systemtap-sdt-dev prometheus prometheus-node-exporter
	python3-yaml python3-jsonschema python3-prometheus-client systemd curl)

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: run as root (it installs Debian packages)" >&2
	exit 1
fi

missing=()
for p in "${build[@]}" "${tests[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "install-deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# the static build links elfutils' libdw (--unwind dwarf): Debian's libdw-dev ships libdw.a
if ! ls /usr/lib/*/libdw.a >/dev/null 2>&1; then
	echo "install-deps.sh: libdw.a is missing (libdw-dev installed without its static library?)" >&2
	exit 1
fi
