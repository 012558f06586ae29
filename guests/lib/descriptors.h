/* descriptors.h - a guest's own descriptor tables, for the guests that replace the loader's GDT
 * and take interrupts of their own (lib/descriptors.c). The GDT's entry 1 must be a flat 32-bit
 * code segment and entry 2 a flat data segment: load_gdt reloads CS with 0x08 and DS, ES, SS
 * with 0x10. */
#ifndef DESCRIPTORS_H
#define DESCRIPTORS_H

#include "guest.h"

/* Loads the GDT of `bytes` bytes at `gdt` and reloads CS, DS, ES and SS from it. */
void load_gdt(const u64 *gdt, u32 bytes);
/* Makes IDT entry `vector` a present ring-0 32-bit interrupt gate to `handler` through CS 0x08. */
void set_interrupt_gate(u64 *idt, u32 vector, const void *handler);
/* Loads the IDT of `bytes` bytes at `idt`. */
void load_idt(const u64 *idt, u32 bytes);

#endif
