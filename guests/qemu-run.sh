#!/bin/sh
# qemu-run.sh - run a guest kernel under QEMU the one way the project compares against.
#
#   sh guests/qemu-run.sh GUEST.elf [CMDLINE]
#
# The guest's COM1 output goes to stdout. The exit status is QEMU's: a guest that writes code C
# to the isa-debug-exit port makes QEMU exit with (C << 1) | 1, so a guest exiting with 0 gives
# 1. A guest that hangs is killed after QEMU_TIMEOUT seconds (default 120; status 124).
# Note that QEMU passes "<file name of the kernel> <CMDLINE>" as the Multiboot command line.
# QEMU_CPU picks the CPU model (-cpu; e.g. phenom, an AMD one with SVM), QEMU_INITRD the modules,
# QEMU_VGAMEM_MB adds the std-VGA (-vga std) with that much video memory in MiB (wasmvisor's is 2).
set -eu
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
    echo "usage: $0 GUEST.elf [CMDLINE]" >&2
    exit 2
fi
if [ ! -f "$1" ]; then
    echo "$0: no such guest: $1" >&2
    exit 2
fi
if [ $# -eq 2 ]; then
    set -- "$1" -append "$2"
fi
# Multiboot modules, as QEMU's -initrd takes them: QEMU_INITRD="FILE [ARGS],FILE [ARGS]".
if [ -n "${QEMU_CPU:-}" ]; then
    set -- "$@" -cpu "$QEMU_CPU"
fi
if [ -n "${QEMU_VGAMEM_MB:-}" ]; then
    set -- "$@" -vga std -global VGA.vgamem_mb="$QEMU_VGAMEM_MB"
fi
if [ -n "${QEMU_INITRD:-}" ]; then
    set -- "$@" -initrd "$QEMU_INITRD"
fi
exec timeout "${QEMU_TIMEOUT:-120}" qemu-system-i386 -kernel "$@" -m 32 -display none \
    -serial stdio -monitor none -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=0x04
