// One forged state file, as the VMM meets it: restored, then run for a short bounded time, then
// saved and restored once more. Allowed: a one-line SavedStateError at the restore (the file is
// refused), and an UnsaveableStateError at the save (a guest hypervisor's guest runs, or its GIF
// is clear: the VMM saves such a machine only later, and the second restore is skipped). Problems: any other exception, a run that outlives its limits (the worker's watchdog
// and STATE_CASE_SLOW_MS catch those), a disk access outside the image or a write to a read-only
// one, and a machine the VMM saved that it cannot restore.

import type { BlockBackend } from "../devices/block-backend.js";
import { SavedStateError, UnsaveableStateError } from "../devices/saved-values.js";
import { VirtualMachine } from "../vmm/virtual-machine.js";
import type { CaseResult } from "./check-case.js";
import { seedDisk, type SeedDisk } from "./state-seeds.js";

export interface StateCase {
  file: Uint8Array;
  /** The disk the file's machine was saved with; a fresh copy backs each restore. */
  disk: SeedDisk | null;
}

/** How long a restored machine runs, in instructions and wall-clock time. */
const RUN_INSTRUCTIONS = 200_000;
const RUN_SECONDS = 0.5;
/** Restore, run, save and restore again: more than this is a run its limits did not stop. */
export const STATE_CASE_SLOW_MS = 4000;

/** A disk that notes every access outside it, and every write to it when it is read-only. */
class CheckedDisk implements BlockBackend {
  readonly problems: string[] = [];
  constructor(private readonly disk: BlockBackend) {}
  get sectors(): number {
    return this.disk.sectors;
  }
  get readOnly(): boolean {
    return this.disk.readOnly;
  }
  read(lba: number, into: Uint8Array): void {
    if (this.inside("read", lba, into)) this.disk.read(lba, into);
  }
  write(lba: number, data: Uint8Array): void {
    if (this.readOnly) this.problems.push(`a write to the read-only disk at sector ${lba}`);
    else if (this.inside("write", lba, data)) this.disk.write(lba, data);
  }
  flush(): void {
    this.disk.flush();
  }
  private inside(what: string, lba: number, bytes: Uint8Array): boolean {
    const end = lba + bytes.length / 512;
    if (Number.isInteger(lba) && lba >= 0 && end <= this.sectors) return true;
    this.problems.push(`a ${what} outside the disk: sectors ${lba} to ${end} of ${this.sectors}`);
    return false;
  }
}

const checkedDisk = (disk: SeedDisk | null) => (disk === null ? undefined : new CheckedDisk(seedDisk(disk)));

/** The machine saved, or undefined where the VMM refuses to save it now (UnsaveableStateError). */
function savedIfSaveable(vm: VirtualMachine): Uint8Array | undefined {
  try {
    return vm.saveState();
  } catch (error) {
    if (error instanceof UnsaveableStateError) return undefined;
    throw error;
  }
}

export async function checkStateCase(core: BufferSource, c: StateCase): Promise<CaseResult> {
  const result: CaseResult = { problems: [], reasons: [], compiledBlocks: 0, executions: 1, work: 0, guestMs: 0 };
  const disk = checkedDisk(c.disk);
  let vm: VirtualMachine;
  try {
    vm = await VirtualMachine.restore(c.file, { core, disk });
  } catch (error) {
    const refused = error instanceof SavedStateError && !error.message.includes("\n");
    if (!refused) result.problems.push(`the restore failed with something other than a one-line SavedStateError: ${(error as Error).stack ?? error}`);
    return result;
  }
  try {
    vm.onExit((exit) => result.reasons.length < 64 && result.reasons.push(exit.reason));
    vm.run({ maxInstructions: vm.instructionsRetired() + RUN_INSTRUCTIONS, timeoutSeconds: RUN_SECONDS });
    const again = savedIfSaveable(vm);
    if (again !== undefined) {
      try {
        await VirtualMachine.restore(again, { core, disk: checkedDisk(c.disk) });
      } catch (error) {
        result.problems.push(`the machine the VMM saved after running the restored file cannot be restored: ${(error as Error).message}`);
      }
    }
  } catch (error) {
    result.problems.push(`the restored machine's run failed: ${(error as Error).stack ?? error}`);
  }
  result.problems.push(...(disk?.problems ?? []));
  return result;
}
