#!/bin/sh
# build.sh - build every guest kernel (Multiboot v1 ELF, linked at 1 MiB) from source.
#
#   sh guests/build.sh [OUTDIR]      (default OUTDIR: the guests/ directory itself)
#
# Each guest is <name>: its own sources plus the shared library in lib/. The build is
# reproducible byte for byte: sources are compiled from the guests/ directory with relative
# paths in a fixed order, no build id, no timestamps, and the linker script drops .comment.
# guests/check-reproducible.sh rebuilds into a temporary directory and compares; the versions
# of gcc, as and ld used are written to OUTDIR/TOOLCHAIN.
set -eu

GUESTS=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$GUESTS}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$GUESTS"
export LC_ALL=C
unset SOURCE_DATE_EPOCH || true

CC=${CC:-gcc}
CFLAGS="-m32 -ffreestanding -nostdlib -fno-pie -mgeneral-regs-only -O2 -fno-stack-protector \
-fno-asynchronous-unwind-tables -Wall -Wextra -Ilib"
LDFLAGS="-m32 -nostdlib -no-pie -static -Wl,--build-id=none -Wl,-T,lib/link.ld -Wl,-z,noexecstack -Wl,--no-warn-rwx-segments"

OBJ=$(mktemp -d "${TMPDIR:-/tmp}/guests-obj.XXXXXX")
trap 'rm -rf "$OBJ"' EXIT INT TERM

LIB="lib/multiboot.S lib/serial.c lib/print.c lib/cmdline.c lib/string.c"

# build NAME SOURCE... : compile and link SOURCE... plus the library into $OUT/NAME.elf
# (with EXTRA_LDFLAGS added to the link)
build() {
    name=$1
    shift
    objs=
    for src in $LIB "$@"; do
        obj="$OBJ/$name/$(echo "$src" | tr '/' '_').o"
        mkdir -p "$OBJ/$name"
        $CC $CFLAGS -c "$src" -o "$obj"
        objs="$objs $obj"
    done
    # shellcheck disable=SC2086
    $CC ${EXTRA_LDFLAGS:-} $LDFLAGS -o "$OUT/$name.elf" $objs
    echo "built $OUT/$name.elf"
}

# build_boot_sector NAME SOURCE : assemble SOURCE (16-bit code) into $OUT/NAME.bin, a 512-byte
# boot sector linked for 0000:7C00
build_boot_sector() {
    mkdir -p "$OBJ/$1"
    $CC -m32 -c "$2" -o "$OBJ/$1/boot.o"
    ld -m elf_i386 -Ttext=0x7c00 --oformat binary --build-id=none -o "$OUT/$1.bin" "$OBJ/$1/boot.o"
    echo "built $OUT/$1.bin"
}

# The toolchain that produced the kernels: a rebuild is byte-identical only with the same one.
{
    $CC --version | head -n 1
    as --version | head -n 1
    ld --version | head -n 1
} > "$OUT/TOOLCHAIN"

build hello hello/hello.c
build cputest $(ls cputest/*.c cputest/*.S | sort)
# The benchmark guests that wasmvisor bench times phase by phase on every host: with phase markers
# (bench/markers.c, which waits for the host by interrupt), and code and written data on separate
# pages: a store to a page with translated code costs QEMU a slow path (and wasmvisor a check)
# that a real program, whose code is read-only, never pays.
MARKERS="bench/markers.c pc/pic.c pc/uart.c $(ls pm/*.c pm/*.S | sort)"
EXTRA_LDFLAGS=-Wl,--defsym=DATA_PAGE_ALIGN=1
build regloop bench/regloop.S $MARKERS
build compute bench/compute.c $MARKERS
build realc bench/realc.c $MARKERS
EXTRA_LDFLAGS=
# ...except this one, whose point is a store into its code's page (the linker puts nothing else
# there: its loop and the word it writes are both in .text)
build codestore bench/codestore.S $MARKERS
build exitloop bench/exitloop.c
build detect detect/detect.c
build modules modules/modules.c
build vmxprobe vmxprobe/vmxprobe.c lib/bochs.c
build vmxentry vmxentry/vmxentry.c vmxentry/stub.S lib/bochs.c lib/descriptors.c
build svmentry svmentry/svmentry.c svmentry/stub.S lib/bochs.c lib/descriptors.c
build cpuprobe cpuprobe/cpuprobe.c lib/bochs.c $(ls pm/*.c pm/*.S | sort)
# The sample guest hypervisor lives above the 16 MiB it gives its guest, which is linked at 1 MiB.
EXTRA_LDFLAGS=-Wl,--defsym=KERNEL_BASE=0x1000000
build nestvisor $(ls nestvisor/*.c nestvisor/*.S | sort) lib/bochs.c
EXTRA_LDFLAGS=
# ...and a real-mode L2 for it (issue 19 item 3)
build_boot_sector realmode realmode/boot.S
build_boot_sector pm16 pm16/boot.S
build ifmodes ifmodes/ifmodes.c
build redpill redpill/redpill.c
build ringcheck ringcheck/ringcheck.c
build vmexit $(ls vmexit/*.c vmexit/*.S | sort)
build paging $(ls paging/*.c paging/*.S pm/*.c pm/*.S | sort)
build multitask $(ls multitask/*.c multitask/*.S pm/*.c pm/*.S | sort)
build vga $(ls vga/*.c pc/*.c pm/*.c pm/*.S | sort)
# The graphics guests: PCI, mode 13h and the dispi LFB without a BIOS (gfx/).
GFX=$(ls gfx/*.c | sort)
build gfxprobe gfxprobe/gfxprobe.c $GFX
build gfxpicture gfxpicture/gfxpicture.c $GFX
build gfxdemo gfxdemo/gfxdemo.c $GFX
build frames frames/frames.c
build diskbench $(ls diskbench/*.c pc/*.c pm/*.c pm/*.S | sort)
build shell $(ls shell/*.c pc/*.c pm/*.c pm/*.S | sort)
build tour $(ls tour/*.c pc/*.c pm/*.c pm/*.S | sort)
build playground $(ls playground/*.c pc/*.c pm/*.c pm/*.S | sort)
