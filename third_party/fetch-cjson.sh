#!/bin/bash
# Obtain cJSON's source from Debian's source package of a pinned upstream
# version (fetch-debsrc.sh: the machine's configured Debian repositories, the
# newest Debian revision of that version, the upstream tarball's SHA-256
# checked) and copy its two files, with Debian's patches applied, into DEST.
# Debian ships cJSON only as a shared library; ktrace is static, so the build
# compiles this source into a static library.
#
# usage: fetch-cjson.sh UPSTREAM_VERSION ORIG_SHA256 DEST
set -euo pipefail
upstream=$1
orig_sha=$2
dest=$3
[ -f "$dest/cJSON.c" ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$(dirname "$0")/fetch-debsrc.sh" cjson "$upstream" "$orig_sha" "$work/src"
mkdir -p "$dest"
cp "$work/src/cJSON.c" "$work/src/cJSON.h" "$work/src/LICENSE" "$dest/"
cp "$work/src/DEBIAN_VERSION" "$dest/VERSION"
