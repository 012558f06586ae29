#!/bin/sh
# run.sh - compare the user-level part of guests/cputest.expected (written by QEMU) with what
# this machine's own CPU says: build cputest's families as a 32-bit Linux program (shim.c),
# run it, and diff its lines against the same lines of the golden copy. Needs an x86 host that
# can run 32-bit programs. Exit status 0 when they agree.
set -eu
GUESTS=$(cd "$(dirname "$0")/.." && pwd)
cd "$GUESTS"
T=$(mktemp -d "${TMPDIR:-/tmp}/host-oracle.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
CFLAGS="-m32 -ffreestanding -nostdlib -fno-pie -mgeneral-regs-only -O2 -fno-stack-protector \
-fno-asynchronous-unwind-tables -Ilib"
objs=
for src in lib/print.c lib/string.c lib/cmdline.c $(ls cputest/*.c cputest/*.S | LC_ALL=C sort) \
    host-oracle/shim.c; do
    obj="$T/$(echo "$src" | tr '/' '_').o"
    gcc $CFLAGS -c "$src" -o "$obj"
    objs="$objs $obj"
done
# shellcheck disable=SC2086
gcc -m32 -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack -o "$T/oracle" $objs
"$T/oracle" > "$T/host.out"
n=$(wc -l < "$T/host.out")
sed -n "2,$((n + 1))p" cputest.expected > "$T/qemu.out"
if cmp -s "$T/host.out" "$T/qemu.out"; then
    echo "host CPU agrees with cputest.expected on $n lines"
else
    echo "host CPU and cputest.expected differ:" >&2
    diff "$T/qemu.out" "$T/host.out" | head -40 >&2
    exit 1
fi
