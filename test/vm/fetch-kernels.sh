#!/bin/bash
# Download Debian cloud kernels for the qemu tests and cache them.
#
# usage: fetch-kernels.sh [--refresh] [SPEC...]      SPEC: 5.10 6.1 6.12 latest
#
# For each SPEC this leaves, under $KT_VM_CACHE/kernels/SPEC/:
#   vmlinuz  config  release (uname -r)  package (name=version)
#   modules/*.ko (uncompressed) and modules/load-order (deps first)
# and prints "SPEC DIR" on stdout.  Progress and errors go to stderr.
#
# Package names are resolved through Debian's metapackages with a private apt
# configuration (sources, lists, cache and state all live under the cache
# directory), so the host's apt setup is never touched and nothing is installed.
# The repositories are the Debian ones the host's apt is configured with
# (apt-get indextargets), with the suite of each kernel: KT_VM_MIRROR and
# KT_VM_SEC_MIRROR override them.
# A cached kernel is reused without any network access unless it is older than
# KT_VM_MAX_AGE days (default 7) or --refresh is given; if a refresh fails the
# cached kernel is still used.
#
# Exit status: 0 all kernels available, 77 at least one could not be had.
set -uo pipefail

CACHE=${KT_VM_CACHE:-/var/cache/ktrace-vm}
MAX_AGE=${KT_VM_MAX_AGE:-7}
# Repo-URI of the first Debian repository apt knows of whose suite matches RE
configured_repo() { # RE
	apt-get indextargets 2>/dev/null | awk -v RS= -F '\n' -v re="$1" '
		{
			uri = rel = origin = ""
			for (i = 1; i <= NF; i++) {
				split($i, kv, ": ")
				if (kv[1] == "Repo-URI") uri = kv[2]
				else if (kv[1] == "Release") rel = kv[2]
				else if (kv[1] == "Origin") origin = kv[2]
			}
			if (origin == "Debian" && rel ~ re) { sub("/$", "", uri); print uri; exit }
		}'
}
MIRROR=${KT_VM_MIRROR:-$(configured_repo '^[a-z]+$')}
SEC_MIRROR=${KT_VM_SEC_MIRROR:-$(configured_repo '-security$')}
KEYRING=${KT_VM_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
# modules the guest needs (block devices are not built into Debian's kernels)
WANT_MODULES="null_blk loop"

refresh=0
if [ "${1:-}" = --refresh ]; then
	refresh=1
	shift
fi
SPECS=${*:-"5.10 6.1 6.12 latest"}

log() { echo "fetch-kernels: $*" >&2; }

# which apt "distribution set" a kernel spec comes from
dist_of() {
	case $1 in
	5.10) echo bullseye ;;
	6.1 | 6.12) echo bookworm ;;
	latest) echo sid ;;
	*) return 1 ;;
	esac
}

write_sources() { # DIST FILE
	local o="[signed-by=$KEYRING]"
	case $1 in
	bullseye)
		echo "deb $o $MIRROR bullseye main"
		[ -z "$SEC_MIRROR" ] || echo "deb $o $SEC_MIRROR bullseye-security main"
		;;
	bookworm)
		echo "deb $o $MIRROR bookworm main"
		echo "deb $o $MIRROR bookworm-updates main"
		[ -z "$SEC_MIRROR" ] || echo "deb $o $SEC_MIRROR bookworm-security main"
		;;
	sid) echo "deb $o $MIRROR sid main" ;;
	esac >"$2"
}

# apt-get/apt-cache with every path pointed into $CACHE/apt/DIST
apt_opts() { # DIST
	local d=$CACHE/apt/$1
	printf '%s\n' \
		-o "Dir::Etc::SourceList=$d/sources.list" \
		-o "Dir::Etc::SourceParts=$d/sources.list.d" \
		-o "Dir::Etc::Preferences=$d/preferences" \
		-o "Dir::Etc::PreferencesParts=$d/preferences.d" \
		-o "Dir::State=$d/state" \
		-o "Dir::State::Lists=$d/lists" \
		-o "Dir::State::status=$d/state/status" \
		-o "Dir::Cache=$d/cache" \
		-o "APT::Architectures=amd64" \
		-o "APT::Architecture=amd64" \
		-o "Acquire::Languages=none" \
		-o "APT::Sandbox::User=root" \
		-o "Debug::NoLocking=1"
}

kapt() { # DIST apt-get|apt-cache ARGS...
	local dist=$1 tool=$2
	shift 2
	local -a o
	mapfile -t o < <(apt_opts "$dist")
	"$tool" "${o[@]}" "$@"
}

# Prepare and update the private apt tree of DIST (at most once per run).
apt_update() { # DIST
	local d=$CACHE/apt/$1
	[ -f "$d/updated.$$" ] && return 0
	if [ -z "$MIRROR" ]; then
		log "apt knows of no Debian repository (apt-get indextargets): configure one or set KT_VM_MIRROR"
		return 1
	fi
	mkdir -p "$d/sources.list.d" "$d/preferences.d" "$d/state" \
		"$d/lists/partial" "$d/cache/archives/partial"
	touch "$d/state/status"
	write_sources "$1" "$d/sources.list"
	log "updating package lists for $1"
	# apt-get update exits 0 on some fetch and signature failures, which it
	# reports as warnings
	if ! kapt "$1" apt-get -q update >"$d/update.log" 2>&1 ||
		grep -qE '^E: |^W: .*(GPG error|Failed to fetch|not signed|NO_PUBKEY)' "$d/update.log"; then
		log "apt-get update for $1 failed:"
		sed 's/^/    /' "$d/update.log" >&2
		return 1
	fi
	rm -f "$d"/updated.*
	touch "$d/updated.$$"
}

first_dep() { # DIST PACKAGE REGEX -> first Depends: matching REGEX
	kapt "$1" apt-cache depends "$2" 2>/dev/null |
		awk -v re="$3" '$1 == "Depends:" && $2 ~ re { print $2; exit }'
}

# Name of the package that carries the kernel image for SPEC.
resolve() { # SPEC DIST
	case $1 in
	6.12)
		# bookworm's default kernel is 6.1; 6.12 comes through
		# bookworm-security with its own versioned metapackage
		first_dep "$2" linux-image-6.12-cloud-amd64 '^linux-image-6\.12'
		;;
	*) first_dep "$2" linux-image-cloud-amd64 '^linux-image-' ;;
	esac
}

have_pkg() { # DIST PACKAGE
	kapt "$1" apt-cache show "$2" >/dev/null 2>&1
}

download() { # DIST DIR PACKAGE...
	local dist=$1 dir=$2
	shift 2
	(cd "$dir" && kapt "$dist" apt-get -q download "$@") >"$dir/download.log" 2>&1
}

# Fetch SPEC into $CACHE/kernels/SPEC; returns non-zero on failure.
fetch_one() { # SPEC
	local spec=$1 dist img tmp out=$CACHE/kernels/$1 ver deb
	dist=$(dist_of "$spec") || {
		log "unknown kernel spec '$spec' (known: 5.10 6.1 6.12 latest)"
		return 1
	}
	apt_update "$dist" || return 1
	img=$(resolve "$spec" "$dist")
	if [ -z "$img" ]; then
		log "$spec: could not resolve the kernel package through the metapackage"
		return 1
	fi
	ver=$(kapt "$dist" apt-cache show --no-all-versions "$img" 2>/dev/null |
		awk '/^Version:/ { print $2; exit }')
	if [ -f "$out/package" ] && [ "$(cat "$out/package")" = "$img=$ver" ]; then
		touch "$out/package"
		log "$spec: $img=$ver is current"
		return 0
	fi
	tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
	log "$spec: downloading $img=$ver"
	# The signed image and its -unsigned twin carry the same kernel; some
	# mirrors lack one of them, so try both.
	if ! download "$dist" "$tmp" "$img=$ver"; then
		if have_pkg "$dist" "$img-unsigned" &&
			download "$dist" "$tmp" "$img-unsigned=$ver"; then
			:
		else
			log "$spec: download of $img failed:"
			sed 's/^/    /' "$tmp/download.log" >&2
			rm -rf "$tmp"
			return 1
		fi
	fi
	# Since Debian 14 linux-image-* is an empty package depending on
	# linux-binary-* (vmlinuz), linux-base-* (config) and linux-modules-*.
	deb=$(ls "$tmp"/*.deb)
	if ! dpkg-deb -c "$deb" | grep -E '/vmlinuz' >/dev/null; then
		local -a more=()
		local p
		for p in $(kapt "$dist" apt-cache depends "$img=$ver" 2>/dev/null |
			awk '$1 == "Depends:" && $2 ~ /^linux-(binary|base|modules)-/ { print $2 }' | sort -u); do
			more+=("$p")
		done
		if [ ${#more[@]} -eq 0 ] || ! download "$dist" "$tmp" "${more[@]}"; then
			log "$spec: $img has no vmlinuz and its parts could not be downloaded"
			[ -f "$tmp/download.log" ] && sed 's/^/    /' "$tmp/download.log" >&2
			rm -rf "$tmp"
			return 1
		fi
	fi
	mkdir -p "$tmp/x"
	for deb in "$tmp"/*.deb; do
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" \
			--wildcards './boot/*' './lib/modules/*' './usr/lib/modules/*' 2>/dev/null
	done
	if ! extract_tree "$spec" "$tmp/x" "$tmp/out"; then
		rm -rf "$tmp"
		return 1
	fi
	echo "$img=$ver" >"$tmp/out/package"
	rm -rf "$out"
	mv "$tmp/out" "$out"
	rm -rf "$tmp"
	log "$spec: $(cat "$out/release") ready"
}

# Pick vmlinuz, config and the wanted modules out of the unpacked packages.
extract_tree() { # SPEC XDIR OUTDIR
	local x=$2 o=$3 k c rel mdir
	mkdir -p "$o/modules"
	k=$(find "$x" -type f \( -name 'vmlinuz-*' -o -name 'vmlinuz' -o -name 'vmlinuz.*' \) | head -1)
	c=$(find "$x" -type f \( -name 'config-*' -o -path '*/modules/*/config' \) | head -1)
	if [ -z "$k" ] || [ -z "$c" ]; then
		log "$1: no vmlinuz or config in the downloaded packages"
		return 1
	fi
	cp "$k" "$o/vmlinuz"
	cp "$c" "$o/config"
	mdir=$(find "$x" -mindepth 3 -maxdepth 4 -type d -path '*/modules/*' -name '[0-9]*' | head -1)
	rel=$(basename "$mdir")
	[ -n "$rel" ] || rel=$(basename "$k" | sed 's/^vmlinuz-//')
	echo "$rel" >"$o/release"
	# resolve module dependencies from each module's own .modinfo
	local todo=$WANT_MODULES done="" m f deps order=""
	modfile() { find "$mdir" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" -o -name "$1.ko.gz" | head -1; }
	addmod() { # NAME (depth-first, dependencies before dependents)
		case " $done " in *" $1 "*) return 0 ;; esac
		done="$done $1"
		f=$(modfile "$1")
		if [ -z "$f" ]; then
			grep -qE "/$1\.ko\$" "$mdir/modules.builtin" 2>/dev/null ||
				log "$1: module not found (neither built in nor shipped)"
			return 0
		fi
		case $f in
		*.xz) xz -dc "$f" >"$o/modules/$1.ko" ;;
		*.zst) zstd -qdc "$f" >"$o/modules/$1.ko" ;;
		*.gz) gzip -dc "$f" >"$o/modules/$1.ko" ;;
		*) cp "$f" "$o/modules/$1.ko" ;;
		esac
		deps=$(tr '\0' '\n' <"$o/modules/$1.ko" | sed -n 's/^depends=//p' | tr ',' ' ')
		local d
		for d in $deps; do addmod "$d"; done
		order="$order $1"
	}
	for m in $todo; do addmod "$m"; done
	printf '%s\n' $order >"$o/modules/load-order"
}

mkdir -p "$CACHE/kernels" "$CACHE/apt" || {
	log "cannot create cache directory $CACHE (set KT_VM_CACHE)"
	exit 77
}
for tool in apt-get apt-cache dpkg-deb; do
	command -v $tool >/dev/null || {
		log "$tool not found: kernels come from Debian's package registry"
		exit 77
	}
done

# One job per apt distribution set, in parallel; kernels of the same set run
# one after the other (they share the private lists).  A lock file per set
# keeps concurrent runs (ctest -j) from updating the same lists at once.
declare -A groups=()
for s in $SPECS; do
	d=$(dist_of "$s") || {
		log "unknown kernel spec '$s' (known: 5.10 6.1 6.12 latest)"
		exit 77
	}
	groups[$d]="${groups[$d]:-} $s"
done

rc=0
pids=()
for d in "${!groups[@]}"; do
	(
		exec 9>"$CACHE/apt/$d.lock"
		flock 9
		st=0
		for s in ${groups[$d]}; do
			o=$CACHE/kernels/$s
			if [ $refresh = 0 ] && [ -f "$o/package" ] && [ -f "$o/vmlinuz" ] &&
				[ -z "$(find "$o/package" -mtime "+$MAX_AGE")" ]; then
				continue
			fi
			if ! fetch_one "$s"; then
				if [ -f "$o/vmlinuz" ]; then
					log "$s: refresh failed, using the cached $(cat "$o/package")"
				else
					st=1
				fi
			fi
		done
		exit $st
	) &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || rc=77; done
rm -f "$CACHE"/apt/*/updated.*
for s in $SPECS; do
	o=$CACHE/kernels/$s
	if [ -f "$o/vmlinuz" ]; then
		echo "$s $o"
	else
		log "$s: not available"
		rc=77
	fi
done
exit $rc
