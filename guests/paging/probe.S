/* probe.S - the accesses the paging cases make, each a single instruction at a known label so
 * the #PF handler can check the faulting EIP and, when no fixer repairs the fault, resume at
 * the probe's recovery code, which returns FAULTED (0xfa17fa17). Probes run at CPL 0 or, via
 * user_call, at CPL 3 (the kernel image is mapped user-accessible). */

        .text
/* u32 probe_read(u32 va) */
        .globl probe_read, probe_read_at
probe_read:
        movl 4(%esp), %edx
probe_read_at:
        movl (%edx), %eax
        ret

/* u32 probe_write(u32 va, u32 value): 0 */
        .globl probe_write, probe_write_at
probe_write:
        movl 4(%esp), %edx
        movl 8(%esp), %eax
probe_write_at:
        movl %eax, (%edx)
        xorl %eax, %eax
        ret

/* u32 probe_call(u32 va): calls the code at va; a fetch fault resumes at probe_fault_ret with
 * the return address still on the stack, so its RET comes back here */
        .globl probe_call
probe_call:
        movl 4(%esp), %eax
        call *%eax
        ret

/* u32 probe_fill(u32 va, u32 value, u32 dwords): REP STOSL, returns the final EDI */
        .globl probe_fill, probe_fill_at, probe_fill_fault
probe_fill:
        pushl %edi
        movl 8(%esp), %edi
        movl 12(%esp), %eax
        movl 16(%esp), %ecx
        cld
probe_fill_at:
        rep stosl
        movl %edi, %eax
        popl %edi
        ret
probe_fill_fault:
        popl %edi
        movl $0xfa17fa17, %eax
        ret

        .globl probe_fault_ret
probe_fault_ret:
        movl $0xfa17fa17, %eax
        ret

/* Code the demand-paging case copies into a page it maps on an instruction-fetch fault. */
        .globl code_blob, code_blob_end
code_blob:
        movl $0x600d, %eax
        ret
code_blob_end:

        .section .bss
        .balign 4096
        .globl user_stack_top
        .skip 8192
user_stack_top:
