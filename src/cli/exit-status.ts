// The CLI's process exit statuses, in one place because they are its contract with scripts and CI:
//   0-255  `run`: the value the guest wrote to isa-debug-exit (low 8 bits), so 0 means success;
//   1      internal error: the core is missing or crashed (a bug, not the user's input);
//   2      bad input: unknown option or command, bad option value, missing or unreadable file, not
//          a Multiboot kernel, kernel too large, an output file that cannot be written, a state
//          file that cannot be restored (one line on stderr, nothing on stdout, no stack trace);
//   3      the guest did not exit: triple fault, instruction budget or timeout exhausted, halted
//          for good, or an exit the VMM does not handle (a reason and a register dump on stderr);
//   141    stdout was closed by its reader (128 + SIGPIPE, as a Unix tool killed by the signal).
// Guest values 1-3 collide with these; the stderr line tells them apart.

export const EXIT_INTERNAL_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_GUEST_DID_NOT_EXIT = 3;
export const EXIT_OUTPUT_CLOSED = 141;

/** Bad input from the user: printed as one line, exit status 2. */
export class UsageError extends Error {}
