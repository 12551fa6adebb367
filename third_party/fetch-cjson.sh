#!/bin/bash
# Obtain cJSON's source from Debian's source package of a pinned version, with a
# private apt configuration (the system's sources are left as they are), and
# unpack it into DEST. Debian ships cJSON only as a shared library; ktrace is
# static, so the build compiles this source into a static library.
# usage: fetch-cjson.sh VERSION DEST
set -euo pipefail
ver=$1
dest=$2
[ -f "$dest/cJSON.c" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
{
	for s in "debian bookworm" "debian bookworm-updates" "debian-security bookworm-security"; do
		set -- $s
		echo "deb-src [signed-by=$keyring] http://deb.debian.org/$1 $2 main"
	done
} >"$work/sources.list"
opts=(-o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o APT::Sandbox::User=root)
apt-get "${opts[@]}" -qq update
(cd "$work" && apt-get "${opts[@]}" -qq source --download-only "cjson=$ver" >/dev/null)
dsc=$(ls "$work"/cjson_*.dsc)
# apt verified the files against the signed Sources index; dpkg-source applies
# Debian's patches (the security fixes are why the version is pinned).
(cd "$work" && dpkg-source --no-check -x "$dsc" src >/dev/null)
mkdir -p "$dest"
cp "$work/src/cJSON.c" "$work/src/cJSON.h" "$work/src/LICENSE" "$dest/"
echo "$ver" >"$dest/VERSION"
