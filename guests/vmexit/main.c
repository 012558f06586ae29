/* vmexit - benchmark guest for what each kind of VM exit costs, after kvm-unit-tests' vmexit
 * test. The command line names the tests and the iterations:
 *
 *     vmexit.elf [N] TEST[:PARAM] ... [N TEST ...]
 *
 * A number sets the iterations of the tests after it (the first number also applies to tests
 * before any number; default 100000); `all` is every test (vmcall only under wasmvisor, found
 * through CPUID 0x40000000). With the word `ack` the guest waits after each marker line, halted,
 * until the host sends a byte to COM1: a host that reads the console through a pipe (QEMU's
 * stdio) then stamps a marker before the next loop has begun. Each test runs its operation's loop, then the matching loop without
 * the operation (both after a shorter warm-up round), and prints
 *
 *     @1 TEST          before the operation's loop
 *     @2 TEST          between the loops
 *     @3 TEST          after the base loop
 *     TEST: N iterations, A ticks each, loop alone B, difference A-B
 *
 * in RDTSC ticks. The markers are the same length, so a host that timestamps each line as it
 * arrives (wasmvisor bench) gets the two loops' wall times with the same printing cost in both,
 * and their difference over N is the operation's cost in host time, whatever the guest's TSC
 * counts (under wasmvisor it counts retired instructions). */
#include "vmexit.h"

#define DEFAULT_ITERATIONS 100000
#define MAX_WORD 32
#define WARM_UP_SHARE 16 /* warm-up iterations: n / 16 */

static unsigned long long rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((unsigned long long)hi << 32) | lo;
}

/* Ticks per iteration (64-bit by 32-bit division with DIV: the quotient must fit 32 bits). */
static u32 per_iteration(unsigned long long ticks, u32 n)
{
    u32 lo = (u32)ticks, hi = (u32)(ticks >> 32), q, r;
    if (hi >= n)
        return 0xffffffffu;
    __asm__("divl %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(n));
    return q;
}

static int under_wasmvisor(void)
{
    u32 a = 0x40000000, b, c, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "=c"(c), "=d"(d));
    return b == 0x6d736177 && c == 0x6f736976 && d == 0x00000072; /* "wasmvisor\0\0\0" */
}

static int ack_markers;

static void marker(char which, const char *label)
{
    kprintf("@%c %s\n", which, label);
    if (ack_markers)
        wait_for_host();
}

static void run_test(const struct test *t, u32 param, int has_param, u32 n)
{
    char label[MAX_WORD + 12];
    int len = 0;
    for (const char *s = t->name; *s; s++)
        label[len++] = *s;
    if (has_param) {
        label[len++] = ':';
        char digits[10];
        int k = 0;
        u32 v = param;
        do digits[k++] = (char)('0' + v % 10); while ((v /= 10) != 0);
        while (k > 0)
            label[len++] = digits[--k];
    } else {
        param = t->default_param;
    }
    label[len] = 0;

    if (t->paging)
        paging_on();
    /* Warm up both loops first: caches, TLBs, and the translators of QEMU, v86 and wasmvisor. */
    t->run(n / WARM_UP_SHARE + 1, param, 0);
    t->run(n / WARM_UP_SHARE + 1, param, 1);
    marker('1', label);
    unsigned long long t0 = rdtsc();
    u32 count = t->run(n, param, 0);
    unsigned long long t1 = rdtsc();
    marker('2', label);
    unsigned long long t2 = rdtsc();
    t->run(n, param, 1);
    unsigned long long t3 = rdtsc();
    marker('3', label);
    if (t->paging)
        paging_off();
    u32 op = per_iteration(t1 - t0, count), base = per_iteration(t3 - t2, count);
    kprintf("%s: %u iterations, %u ticks each, loop alone %u, difference %d\n", label, count, op, base, (int)(op - base));
}

/* Runs the test a word names ("name" or "name:param"); 0 if there is none by that name. */
static int run_word(const char *word, u32 n, int wasmvisor)
{
    int all = strlen(word) == 3 && memcmp(word, "all", 3) == 0;
    for (u32 i = 0; i < test_count; i++) {
        const struct test *t = &tests[i];
        u32 len = strlen(t->name);
        if (all) {
            if ((!t->hypercall || wasmvisor) && !t->vmx)
                run_test(t, 0, 0, n);
            continue;
        }
        if (memcmp(word, t->name, len) != 0 || (word[len] != 0 && word[len] != ':'))
            continue;
        u32 param = 0;
        for (const char *s = word + len + 1; word[len] == ':' && *s; s++)
            param = param * 10 + (u32)(*s - '0');
        run_test(t, param, word[len] == ':', n);
        return 1;
    }
    return all;
}

/* Copies the next space-separated word of *s into word (at most MAX_WORD characters). */
static int next_word(const char **s, char *word)
{
    while (**s == ' ')
        (*s)++;
    int len = 0;
    while (**s && **s != ' ')
        if (len < MAX_WORD)
            word[len++] = *(*s)++;
        else
            (*s)++;
    word[len] = 0;
    return len;
}

static int is_number(const char *w)
{
    for (; *w; w++)
        if (*w < '0' || *w > '9')
            return 0;
    return 1;
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    machine_init();
    int wasmvisor = under_wasmvisor();
    u32 n = mb_cmdline_number(mb, DEFAULT_ITERATIONS);
    char word[MAX_WORD + 1];
    for (const char *s = mb_cmdline_args(mb); next_word(&s, word);) {
        if (strlen(word) == 3 && memcmp(word, "ack", 3) == 0) {
            ack_markers = 1;
        } else if (is_number(word)) {
            n = 0;
            for (const char *d = word; *d; d++)
                n = n * 10 + (u32)(*d - '0');
        } else if (n == 0) {
            kprintf("vmexit: %s: 0 iterations\n", word);
            return 2;
        } else if (!run_word(word, n, wasmvisor)) {
            kprintf("vmexit: no test called %s\n", word);
            return 2;
        }
    }
    kprintf("vmexit: done\n");
    return 0;
}
