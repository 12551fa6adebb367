#!/bin/bash
# Obtain the source of a third-party library from Debian's source package of a
# pinned upstream version and unpack it, with Debian's patches applied, into
# DEST. For what Debian ships only as a shared library (cJSON) or with
# features ktrace must not carry (libmicrohttpd's TLS): the build compiles
# the source itself, statically.
#
# usage: fetch-debsrc.sh SOURCE_PACKAGE UPSTREAM_VERSION ORIG_SHA256 DEST
#
# Where from: the Debian repositories this machine's apt is configured with
# (apt-get indextargets), as deb-src entries in a private apt configuration
# (lists and cache in a temporary directory; the system's sources, lists and
# state are left as they are). The keys are the system's trusted ones, so apt
# verifies the signed Sources index and every file against it.
#
# Which revision: the newest Debian revision of UPSTREAM_VERSION that apt
# offers (security updates replace revisions; the upstream version stays).
# The upstream tarball (orig.tar) does not change between Debian revisions,
# so it is also checked against ORIG_SHA256. DEST/DEBIAN_VERSION names the
# revision unpacked; DEST must not exist yet (it is created whole or not at
# all).
set -euo pipefail
pkg=$1
upstream=$2
orig_sha=$3
dest=$4

die() {
	echo "fetch-debsrc: $pkg: $*" >&2
	exit 1
}
[ -e "$dest" ] && die "$dest exists already"
for t in apt-get apt-cache dpkg-source sha256sum; do
	command -v $t >/dev/null || die "$t not found (apt-get install dpkg-dev)"
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"

# deb-src for every Debian repository, suite and component apt knows of
apt-get indextargets 2>/dev/null | awk -v RS= -F '\n' '
	{
		uri = rel = comp = origin = ""
		for (i = 1; i <= NF; i++) {
			split($i, kv, ": ")
			if (kv[1] == "Repo-URI") uri = kv[2]
			else if (kv[1] == "Release") rel = kv[2]
			else if (kv[1] == "Component") comp = kv[2]
			else if (kv[1] == "Origin") origin = kv[2]
		}
		if (uri != "" && rel != "" && origin == "Debian" && !seen[uri " " rel " " comp]++)
			print "deb-src " uri " " rel " " comp
	}' >"$work/sources.list"
[ -s "$work/sources.list" ] ||
	die "apt knows of no Debian repository (apt-get indextargets lists none): configure one in /etc/apt/sources.list.d and run apt-get update"

opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root
	-o Acquire::Languages=none)
if ! apt-get "${opts[@]}" -q update >"$work/update.log" 2>&1 ||
	grep -qE '^(E|W): ' "$work/update.log"; then
	cat "$work/update.log" >&2
	die "apt-get update of the source indexes failed (sources: $(tr '\n' ';' <"$work/sources.list"))"
fi

# the newest Debian revision of the upstream version
ver=
for v in $(apt-cache "${opts[@]}" showsrc "$pkg" 2>/dev/null | awk '/^Version:/ { print $2 }'); do
	u=${v#*:}
	[ "${u%-*}" = "$upstream" ] || continue
	if [ -z "$ver" ] || dpkg --compare-versions "$v" gt "$ver"; then
		ver=$v
	fi
done
[ -n "$ver" ] || die "no source package of $pkg $upstream in the configured Debian repositories (apt-cache showsrc $pkg)"

(cd "$work" && apt-get "${opts[@]}" -qq source --download-only "$pkg=$ver" >/dev/null) ||
	die "apt-get source $pkg=$ver failed"
orig=$(ls "$work/${pkg}_$upstream".orig.tar.* 2>/dev/null | head -1)
[ -n "$orig" ] || die "the source package $pkg=$ver has no ${pkg}_$upstream.orig.tar"
got=$(sha256sum "$orig" | cut -d' ' -f1)
[ "$got" = "$orig_sha" ] ||
	die "$(basename "$orig") has SHA-256 $got, expected $orig_sha: not the pinned upstream release"

# apt verified the files against the signed Sources index; dpkg-source
# applies Debian's patches (the security fixes of revision $ver).
dsc=$(ls "$work/${pkg}"_*.dsc)
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null)
echo "$ver" >"$work/src/DEBIAN_VERSION"
mkdir -p "$(dirname "$dest")"
mv "$work/src" "$dest"
echo "fetch-debsrc: $pkg $ver (orig SHA-256 verified)" >&2
