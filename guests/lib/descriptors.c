/* descriptors.c - loading a guest's own GDT and IDT (see descriptors.h). */
#include "descriptors.h"

struct __attribute__((packed)) table_register {
    u16 limit;
    u32 base;
};

void load_gdt(const u64 *gdt, u32 bytes)
{
    struct table_register gdtr = {bytes - 1, (u32)gdt};
    __asm__ volatile("lgdt %0\n ljmp $8, $1f\n 1: mov $0x10, %%ax\n mov %%ax, %%ds\n mov %%ax, %%es\n mov %%ax, %%ss"
                     : : "m"(gdtr) : "eax", "memory");
}

void set_interrupt_gate(u64 *idt, u32 vector, const void *handler)
{
    u32 at = (u32)handler;
    idt[vector] = (at & 0xffff) | (8u << 16) | ((u64)0x8e00 << 32) | ((u64)(at >> 16) << 48);
}

void load_idt(const u64 *idt, u32 bytes)
{
    struct table_register idtr = {bytes - 1, (u32)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}
