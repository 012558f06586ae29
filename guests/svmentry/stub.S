/* stub.S - VMRUN for svmentry.c: run_l2(vmcb) saves L1's callee-saved registers, loads L2's
 * general registers (all but EAX and ESP, which the VMCB holds), executes VMRUN and, after the
 * #VMEXIT, saves L2's registers and gives L1 its own back. L2's programs are here too. */
    .text
    .globl run_l2
run_l2:                         /* void run_l2(u32 vmcb) */
    push %ebp
    push %ebx
    push %esi
    push %edi
    mov 20(%esp), %eax
    mov %esp, l1_saved_esp
    mov l2_regs + 0, %ebx
    mov l2_regs + 4, %ecx
    mov l2_regs + 8, %edx
    mov l2_regs + 12, %esi
    mov l2_regs + 16, %edi
    mov l2_regs + 20, %ebp
    vmrun
    mov %ebx, l2_regs + 0
    mov %ecx, l2_regs + 4
    mov %edx, l2_regs + 8
    mov %esi, l2_regs + 12
    mov %edi, l2_regs + 16
    mov %ebp, l2_regs + 20
    mov l1_saved_esp, %esp
    stgi                        /* #VMEXIT cleared GIF */
    pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    ret

    .data
    .globl l2_regs
l2_regs: .long 0, 0, 0, 0, 0, 0 /* EBX ECX EDX ESI EDI EBP */
l1_saved_esp: .long 0

/* L2's first program, 32-bit protected mode on L1's segments and paging. */
    .text
    .globl l2_program_a
l2_program_a:
    mov $0, %eax
    cpuid
    mov $'A', %al
    out %al, $0x80
    mov $0x70, %dx
    out %ax, %dx
    in $0x81, %al
    mov $0x174, %ecx
    rdmsr
    wrmsr
    mov %cr0, %eax
    mov %cr3, %eax
    mov %eax, %cr3
    ud2
    hlt
    mov $0x5a, %eax
    vmmcall

/* Vector 0x30, injected by L1 as a software interrupt: calls L1 with EAX = 0x30. */
    .globl l2_vector_30
l2_vector_30:
    mov $0x30, %eax
    vmmcall

/* L2's programs for L1's virtual interrupt (V_IRQ, vector 0x31): IF clear, then STI, so that it
 * comes after the instruction in STI's shadow. And one whose VMMCALL is in STI's shadow. */
    .globl l2_program_vintr
l2_program_vintr:
    xor %ecx, %ecx
    inc %ecx
    sti
    inc %ecx
    inc %ecx
    inc %ecx
    mov %ecx, %eax
    vmmcall
    .globl l2_program_shadow
l2_program_shadow:
    sti
    .globl l2_program_vmmcall   /* and one that is nothing but its VMMCALL */
l2_program_vmmcall:
    vmmcall
/* Vector 0x31, the virtual interrupt: calls L1 with EAX = ECX (how far the program got). */
    .globl l2_vector_31
l2_vector_31:
    mov %ecx, %eax
    vmmcall

/* Vector 0x32, injected by L1 into a gate it fills once the delivery failed: EAX = 0x32. */
    .globl l2_vector_32
l2_vector_32:
    mov $0x32, %eax
    iret

/* L2's second program, in real mode (CR0.PE clear), at CS:IP = its own base:0. */
    .code16
    .globl l2_program_real
l2_program_real:
    mov $0x1234, %ax
    out %al, $0x80
    mov %cr0, %ebx
    mov %ebx, %eax
    vmmcall
    .code32
    .section .note.GNU-stack,"",@progbits
