#!/usr/bin/env bash
# Reproducibility test: build posagent for TARGET again from a copy of the
# tree in another directory (another path, fresh objects) and compare the
# bytes with build/TARGET/posagent. Both use the same pinned dependency set
# (build/deps/TARGET); only posagent's own compile and link are repeated.
#
#   toolchain/repro-check.sh TARGET
set -euo pipefail

target=${1:?usage: repro-check.sh TARGET}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ref="build/$target/posagent"
make --no-print-directory TARGET="$target" "$ref" >/dev/null

copy=$(mktemp -d /tmp/posagent-repro.XXXXXX)
trap 'rm -rf "$copy"' EXIT
# The sources as they are now (committed or not), without build outputs.
tar --exclude=./build -cf - . | tar -xf - -C "$copy"
mkdir -p "$copy/build/deps"
ln -s "$top/build/deps/$target" "$copy/build/deps/$target"
ln -s "$top/build/deps/src" "$copy/build/deps/src"
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 1704067200)
make --no-print-directory -C "$copy" -j"$(nproc)" TARGET="$target" \
	SOURCE_DATE_EPOCH="$epoch" "$ref" >"$copy/build.log" 2>&1 \
	|| { tail -20 "$copy/build.log" >&2; echo "repro-check: second build failed" >&2; exit 1; }
if cmp -s "$ref" "$copy/$ref"; then
	echo "repro-check: $ref is byte-identical when rebuilt in $copy ($(sha256sum <"$ref" | cut -c1-16))"
else
	echo "repro-check: $ref DIFFERS when rebuilt elsewhere:" >&2
	cmp "$ref" "$copy/$ref" | head -3 >&2 || true
	exit 1
fi
