// The run buttons and the VMCS controls form. Every change to the form is sent to the worker at
// once as a whole LiveControls (it applies the live ones to the VMCS and reboots for the rest);
// the form starts at what the VMM programs by default (setup-link.ts's DEFAULT_CONTROLS), so a boot
// uses the form's values as is, and a link's controls are shown in it with show().

import { CPU_KINDS, CPUID_VENDORS, MAX_CR3_TARGETS, nestingOf, type CpuidVendor, type CpuKind, type IfMode } from "../../vmm/vm-config.js";
import type { LiveControls, RunState } from "../protocol.js";
import type { DisplayUpdate } from "../../vmm/display-update.js";
import { DEFAULT_CONTROLS } from "./setup-link.js";

export interface RunButtons {
  pause: HTMLButtonElement;
  resume: HTMLButtonElement;
  step: HTMLButtonElement;
  reset: HTMLButtonElement;
}

export class ControlsForm {
  constructor(
    private readonly form: HTMLFormElement,
    private readonly buttons: RunButtons,
    onChange: (controls: LiveControls) => void,
  ) {
    const vendor = this.field<HTMLSelectElement>("cpuidVendor");
    vendor.replaceChildren(...CPUID_VENDORS.map((name) => new Option(name === "none" ? "none (bare metal)" : name, name)));
    this.field<HTMLSelectElement>("cpu").replaceChildren(...CPU_KINDS.map((cpu) => new Option(`${cpu} (${nestingOf(cpu).toUpperCase()})`, cpu)));
    // A choice of the counts the VMCS takes, so that no other can be entered.
    const counts = Array.from({ length: MAX_CR3_TARGETS + 1 }, (_, count) => String(count));
    this.field<HTMLSelectElement>("cr3Targets").replaceChildren(...counts.map((count) => new Option(count, count)));
    this.show(DEFAULT_CONTROLS);
    form.addEventListener("change", () => onChange(this.values()));
    form.addEventListener("submit", (event) => event.preventDefault());
  }

  values(): LiveControls {
    const checked = (name: string) => this.field<HTMLInputElement>(name).checked;
    return {
      ifMode: this.field<HTMLSelectElement>("ifMode").value as IfMode,
      cr3Targets: Number(this.field<HTMLSelectElement>("cr3Targets").value),
      hltExiting: checked("hltExiting"),
      interceptConsole: checked("interceptConsole"),
      interceptDisk: checked("interceptDisk"),
      displayUpdate: (this.form.elements.namedItem("vga") as RadioNodeList).value as DisplayUpdate,
      compilingTier: checked("compilingTier"),
      cpuidVendor: this.field<HTMLSelectElement>("cpuidVendor").value as CpuidVendor,
      cpu: this.field<HTMLSelectElement>("cpu").value as CpuKind,
      vmcsShadowing: checked("vmcsShadowing"),
    };
  }

  /** Shows the controls the machine runs under (a restored one's, a link's, or after a change it refused), without sending them. */
  show(controls: LiveControls): void {
    const checkbox = (name: string) => this.field<HTMLInputElement>(name);
    this.field<HTMLSelectElement>("ifMode").value = controls.ifMode;
    this.field<HTMLSelectElement>("cr3Targets").value = String(controls.cr3Targets);
    checkbox("hltExiting").checked = controls.hltExiting;
    checkbox("interceptConsole").checked = controls.interceptConsole;
    checkbox("interceptDisk").checked = controls.interceptDisk;
    (this.form.elements.namedItem("vga") as RadioNodeList).value = controls.displayUpdate;
    checkbox("compilingTier").checked = controls.compilingTier;
    this.field<HTMLSelectElement>("cpuidVendor").value = controls.cpuidVendor;
    this.field<HTMLSelectElement>("cpu").value = controls.cpu;
    checkbox("vmcsShadowing").checked = controls.vmcsShadowing;
  }

  /** Enables the buttons that make sense in `state`. */
  state(state: RunState): void {
    const { pause, resume, step, reset } = this.buttons;
    pause.disabled = state !== "running" && state !== "halted";
    resume.disabled = state !== "paused";
    step.disabled = state === "idle" || state === "stopped";
    reset.disabled = state === "idle";
  }

  private field<T extends HTMLElement>(name: string): T {
    return this.form.elements.namedItem(name) as unknown as T;
  }
}
