/* playground.h - what the playground's main loop (playground.c) and its activities
 * (activities.c) share: the table of activities that keys switch on and off. */
#ifndef PLAYGROUND_H
#define PLAYGROUND_H
#include "../pc/pc.h"

#define TICK_HZ 100          /* the PIT: every activity runs once per tick */
#define MAX_OPS 64           /* operations per tick and activity: 1, 2, 4 ... 64 with - and + */
#define MAX_SPACES 5         /* address spaces the CR3 activity can switch among (keys 1-5) */

struct activity {
    char key;
    const char *name;   /* what it does, for the screen and COM1 */
    const char *causes; /* which exits that makes, and under which control */
    int on;
    u32 done;   /* operations so far */
    u32 errors; /* operations that went wrong (a disk that stopped answering, a wrong page) */
    void (*run)(struct activity *self, u32 ops);
};

enum { CPUID, COM1_OUT, SPACES, DISK, VGA, CLI_STI, HALT, ACTIVITIES };
extern struct activity activities[ACTIVITIES];

/* activities.c */
void activities_init(void);  /* paging with MAX_SPACES page directories, the disk if one answers */
extern u32 spaces_in_use;    /* how many address spaces the CR3 activity cycles through */
extern int disk_present;     /* an ATA disk answered IDENTIFY at boot */
extern char disk_model[41];
extern u32 disk_kib;

/* playground.c: the COM1 ticker's next bytes (the COM1 activity writes `ops` of them a tick). */
void ticker_write(u32 ops);

#endif
