#!/bin/bash
# Configures and builds ktrace in scratch directories with three build types
# and both compilers, warnings as errors, so that CI proves every build type
# builds: Release with gcc (-O3), RelWithDebInfo with clang, Debug with gcc.
# Reuses the build's cJSON and libmicrohttpd sources (KT_CJSON_DIR,
# KT_MHD_DIR), so nothing is fetched.
#
# usage: build_types.sh SOURCE_DIR SCRATCH_DIR CJSON_DIR MHD_DIR [TARGET]
set -uo pipefail
src=$1
scratch=$2
cjson=$3
mhd=$4
target=${5:-ktrace}
rc=0
for combo in Release:gcc RelWithDebInfo:clang Debug:gcc; do
	type=${combo%%:*}
	cc=${combo##*:}
	dir=$scratch/$type-$cc
	if ! command -v "$cc" >/dev/null; then
		echo "SKIP: $cc is not installed (scripts/install-deps.sh installs it)"
		exit 77
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	start=$(date +%s)
	if ! CC=$cc cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE="$type" -DKT_WERROR=ON \
		-DKT_TESTS=OFF -DKT_CJSON_DIR="$cjson" -DKT_MHD_DIR="$mhd" >"$dir.log" 2>&1 ||
		! cmake --build "$dir" -j2 --target "$target" >>"$dir.log" 2>&1; then
		echo "FAIL - $type with $cc does not build; the end of $dir.log:"
		grep -E 'error|warning' "$dir.log" | head -20
		tail -20 "$dir.log"
		rc=1
		continue
	fi
	if ! "$dir/ktrace" --version >/dev/null; then
		echo "FAIL - the $type $cc binary does not run: $dir/ktrace --version"
		rc=1
		continue
	fi
	echo "ok   - $type with $cc builds ($(($(date +%s) - start)) s, $(stat -c %s "$dir/ktrace") bytes)"
	rm -rf "$dir" "$dir.log"
done
exit $rc
