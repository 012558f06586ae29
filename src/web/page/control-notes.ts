// What each VMCS control does to the exits, in one line, as it happens with the default guest
// (guests/playground: per tick of its PIT, 4 CPUIDs, 4 COM1 ticker bytes, 4 switches among 4
// address spaces, a disk sector, 16 VGA cells, 4 CLI/STI pairs, then HLT). The form shows the line
// for each control's current setting under it; a change is named ("CR3 targets 4 → 3") for the
// chart's marker, with the line for the new setting. test/web/playground.e2e.test.ts checks each
// line against the chart.

import type { LiveControls } from "../protocol.js";
import type { DisplayUpdate } from "../../vmm/display-update.js";

const DISPLAY_UPDATE_NOTES: Record<DisplayUpdate, string> = {
  trap: "Every write to the text buffer exits (48): the playground's bar, 16 cells a tick, and its counters.",
  refresh: "Writes to the text buffer do not exit (48 falls to 0); the VMM copies the whole buffer 5 times a second.",
  "dirty-log": "Only the first write to each page of the text buffer between two refreshes exits (48): a few a second; each refresh copies only those pages.",
  pv: "Writes do not exit (48 falls to 0); the screen changes only where the guest reports a rectangle by hypercall (the playground does not: its screen stands still).",
};

type Control = keyof LiveControls;

interface Note {
  /** The control's name in a change's label. */
  label: string;
  /** A setting as a change's label shows it. */
  show(value: LiveControls[Control]): string;
  /** What to expect with this setting. */
  expect(value: LiveControls[Control]): string;
}

const onOff = (value: unknown) => (value ? "on" : "off");

/** How many address spaces the playground switches among until keys 1-5 change it. */
const PLAYGROUND_SPACES = 4;

const NOTES: Record<Control, Note> = {
  ifMode: {
    label: "IF mode",
    show: String,
    expect: (mode) =>
      mode === "trap"
        ? "CLI and STI exit (256, 257: the playground's pairs, 4 a tick), and so does each interrupt handler's IRET (260)."
        : mode === "vt"
          ? "CLI, STI, PUSHF, POPF and IRET run without exits: 256, 257 and 260 fall to 0."
          : "Reboots: the VMM keeps the guest's IF itself (pre-VT deprivileging), so the guest can no longer clear the real one.",
  },
  cr3Targets: {
    label: "CR3 targets",
    show: String,
    expect: (count) => {
      const n = Number(count);
      if (n === 0) return "No targets: every MOV to CR3 exits (28), 4 a tick in the playground.";
      if (n >= PLAYGROUND_SPACES)
        return `${n} targets hold the playground's ${PLAYGROUND_SPACES} address spaces: CR3 exits (28) stop after one round (hits in the MMU panel); its key 5 adds a fifth space, and every switch exits.`;
      return `${n} target${n === 1 ? "" : "s"} cannot hold the playground's ${PLAYGROUND_SPACES} address spaces: under LRU every switch exits (28); its keys 1-${n} shrink the ring to fit.`;
    },
  },
  hltExiting: {
    label: "HLT exiting",
    show: onOff,
    expect: (on) =>
      on
        ? "Each HLT exits (12): the playground halts once a tick, waiting for the next."
        : "HLT no longer exits (12 falls to 0): the core halts by itself and the VMM's preemption timer (52) ends each wait.",
  },
  interceptConsole: {
    label: "COM1 intercept",
    show: onOff,
    expect: (on) =>
      on
        ? "COM1's ports exit (30): two per byte of the playground's ticker, and its keys arrive."
        : "COM1's ports no longer exit, and reach no device: the ticker stops and I/O exits (30) fall by two per byte it wrote.",
  },
  interceptDisk: {
    label: "disk intercept",
    show: onOff,
    expect: (on) =>
      on
        ? "The disk's ports exit (30): about a dozen per sector the playground writes or reads back."
        : "The disk's ports no longer exit, and reach no device: each sector fails at once (the guest counts errors) and its I/O exits (30) stop.",
  },
  displayUpdate: {
    label: "VGA",
    show: String,
    expect: (strategy: DisplayUpdate) => DISPLAY_UPDATE_NOTES[strategy],
  },
  compilingTier: {
    label: "compiling tier",
    show: onOff,
    expect: (on) =>
      on
        ? "Hot blocks run as compiled WebAssembly: most instructions retire compiled (the share beside MIPS), and the exits stay the same."
        : "Every instruction is interpreted: the compiled share falls to 0 % and MIPS drop; the guest computes, and exits, the same.",
  },
  vmcsShadowing: {
    label: "VMCS shadowing",
    show: onOff,
    expect: (on) =>
      on
        ? "With a guest hypervisor (nestvisor): its VMREADs and VMWRITEs complete without exits; L1's VMREAD (23) and VMWRITE (25) stop, and each L2 exit costs fewer exits to the VMM."
        : "With a guest hypervisor (nestvisor): each of its VMREADs and VMWRITEs exits (23, 25) and the VMM emulates it: several exits more per L2 exit. Other guests: no change.",
  },
  cpuidVendor: {
    label: "CPUID vendor",
    show: String,
    expect: (vendor) => `Reboots with ${vendor === "none" ? "no hypervisor" : vendor}'s CPUID answers; CPUID exits (10) go on as before.`,
  },
  cpu: {
    label: "CPU",
    show: String,
    expect: (cpu) =>
      cpu === "amd"
        ? "Reboots on an AMD CPU: a guest hypervisor (nestvisor) runs its L2 through SVM, VMRUN (0x180) and its VMCB in memory, with no VMREAD or VMWRITE. Other guests: the same exits."
        : "Reboots on an Intel CPU: a guest hypervisor (nestvisor) runs its L2 through VMX, VMRESUME (24) and VMREAD/VMWRITE. Other guests: the same exits.",
  },
};

export const CONTROLS = Object.keys(NOTES) as Control[];
/** Form fields named otherwise than their control (index.html). */
const FIELD_NAMES: Partial<Record<Control, string>> = { displayUpdate: "vga" };

/** What to expect from `control` at `value`. */
export function expectation<K extends Control>(control: K, value: LiveControls[K]): string {
  return NOTES[control].expect(value);
}

export interface ControlChange {
  control: Control;
  /** "CR3 targets 4 → 3" */
  label: string;
  expect: string;
}

/** The controls that differ between `before` and `after`, each named with its old and new setting. */
export function controlChanges(before: LiveControls, after: LiveControls): ControlChange[] {
  return CONTROLS.filter((control) => before[control] !== after[control]).map((control) => {
    const { label, show } = NOTES[control];
    return { control, label: `${label} ${show(before[control])} → ${show(after[control])}`, expect: expectation(control, after[control]) };
  });
}

/**
 * Puts a line under each control of `form` (found by its name) for what to expect at its setting;
 * returns the function that rewrites the lines for new settings.
 */
export function attachNotes(form: HTMLFormElement): (values: LiveControls) => void {
  const lines = new Map<Control, HTMLElement>();
  for (const control of CONTROLS) {
    const field = form.elements.namedItem(FIELD_NAMES[control] ?? control);
    const element = field instanceof RadioNodeList ? (field[0] as HTMLElement) : (field as HTMLElement | null);
    // The row that holds the control: its .check label or group, or the field itself.
    const row = element?.closest(".check-group, .check") ?? element;
    if (!row) continue;
    const line = document.createElement("p");
    line.className = "expect";
    line.dataset.control = control;
    row.after(line);
    lines.set(control, line);
  }
  return (values) => {
    for (const [control, line] of lines) line.textContent = expectation(control, values[control]);
  };
}
