#!/bin/sh
# bochs-run.sh GUEST.elf ["MODULE [ARGS]"]... - boot a Multiboot guest under Bochs with VMX
# (../shared/bochs-recipe.md): GRUB 2 on a generated CD image loads it, and each further argument
# as a Multiboot module with its command line (as QEMU's -initrd "FILE ARGS" and wasmvisor's
# --module "FILE ARGS" do); COM1 goes to stdout. Needs Debian's bochs, bochsbios, vgabios,
# grub-pc-bin, grub-common and xorriso. The guest ends the run by writing "Shutdown" to port
# 0x8900 (Bochs then exits with status 1 even on success: judge the run by its output);
# BOCHS_TIMEOUT seconds (default 300) stop it otherwise. Bochs' rfb display listens on a port in
# 5900-5949 of this machine while it runs. BOCHS_CPU names the CPU model (default
# corei7_sandy_bridge_2600k, with VMX; an AMD model with SVM: zambezi, ryzen, phenom_8650_toliman).
set -eu
if [ $# -lt 1 ] || [ ! -f "$1" ]; then
    echo "usage: $0 GUEST.elf [\"MODULE [ARGS]\"]..." >&2
    exit 2
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bochs-run.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM
mkdir -p "$WORK/iso/boot/grub"
cp "$1" "$WORK/iso/kernel.elf"
shift
{
    printf 'set timeout=0\nmenuentry k {\n  multiboot /kernel.elf\n'
    n=0
    for spec in "$@"; do
        file=${spec%% *}
        if [ ! -f "$file" ]; then
            echo "$0: no such module: $file" >&2
            exit 2
        fi
        n=$((n + 1))
        cp "$file" "$WORK/iso/module$n"
        # GRUB gives a module only the words after its path as its string: the whole spec, file
        # name first, makes the string QEMU and wasmvisor give ("FILE ARGS").
        printf '  module /module%s %s\n' "$n" "$spec"
    done
    printf '  boot\n}\n'
} > "$WORK/iso/boot/grub/grub.cfg"
grub-mkrescue -o "$WORK/boot.iso" "$WORK/iso" > "$WORK/grub.log" 2>&1
cat > "$WORK/bochsrc" <<RC
config_interface: textconfig
display_library: rfb, options="timeout=0"
megs: 128
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=${BOCHS_CPU:-corei7_sandy_bridge_2600k}, count=1, ips=50000000, reset_on_triple_fault=0
clock: sync=none, time0=946684800
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$WORK/boot.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$WORK/serial.out
port_e9_hack: enabled=0
speaker: enabled=0
sound: driver=dummy
log: $WORK/bochs.log
panic: action=fatal
RC
printf 'continue\nquit\n' > "$WORK/debugger.rc"
timeout "${BOCHS_TIMEOUT:-300}" bochs -q -f "$WORK/bochsrc" -rc "$WORK/debugger.rc" < /dev/null > "$WORK/bochs.stdout" 2>&1 || true
cat "$WORK/serial.out" 2>/dev/null || true
