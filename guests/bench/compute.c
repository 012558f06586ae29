/* compute.c - benchmark guest: compute-bound integer work in C, about 367 million instructions
 * as built by build.sh with gcc 12.2 (see guests/README.md for how that was counted): a sieve
 * of Eratosthenes, table-driven CRC-32, a 128x128 integer matrix multiply and a heapsort, each
 * printing a checksum (so a wrong result shows, and the output can be compared with QEMU's),
 * then exit 0. Everything is deterministic: inputs come from a fixed linear congruential
 * generator. */
#include "guest.h"
#include "markers.h"

#define SIEVE_N 2000000
#define SIEVE_ROUNDS 3
#define CRC_BYTES (1u << 20)
#define CRC_ROUNDS 12
#define MAT_N 128
#define MAT_ROUNDS 3
#define SORT_N 250000

static u8 sieve_flags[SIEVE_N + 1];
static u8 crc_buf[CRC_BYTES];
static u32 crc_table[256];
static u32 mat_a[MAT_N][MAT_N], mat_b[MAT_N][MAT_N], mat_c[MAT_N][MAT_N];
static u32 sort_v[SORT_N];

static u32 lcg_state = 12345;
static u32 lcg(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state;
}

static void sieve(void)
{
    u32 count = 0, sum = 0;
    for (int round = 0; round < SIEVE_ROUNDS; round++) {
        for (u32 i = 0; i <= SIEVE_N; i++)
            sieve_flags[i] = 1;
        sieve_flags[0] = sieve_flags[1] = 0;
        for (u32 i = 2; i * i <= SIEVE_N; i++)
            if (sieve_flags[i])
                for (u32 j = i * i; j <= SIEVE_N; j += i)
                    sieve_flags[j] = 0;
        count = sum = 0;
        for (u32 i = 0; i <= SIEVE_N; i++)
            if (sieve_flags[i])
                count++, sum += i;
    }
    kprintf("sieve: primes below %u: %u, sum %08x\n", SIEVE_N, count, sum);
}

static void crc(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    for (u32 i = 0; i < CRC_BYTES; i++)
        crc_buf[i] = (u8)(lcg() >> 24);
    u32 c = 0;
    for (int round = 0; round < CRC_ROUNDS; round++) {
        c = ~c;
        for (u32 i = 0; i < CRC_BYTES; i++)
            c = crc_table[(c ^ crc_buf[i]) & 0xff] ^ (c >> 8);
        c = ~c;
    }
    kprintf("crc32: %u x %u bytes: %08x\n", CRC_ROUNDS, CRC_BYTES, c);
}

static void matmul(void)
{
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            mat_a[i][j] = lcg() >> 20, mat_b[i][j] = lcg() >> 20;
    u32 check = 0;
    for (int round = 0; round < MAT_ROUNDS; round++) {
        for (int i = 0; i < MAT_N; i++)
            for (int j = 0; j < MAT_N; j++) {
                u32 s = 0;
                for (int k = 0; k < MAT_N; k++)
                    s += mat_a[i][k] * mat_b[k][j];
                mat_c[i][j] = s;
            }
        for (int i = 0; i < MAT_N; i++) /* feed the result back so rounds differ */
            for (int j = 0; j < MAT_N; j++)
                mat_a[i][j] = mat_c[i][j] >> 12;
    }
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            check = (check << 5 | check >> 27) ^ mat_c[i][j];
    kprintf("matmul: %ux%u, %u rounds: %08x\n", MAT_N, MAT_N, MAT_ROUNDS, check);
}

static void sift_down(u32 *v, u32 root, u32 n)
{
    for (;;) {
        u32 child = 2 * root + 1;
        if (child >= n)
            return;
        if (child + 1 < n && v[child + 1] > v[child])
            child++;
        if (v[root] >= v[child])
            return;
        u32 t = v[root];
        v[root] = v[child], v[child] = t;
        root = child;
    }
}

static void heapsort(void)
{
    for (u32 i = 0; i < SORT_N; i++)
        sort_v[i] = lcg();
    for (u32 i = SORT_N / 2; i-- > 0;)
        sift_down(sort_v, i, SORT_N);
    for (u32 n = SORT_N; n-- > 1;) {
        u32 t = sort_v[0];
        sort_v[0] = sort_v[n], sort_v[n] = t;
        sift_down(sort_v, 0, n);
    }
    u32 sorted = 1, check = 0;
    for (u32 i = 0; i < SORT_N; i++) {
        if (i && sort_v[i - 1] > sort_v[i])
            sorted = 0;
        check = check * 31 + sort_v[i];
    }
    kprintf("heapsort: %u values, %s, %08x\n", SORT_N, sorted ? "sorted" : "NOT SORTED", check);
}

int kmain(u32 magic, const struct mb_info *mb)
{
    (void)magic;
    markers_init(mb, 0); /* with `markers`, the work is framed for a host to time (markers.h) */
    puts("compute: integer benchmark\n");
    phase_begin("compute");
    sieve();
    crc();
    matmul();
    heapsort();
    phase_end("compute");
    puts("compute: done\n");
    return 0;
}
