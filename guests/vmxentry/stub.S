/* stub.S - the two ends of a VM entry for vmxentry.c: run_l2() saves L1's callee-saved registers
 * and stack, then VMLAUNCHes (or VMRESUMEs) the current VMCS; it returns the flags when the
 * instruction fails. vm_exit is HOST_RIP: L2's general registers are pushed (PUSHAL) for
 * handle_exit(), which answers nonzero to resume L2 and 0 to end the run, when run_l2() returns
 * 0 to its caller. The L2 code (the guest's programs) is here too. */
    .text
    .globl run_l2
run_l2:                         /* u32 run_l2(u32 resume) */
    push %ebp
    push %ebx
    push %esi
    push %edi
    mov %esp, l1_saved_esp
    mov 20(%esp), %eax
    test %eax, %eax
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  pushf                       /* VMLAUNCH/VMRESUME failed: hand back the flags */
    pop %eax
    or $0x80000000, %eax
    jmp 3f

    .globl vm_exit
vm_exit:
    pushal
    push %esp
    call handle_exit
    add $4, %esp
    test %eax, %eax
    jz 4f
    popal
    vmresume
    pushf
    pop %eax
    or $0x80000000, %eax
    jmp 3f
4:  xor %eax, %eax
3:  mov l1_saved_esp, %esp
    pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    ret

    .data
l1_saved_esp: .long 0

/* L2's first program: the exits L1 asks for with unconditional I/O exiting. */
    .text
    .globl l2_program_a
l2_program_a:
    .byte 0xcd, 0x30            /* INT 0x30: L1 injects it at the entry instead of running it */
    mov $0, %eax
    cpuid
    mov $'A', %al
    out %al, $0xe9
    in $0x80, %al
    out %al, $0xe9
    mov %cr3, %eax
    mov %eax, %cr3
    mov %cr0, %eax
    and $8, %eax
    shr $3, %eax
    add $'0', %al
    out %al, $0xe9
    mov %cr0, %eax
    or $8, %eax
    mov %eax, %cr0
    clts
    ud2
    hlt
    vmcall

/* L2's second program: a loop long enough that its hypervisor's hypervisor takes its own time
 * slices meanwhile (exits L1 never sees), then I/O and MSR bitmaps, RDTSC and INVLPG exiting. */
    .globl l2_program_b
l2_program_b:
    mov $1500000, %ecx
1:  dec %ecx
    jnz 1b
    mov $'p', %al
    out %al, $0x80
    mov $'B', %al
    out %al, $0xe9
    rdtsc
    invlpg 0x1234
    mov $0x174, %ecx
    rdmsr
    add $'0', %al
    out %al, $0xe9
    mov $0x175, %ecx
    xor %edx, %edx
    mov $0x8000, %eax
    wrmsr
    vmcall

/* L2's third program: INT 0x31 with its stack on a page not present (after the injected
 * interrupt 0x31 at the entry, which L1 delivered again on a stack that is). */
    .globl l2_program_c
l2_program_c:
    mov $0x800010, %esp
    int $0x31
    vmcall

/* Vector 0x31: one OUT of 'C' to port E9h. It returns with IF clear: on Bochs the PIC's timer
 * interrupt would be delivered through L2's IDT (vector 8) otherwise. */
    .globl l2_vector_31
l2_vector_31:
    push %eax
    mov $'C', %al
    out %al, $0xe9
    andl $~0x200, 12(%esp)      /* the EFLAGS image */
    pop %eax
    iret

/* Vector 0x30, injected by L1 at the entry into program A: one CPUID with that leaf. */
    .globl l2_vector_30
l2_vector_30:
    push %eax
    push %ebx
    push %ecx
    push %edx
    mov $0x30, %eax
    cpuid
    pop %edx
    pop %ecx
    pop %ebx
    pop %eax
    iret
    .section .note.GNU-stack,"",@progbits
