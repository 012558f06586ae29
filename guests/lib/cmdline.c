/* cmdline.c - reading the Multiboot command line. Boot loaders (GRUB, QEMU -kernel) put the
 * kernel's own file name in front of the arguments ("guests/regloop.elf 1000"), and that name
 * differs between machines, so guests look only at the words after the first. */
#include "guest.h"

const char *mb_cmdline_args(const struct mb_info *mb)
{
    if (!(mb->flags & MB_INFO_CMDLINE) || !mb->cmdline)
        return "";
    const char *s = (const char *)mb->cmdline;
    while (*s == ' ')
        s++;
    while (*s && *s != ' ') /* skip the kernel's name */
        s++;
    while (*s == ' ')
        s++;
    return s;
}

u32 mb_cmdline_number(const struct mb_info *mb, u32 dflt)
{
    const char *s = mb_cmdline_args(mb);
    while (*s) {
        const char *w = s;
        u32 v = 0;
        while (*s >= '0' && *s <= '9')
            v = v * 10 + (u32)(*s++ - '0');
        if (s != w && (*s == ' ' || *s == 0))
            return v;
        while (*s && *s != ' ') /* not a number: skip the word */
            s++;
        while (*s == ' ')
            s++;
    }
    return dflt;
}
