// Which guest an exit came from under nesting (`--nested vmx`), and who dealt with it. With a guest
// hypervisor (L1) running a guest of its own (L2), every exit the core reports still lands in L0
// (the VMM) first: an exit of L1, which L0 handles; an exit of L2 that L1 did not ask for, which
// L0 handles and L2 resumes; or an exit of L2 that L1 asked for, which L0 reflects: writes it into
// L1's VMCS and resumes L1 at its HOST_RIP (nested/nested-run.ts). A fourth kind has no exit of
// the core's behind it: an interrupt for L1 that arrives while L0 handles an exit of L2 is
// reflected as exit 1 right after it (as KVM makes it in vmx_check_nested_events). ExitStats
// counts and times the kinds apart; --trace exits and --stats show them as levels.

/** An exit of the guest L0 runs (L1 under nesting): L0 handles it. */
export const EXIT_OF_L1 = 0;
/** An exit of L2 that L1 did not ask for: L0 handles it, and L2 resumes. */
export const EXIT_OF_L2 = 1;
/** An exit of L2 that L1 asked for: reflected into L1's VMCS, and L1 resumes at HOST_RIP. */
export const EXIT_REFLECTED = 2;
/** An interrupt for L1 held while L2 ran, reflected as exit 1 after the exit of L2 L0 handled: no exit of the core's. */
export const EXIT_HELD_INTERRUPT = 3;
export const EXIT_KINDS = 4;
export type ExitKind = typeof EXIT_OF_L1 | typeof EXIT_OF_L2 | typeof EXIT_REFLECTED | typeof EXIT_HELD_INTERRUPT;

/** An exit's place under nesting, as the embedding API reports it (ExitEvent.nesting). */
export interface ExitNesting {
  /** 1: the guest L0 runs exited (L1); 2: L1's guest (L2) did. */
  level: 1 | 2;
  /** L1 asked for it: L0 wrote it into L1's VMCS and L1 goes on at its HOST_RIP; false: L0 handled it. */
  reflected: boolean;
}

export function exitNesting(kind: ExitKind): ExitNesting {
  return { level: kind === EXIT_OF_L1 ? 1 : 2, reflected: kind >= EXIT_REFLECTED };
}

/** The level column of `--trace exits`: L1, L2 (L0 handled it) or L2->L1 (reflected into L1). */
export function levelLabel({ level, reflected }: ExitNesting): string {
  return level === 1 ? "L1" : reflected ? "L2->L1" : "L2";
}
