/* multiboot.S - Multiboot v1 header and entry point shared by every guest.
 * The loader (QEMU -kernel, or wasmvisor) enters _start in 32-bit protected mode with flat
 * segments, EAX = 0x2BADB002 and EBX = physical address of the Multiboot info structure.
 * We set up our own stack, clear EFLAGS, initialise COM1 and call
 *     int kmain(unsigned magic, const struct mb_info *info);
 * and when kmain returns we exit through the debug-exit port with its return value. */

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003 /* bit 0: page-align modules, bit 1: give us memory info */

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .section .text.entry, "ax"
        .globl _start
_start:
        movl $boot_stack_top, %esp
        xorl %ebp, %ebp
        pushl $2                /* EFLAGS: only the reserved bit; IF=0, DF=0 */
        popfl
        movl %eax, %esi         /* keep magic and info pointer across serial_init */
        movl %ebx, %edi
        call serial_init
        pushl %edi              /* info */
        pushl %esi              /* magic */
        call kmain
        pushl %eax
        call guest_exit         /* does not return */

        .section .bss
        .balign 16
        .globl boot_stack_top
boot_stack:
        .skip 65536
boot_stack_top:
