/* realc.c - benchmark guest: real compiled C in ten phases, the forms ordinary programs are made
 * of: recursion, calls through function pointers, switch jump tables, string functions, 8- and
 * 16-bit arithmetic, multiplication and division, a generic qsort, CRC-32C, a matrix multiply
 * and a bit sieve. Each phase repeats one round of fixed, deterministic work (inputs from a fixed linear
 * congruential generator) ROUNDS times, the command line's first number (default 10), checks
 * that every round gave the same checksum and prints it, so the output does not depend on ROUNDS
 * and a wrong result shows. Words naming phases run only those. Every phase is framed by markers
 * (markers.h) for a host to time it. The linker puts written data on other pages than code
 * (build.sh links it with DATA_PAGE_ALIGN), as a real program's would be: a store that shares a
 * page with translated code costs QEMU a slow path that no real program pays. */
#include "guest.h"
#include "markers.h"

#define NOINLINE __attribute__((noinline))
#define DEFAULT_ROUNDS 10

static u32 lcg_state;
static void lcg_seed(u32 seed) { lcg_state = seed; }
static u32 lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state;
}

static u32 mix(u32 h, u32 v) { return (h ^ v) * 0x01000193u + (h >> 15); }

/* ---- fib: naive recursion ---------------------------------------------------------------- */

NOINLINE static u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

/* Ackermann-style nested recursion with a depth bound. */
NOINLINE static u32 tak(int x, int y, int z)
{
    return y < x ? tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y)) : (u32)z;
}

static u32 phase_fib(void) { return mix(fib(22), tak(14, 8, 2)); }

/* ---- fptr: calls through a table of function pointers -------------------------------------- */

typedef u32 op_fn(u32 acc, u32 v);
NOINLINE static u32 op_add(u32 a, u32 v) { return a + v; }
NOINLINE static u32 op_xor(u32 a, u32 v) { return a ^ (v << 3); }
NOINLINE static u32 op_rot(u32 a, u32 v) { return (a << (v & 31)) | (a >> (-v & 31)); }
NOINLINE static u32 op_mul(u32 a, u32 v) { return a * (v | 1); }
NOINLINE static u32 op_sub(u32 a, u32 v) { return a - (v >> 2); }
NOINLINE static u32 op_max(u32 a, u32 v) { return a > v ? a : v; }
NOINLINE static u32 op_neg(u32 a, u32 v) { return ~a + (v & 0xff); }
NOINLINE static u32 op_avg(u32 a, u32 v) { return (a >> 1) + (v >> 1); }
static op_fn *const ops[8] = {op_add, op_xor, op_rot, op_mul, op_sub, op_max, op_neg, op_avg};

#define FPTR_CALLS 4096
static u8 fptr_program[FPTR_CALLS];

struct visitor {
    u32 (*visit)(const struct visitor *self, u32 v);
    u32 k;
};
NOINLINE static u32 visit_scale(const struct visitor *s, u32 v) { return v * s->k; }
NOINLINE static u32 visit_shift(const struct visitor *s, u32 v) { return v >> s->k | v << (32 - s->k); }
NOINLINE static u32 visit_bias(const struct visitor *s, u32 v) { return v + s->k; }
static const struct visitor visitors[3] = {{visit_scale, 2654435761u}, {visit_shift, 7}, {visit_bias, 0x9e3779b9u}};

static u32 phase_fptr(void)
{
    lcg_seed(7);
    for (u32 i = 0; i < FPTR_CALLS; i++)
        fptr_program[i] = (u8)(lcg() >> 29);
    u32 acc = 1;
    for (u32 pass = 0; pass < 40; pass++)
        for (u32 i = 0; i < FPTR_CALLS; i++) {
            acc = ops[fptr_program[i]](acc, i + pass);
            const struct visitor *v = &visitors[(acc >> 7) % 3];
            acc ^= v->visit(v, i) >> 5;
        }
    return acc;
}

/* ---- switch: a bytecode interpreter, one jump table ---------------------------------------- */

enum { OP_PUSH, OP_ADD, OP_SUB, OP_MUL, OP_AND, OP_OR, OP_XOR, OP_SHL, OP_SHR, OP_DUP, OP_SWAP, OP_DROP, OP_INC, OP_DEC, OP_NOT, OP_NEG, OP_COUNT };
#define CODE_LEN 2048
static u8 bytecode[CODE_LEN];

NOINLINE static u32 interpret(const u8 *code, u32 len)
{
    u32 stack[64], sp = 2, h = 0;
    stack[0] = 3, stack[1] = 5;
    for (u32 pc = 0; pc < len; pc++) {
        u32 a = stack[(sp - 1) & 63], b = stack[(sp - 2) & 63];
        switch (code[pc]) {
        case OP_PUSH: stack[sp++ & 63] = pc; break;
        case OP_ADD: stack[(--sp - 1) & 63] = a + b; break;
        case OP_SUB: stack[(--sp - 1) & 63] = b - a; break;
        case OP_MUL: stack[(--sp - 1) & 63] = a * b; break;
        case OP_AND: stack[(--sp - 1) & 63] = (a & b) | 1; break;
        case OP_OR: stack[(--sp - 1) & 63] = a | b; break;
        case OP_XOR: stack[(--sp - 1) & 63] = a ^ b; break;
        case OP_SHL: stack[(sp - 1) & 63] = a << (b & 7); break;
        case OP_SHR: stack[(sp - 1) & 63] = a >> (b & 7); break;
        case OP_DUP: stack[sp++ & 63] = a; break;
        case OP_SWAP: stack[(sp - 1) & 63] = b, stack[(sp - 2) & 63] = a; break;
        case OP_DROP: h = mix(h, a), sp--; break;
        case OP_INC: stack[(sp - 1) & 63] = a + 1; break;
        case OP_DEC: stack[(sp - 1) & 63] = a - 1; break;
        case OP_NOT: stack[(sp - 1) & 63] = ~a; break;
        case OP_NEG: stack[(sp - 1) & 63] = -a; break;
        }
        if (sp < 2)
            sp = 2;
        if (sp > 60)
            sp = 60;
    }
    return mix(h, stack[(sp - 1) & 63]);
}

/* A character classifier, the other common shape of switch. */
NOINLINE static u32 classify(u8 c)
{
    switch (c >> 3) {
    case 0: case 1: case 2: case 3: return 0;
    case 4: return 1;
    case 5: return 2;
    case 6: case 7: return 3;
    case 8: return 4;
    case 9: case 10: case 11: return 5;
    case 12: return 6;
    case 13: case 14: case 15: return 7;
    default: return c & 7;
    }
}

static u32 phase_switch(void)
{
    lcg_seed(11);
    for (u32 i = 0; i < CODE_LEN; i++)
        bytecode[i] = (u8)((lcg() >> 16) % OP_COUNT);
    u32 h = 0;
    for (u32 pass = 0; pass < 10; pass++) {
        bytecode[pass] = OP_PUSH;
        h = mix(h, interpret(bytecode, CODE_LEN));
    }
    u32 classes = 0;
    for (u32 i = 0; i < 4 * CODE_LEN; i++)
        classes += classify((u8)(i * 37 + (i >> 3)));
    return mix(h, classes);
}

/* ---- string: the C library's string functions ---------------------------------------------- */

NOINLINE static u32 str_len(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (u32)(p - s);
}
NOINLINE static char *str_cpy(char *d, const char *s)
{
    char *r = d;
    while ((*d++ = *s++) != 0)
        ;
    return r;
}
NOINLINE static int str_cmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}
NOINLINE static const char *str_chr(const char *s, int c)
{
    for (; *s; s++)
        if (*s == (char)c)
            return s;
    return 0;
}
/* memcpy, memset and memchr as i386 C libraries write them: string instructions. */
NOINLINE static void *mem_cpy(void *d, const void *s, u32 n)
{
    void *r = d;
    u32 words = n >> 2;
    __asm__ volatile("rep movsl\n\tmovl %3, %%ecx\n\trep movsb" : "+D"(d), "+S"(s), "+c"(words) : "r"(n & 3) : "memory");
    return r;
}
NOINLINE static void *mem_set(void *d, int c, u32 n)
{
    void *r = d;
    __asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return r;
}
NOINLINE static const void *mem_chr(const void *s, int c, u32 n)
{
    if (n == 0)
        return 0;
    const u8 *p = s;
    __asm__ volatile("repne scasb" : "+D"(p), "+c"(n) : "a"(c) : "memory", "cc");
    return p[-1] == (u8)c ? p - 1 : 0;
}

#define STRINGS 64
#define STRING_MAX 96
static char strings[STRINGS][STRING_MAX];
static char string_copy[STRING_MAX];
static u8 block_a[4096], block_b[4096];

static u32 phase_string(void)
{
    lcg_seed(13);
    for (u32 i = 0; i < STRINGS; i++) {
        u32 len = 8 + (lcg() >> 26);
        for (u32 k = 0; k < len; k++)
            strings[i][k] = (char)('a' + (lcg() >> 16) % 20);
        strings[i][len] = 0;
    }
    u32 h = 0;
    for (u32 pass = 0; pass < 6; pass++)
        for (u32 i = 0; i < STRINGS; i++) {
            str_cpy(string_copy, strings[i]);
            h = mix(h, str_len(string_copy));
            for (u32 j = 0; j < STRINGS; j += 3)
                h = mix(h, (u32)str_cmp(strings[i], strings[j]));
            const char *t = str_chr(strings[i], 'a' + (int)pass);
            h = mix(h, t ? (u32)(t - strings[i]) : 0xffu);
        }
    for (u32 pass = 0; pass < 24; pass++) {
        mem_set(block_a, (int)pass, sizeof block_a - pass);
        mem_cpy(block_b + pass, block_a + 3, sizeof block_a - 2 * pass - 3);
        const u8 *hit = mem_chr(block_b, (int)(pass + 1), sizeof block_b);
        h = mix(h, hit ? (u32)(hit - block_b) : 0xffffu);
        h = mix(h, block_b[pass * 97 % sizeof block_b]);
    }
    return h;
}

/* ---- narrow: 8- and 16-bit arithmetic ------------------------------------------------------ */

#define SAMPLES 8192
static s16 samples[SAMPLES], filtered[SAMPLES];
static u8 pixels[SAMPLES], overlay[SAMPLES];
static u16 words16[SAMPLES];

static u32 phase_narrow(void)
{
    lcg_seed(17);
    for (u32 i = 0; i < SAMPLES; i++) {
        u32 r = lcg();
        samples[i] = (s16)(r >> 16);
        pixels[i] = (u8)(r >> 8);
        overlay[i] = (u8)(r >> 3);
        words16[i] = (u16)r;
    }
    /* a Q8.8 low-pass filter with 16-bit saturation */
    s16 prev = 0;
    for (u32 i = 0; i < SAMPLES; i++) {
        s32 v = (samples[i] * 77 + prev * 179) >> 8;
        prev = (s16)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        filtered[i] = prev;
    }
    /* saturating 8-bit blend, and a 16-bit LFSR stepped in place */
    for (u32 i = 0; i < SAMPLES; i++) {
        u8 s = (u8)(pixels[i] + (overlay[i] >> 1));
        pixels[i] = s < pixels[i] ? 255 : s;
        u16 w = words16[i];
        words16[i] = (u16)((w >> 1) ^ (-(u16)(w & 1) & 0xb400u));
    }
    /* Fletcher-16 over the bytes, and 16-bit sums */
    u16 sum1 = 0, sum2 = 0, acc16 = 0;
    s16 peak = 0;
    for (u32 i = 0; i < SAMPLES; i++) {
        sum1 = (u16)((sum1 + pixels[i]) % 255);
        sum2 = (u16)((sum2 + sum1) % 255);
        acc16 = (u16)(acc16 + words16[i]) ^ (u16)filtered[i];
        if (filtered[i] > peak)
            peak = filtered[i];
    }
    return mix(mix((u32)sum2 << 8 | sum1, acc16), (u16)peak);
}

/* ---- muldiv: multiplication and division --------------------------------------------------- */

NOINLINE static u32 gcd(u32 a, u32 b)
{
    while (b) {
        u32 t = a % b;
        a = b, b = t;
    }
    return a;
}

NOINLINE static u32 pow_mod(u32 base, u32 exp, u32 mod)
{
    u32 r = 1;
    base %= mod;
    while (exp) {
        if (exp & 1)
            r = r * base % mod;
        base = base * base % mod;
        exp >>= 1;
    }
    return r;
}

/* Digits of v in base b: what printf does. */
NOINLINE static u32 digit_sum(u32 v, u32 b)
{
    u32 s = 0;
    do s += v % b; while ((v /= b) != 0);
    return s;
}

static u32 phase_muldiv(void)
{
    lcg_seed(19);
    u32 h = 0;
    for (u32 i = 0; i < 1500; i++) {
        u32 a = lcg(), b = lcg() >> (i & 15);
        s32 sa = (s32)lcg(), sb = (s32)(lcg() >> 20) - 2048;
        h = mix(h, gcd(a, b | 1));
        h = mix(h, pow_mod(a >> 16, b, 65521));
        h = mix(h, digit_sum(a, 2 + (i & 15)));
        h = mix(h, (u32)(sb ? sa / sb : 0));
        h = mix(h, (u32)(sb ? sa % sb : 0));
        unsigned long long p = (unsigned long long)a * b;
        long long sp = (long long)sa * sb;
        h = mix(h, (u32)(p >> 32) ^ (u32)(sp >> 32));
    }
    return h;
}

/* ---- qsort: the C library's qsort, with a comparison function ------------------------------ */

struct record {
    u32 key;
    u16 id;
    u8 group, pad;
};

static void swap_bytes(u8 *a, u8 *b, u32 size)
{
    while (size--) {
        u8 t = *a;
        *a++ = *b, *b++ = t;
    }
}

/* Quicksort with median-of-three and insertion sort for short runs, on elements of any size. */
NOINLINE static void q_sort(void *base, u32 n, u32 size, int (*cmp)(const void *, const void *))
{
    u8 *b = base;
    while (n > 8) {
        u8 *lo = b, *mid = b + (n / 2) * size, *hi = b + (n - 1) * size;
        if (cmp(mid, lo) < 0) swap_bytes(mid, lo, size);
        if (cmp(hi, mid) < 0) {
            swap_bytes(hi, mid, size);
            if (cmp(mid, lo) < 0) swap_bytes(mid, lo, size);
        }
        swap_bytes(mid, b + size, size); /* the pivot to the second place */
        u8 *pivot = b + size, *i = pivot, *j = hi;
        for (;;) {
            do i += size; while (cmp(i, pivot) < 0);
            do j -= size; while (cmp(pivot, j) < 0);
            if (i >= j)
                break;
            swap_bytes(i, j, size);
        }
        swap_bytes(pivot, j, size);
        u32 left = (u32)(j - b) / size, right = n - left - 1;
        if (left < right) { /* recurse into the smaller side */
            q_sort(b, left, size, cmp);
            b = j + size, n = right;
        } else {
            q_sort(j + size, right, size, cmp);
            n = left;
        }
    }
    for (u32 i = 1; i < n; i++)
        for (u8 *p = b + i * size; p > b && cmp(p - size, p) > 0; p -= size)
            swap_bytes(p - size, p, size);
}

static int by_group_then_key(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->key < y->key ? -1 : x->key > y->key;
}
static int by_u32(const void *a, const void *b)
{
    u32 x = *(const u32 *)a, y = *(const u32 *)b;
    return x < y ? -1 : x > y;
}

#define RECORDS 3000
#define KEYS 4000
static struct record records[RECORDS];
static u32 keys[KEYS];

static u32 phase_qsort(void)
{
    lcg_seed(23);
    for (u32 i = 0; i < RECORDS; i++)
        records[i] = (struct record){lcg(), (u16)i, (u8)(lcg() >> 29), 0};
    for (u32 i = 0; i < KEYS; i++)
        keys[i] = lcg() >> 8;
    q_sort(records, RECORDS, sizeof records[0], by_group_then_key);
    q_sort(keys, KEYS, sizeof keys[0], by_u32);
    u32 h = 0;
    for (u32 i = 0; i < RECORDS; i++)
        h = mix(h, records[i].id + (i && by_group_then_key(&records[i - 1], &records[i]) > 0 ? 0x80000000u : 0));
    for (u32 i = 1; i < KEYS; i++)
        h = mix(h, keys[i] < keys[i - 1] ? 0xdeadu : keys[i]);
    return h;
}

/* ---- crc: CRC-32C with a 16-entry table, two steps a byte, as small firmware computes it ------ */

#define CRC_BYTES 65536
static u32 crc_nibbles[16];
static u8 crc_data[CRC_BYTES];

static u32 phase_crc(void)
{
    for (u32 i = 0; i < 16; i++) {
        u32 c = i;
        for (int k = 0; k < 4; k++)
            c = (c >> 1) ^ (0x82f63b78u & -(c & 1));
        crc_nibbles[i] = c;
    }
    lcg_seed(29);
    for (u32 i = 0; i < CRC_BYTES; i++)
        crc_data[i] = (u8)(lcg() >> 24);
    u32 c = ~0u;
    for (int pass = 0; pass < 3; pass++)
        for (u32 i = 0; i < CRC_BYTES; i++) {
            c ^= crc_data[i];
            c = crc_nibbles[c & 15] ^ (c >> 4);
            c = crc_nibbles[c & 15] ^ (c >> 4);
        }
    return ~c;
}

/* ---- matmul: integer matrix multiply ------------------------------------------------------- */

#define MAT_N 56
static s32 mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];

static u32 phase_matmul(void)
{
    lcg_seed(31);
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            mat_a[i][j] = (s32)(lcg() >> 20) - 2048, mat_b[i][j] = (s32)(lcg() >> 20) - 2048;
    u32 h = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                s32 s = 0;
                for (int k = 0; k < MAT_N; k++)
                    s += mat_a[i][k] * mat_b[k][j];
                mat_c[i][j] = s;
            }
        for (int i = 0; i < MAT_N; i++) /* feed the result back */
            for (int j = 0; j < MAT_N; j++)
                mat_a[i][j] = mat_c[i][j] >> 14;
    }
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            h = mix(h, (u32)mat_c[i][j]);
    return h;
}

/* ---- sieve: Eratosthenes over odd numbers, one bit each -------------------------------------- */

#define SIEVE_N 400000
static u32 sieve_bits[SIEVE_N / 64 + 1]; /* bit k: 2k + 1 is composite */

static u32 phase_sieve(void)
{
    for (u32 i = 0; i < sizeof sieve_bits / sizeof sieve_bits[0]; i++)
        sieve_bits[i] = 0;
    for (u32 p = 3; p * p <= SIEVE_N; p += 2)
        if (!(sieve_bits[p >> 6] & (1u << ((p >> 1) & 31))))
            for (u32 m = p * p; m <= SIEVE_N; m += 2 * p)
                sieve_bits[m >> 6] |= 1u << ((m >> 1) & 31);
    u32 count = 1, sum = 2; /* 2 */
    for (u32 n = 3; n <= SIEVE_N; n += 2)
        if (!(sieve_bits[n >> 6] & (1u << ((n >> 1) & 31))))
            count++, sum += n;
    return mix(count, sum);
}

/* One round of a phase runs its unit `units` times, so that each phase takes a similar time. */
struct phase {
    const char *name;
    const char *what;
    u32 (*unit)(void);
    u32 units;
};

static const struct phase phases[] = {
    {"fib", "12 x recursive fib(22) and tak(14, 8, 2)", phase_fib, 12},
    {"fptr", "163840 calls through function pointers", phase_fptr, 1},
    {"switch", "23 x bytecode interpreter and classifier", phase_switch, 23},
    {"string", "25 x strlen strcpy strcmp strchr, REP MOVS/STOS/SCAS", phase_string, 25},
    {"narrow", "60 x 16-bit filter, 8-bit blend, Fletcher-16", phase_narrow, 60},
    {"muldiv", "25 x gcd, pow_mod, digits, IDIV, 64-bit products", phase_muldiv, 25},
    {"qsort", "5 x 3000 records and 4000 keys by qsort", phase_qsort, 5},
    {"crc", "4 x CRC-32C of 3 x 64 KiB, 16-entry table", phase_crc, 4},
    {"matmul", "17 x two 56x56 integer matrix products", phase_matmul, 17},
    {"sieve", "7 x primes to 400000, a bit per odd number", phase_sieve, 7},
};
#define PHASES (sizeof phases / sizeof phases[0])

static u32 round_of(const struct phase *p)
{
    u32 h = 0;
    for (u32 i = 0; i < p->units; i++)
        h = mix(h, p->unit());
    return h;
}

/* Runs one phase; 0 if every round gave the same checksum. */
static int run_phase(const struct phase *p, u32 rounds)
{
    phase_begin(p->name);
    u32 first = round_of(p), differs = 0;
    for (u32 r = 1; r < rounds; r++)
        if (round_of(p) != first)
            differs = r + 1;
    phase_end(p->name);
    if (differs) {
        kprintf("%s: round %u differs from round 1 (%08x)\n", p->name, differs, first);
        return 1;
    }
    kprintf("%s: %s: %08x\n", p->name, p->what, first);
    return 0;
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    markers_init(mb, 1);
    u32 rounds = mb_cmdline_number(mb, DEFAULT_ROUNDS);
    if (rounds == 0) {
        puts("realc: 0 rounds\n");
        return 2;
    }
    int any = 0;
    for (u32 i = 0; i < PHASES; i++)
        any |= cmdline_has_word(mb, phases[i].name);
    int failed = 0;
    for (u32 i = 0; i < PHASES; i++)
        if (!any || cmdline_has_word(mb, phases[i].name))
            failed |= run_phase(&phases[i], rounds);
    puts("realc: done\n");
    return failed;
}
