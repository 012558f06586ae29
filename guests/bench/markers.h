/* markers.h - phase markers for the benchmark guests, so that a host can time each phase of a
 * guest from outside in its own clock (src/bench/marker-timing.ts): around a phase the guest
 * prints
 *
 *     @1 LABEL         before the phase
 *     @2 LABEL         after it
 *     @3 LABEL         at once after @2: (@2 - @1) - (@3 - @2) is the phase without the cost of
 *                      printing a marker
 *
 * With the command-line word `ack` the guest halts after each marker line until the host sends a
 * byte to COM1 (received by interrupt, so the vCPU sleeps meanwhile): a host that reads the
 * console through a pipe (QEMU's stdio) then stamps each marker before the next phase begins, in
 * a clock that stands still while the guest waits. Interrupts are off during the phases. */
#ifndef MARKERS_H
#define MARKERS_H
#include "guest.h"

/* Markers are printed if `always`, or with the command-line word `markers` (or `ack`). */
void markers_init(const struct mb_info *mb, int always);
/* Whether the command line's arguments hold `word` as a whole word. */
int cmdline_has_word(const struct mb_info *mb, const char *word);
void phase_begin(const char *label);
void phase_end(const char *label);

#endif
