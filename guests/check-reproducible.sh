#!/bin/sh
# check-reproducible.sh - rebuild every guest into a temporary directory and compare the result
# byte for byte with the committed guests/*.elf. Exit 0 when they are identical, 1 (with the
# names of the guests that differ) when they are not: either a source changed without
# `sh guests/build.sh` being run, or the toolchain differs from the one in guests/TOOLCHAIN
# (compiler output is only reproducible with the same gcc and binutils).
set -eu
GUESTS=$(cd "$(dirname "$0")" && pwd)
for tool in "${CC:-gcc}" as ld; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "check-reproducible: $tool not found: the guests need gcc and binutils to rebuild" \
            "(on Debian 12: apt-get install gcc)" >&2
        exit 1
    fi
done
T=$(mktemp -d "${TMPDIR:-/tmp}/guests-check.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

sh "$GUESTS/build.sh" "$T" >/dev/null
status=0
for name in $( (cd "$T" && ls -- *.elf *.bin; cd "$GUESTS" && ls -- *.elf *.bin) 2>/dev/null | LC_ALL=C sort -u); do
    if [ ! -f "$GUESTS/$name" ]; then
        echo "check-reproducible: $name is built but not committed in guests/" >&2
        status=1
    elif [ ! -f "$T/$name" ]; then
        echo "check-reproducible: guests/$name is committed but build.sh does not build it" >&2
        status=1
    elif ! cmp -s "$T/$name" "$GUESTS/$name"; then
        echo "check-reproducible: guests/$name differs from a fresh build" >&2
        status=1
    fi
done
if ! cmp -s "$T/TOOLCHAIN" "$GUESTS/TOOLCHAIN"; then
    echo "check-reproducible: this toolchain differs from the one in guests/TOOLCHAIN:" >&2
    diff "$GUESTS/TOOLCHAIN" "$T/TOOLCHAIN" >&2 || true
    status=1
fi
if [ $status -ne 0 ]; then
    echo "check-reproducible: FAILED - run 'sh guests/build.sh' (with the toolchain named in" \
        "guests/TOOLCHAIN) and commit the .elf files" >&2
    exit 1
fi
echo "check-reproducible: all guests match their sources"
