// The VMM's policy knobs, chosen when a VM is created (CLI options, embedding API): which
// hypervisor CPUID presents, how the interrupt flag is virtualised, and how many CR3 values the
// core may switch to without an exit. Everything here is host policy; the core only sees the
// VMCS fields the VMM derives from it (vmcs-setup.ts).

export const CPUID_VENDORS = ["wasmvisor", "kvm", "hyperv", "vmware", "none"] as const;
/** Which hypervisor CPUID leaf 1 ECX[31] and leaves 0x40000000+ present; `none` = bare metal. */
export type CpuidVendor = (typeof CPUID_VENDORS)[number];

export const HYPERV_PARTITIONS = ["root", "child"] as const;
/** Under `hyperv`: the root partition may create partitions (CPUID 0x40000003 EBX bit 0). */
export type HypervPartition = (typeof HYPERV_PARTITIONS)[number];

export const IF_MODES = ["vt", "trap", "classic", "bt"] as const;
/**
 * The techniques that virtualise the guest kernel's sensitive instructions (docs/design.md): VT-x's
 * virtual IF, trap-and-emulate, pre-VT deprivileging, and binary translation of the deprivileged kernel.
 */
export type IfMode = (typeof IF_MODES)[number];
/** Whether the technique deprivileges the guest kernel, which the VM keeps from its creation on. */
export function deprivilegesKernel(mode: IfMode): boolean {
  return mode === "classic" || mode === "bt";
}

export const CR3_POLICIES = ["lru", "fifo"] as const;
/** Which CR3-target slot a CR3 load that missed replaces. */
export type Cr3Policy = (typeof CR3_POLICIES)[number];

export const CPU_KINDS = ["intel", "amd"] as const;
/**
 * The processor the guest sees (its vendor, signature and vendor-specific features: CPUID, MSRs),
 * apart from the hypervisor CPUID presents: `intel` (GenuineIntel, a P6) or `amd` (AuthenticAMD,
 * family 10h, with SVM: src/vmm/svm/).
 */
export type CpuKind = (typeof CPU_KINDS)[number];

export const NESTED_MODES = ["off", "vmx", "svm"] as const;
/** Nested virtualization the guest is offered: none, Intel's VMX (src/vmm/nested/) or AMD's SVM (src/vmm/svm/). */
export type NestedMode = (typeof NESTED_MODES)[number];

/** The nesting a guest hypervisor is offered on `cpu`: VMX on Intel's, SVM on AMD's. */
export const nestingOf = (cpu: CpuKind): NestedMode => (cpu === "amd" ? "svm" : "vmx");

/** The VT-x limit on CR3-target values (SDM 24.6.7). */
export const MAX_CR3_TARGETS = 4;

export interface VmConfig {
  cpu: CpuKind;
  cpuidVendor: CpuidVendor;
  hypervPartition: HypervPartition;
  ifMode: IfMode;
  /** CR3-target count, 0-4: how many CR3 values switch without an exit. */
  cr3Targets: number;
  cr3Policy: Cr3Policy;
  /**
   * `vmx`: the guest sees VMX (CPUID, CR4.VMXE, the VMX MSRs) and its VMX instructions are emulated;
   * `svm` (with cpu `amd`): SVM is enabled (VM_CR clear, so EFER.SVME can be set) and its instructions are emulated.
   */
  nested: NestedMode;
}

export const DEFAULT_CONFIG: Readonly<VmConfig> = {
  // Intel: the CPU every sample guest was first checked against on QEMU (its default qemu32).
  cpu: "intel",
  cpuidVendor: "wasmvisor",
  hypervPartition: "child",
  ifMode: "vt",
  cr3Targets: MAX_CR3_TARGETS,
  cr3Policy: "lru",
  // Off: the CPU stays the one every sample guest is checked against on QEMU, whose CPU has no VMX,
  // and a guest that finds VMX in CPUID may try to run a nested guest, which is not built yet.
  nested: "off",
};

/** Fills in defaults and checks every value; throws RangeError naming the bad one. */
export function resolveConfig(partial: Partial<VmConfig> = {}): VmConfig {
  const config = { ...DEFAULT_CONFIG, ...stripUndefined(partial) };
  oneOf("cpuidVendor", config.cpuidVendor, CPUID_VENDORS);
  oneOf("hypervPartition", config.hypervPartition, HYPERV_PARTITIONS);
  oneOf("ifMode", config.ifMode, IF_MODES);
  oneOf("cr3Policy", config.cr3Policy, CR3_POLICIES);
  oneOf("nested", config.nested, NESTED_MODES);
  oneOf("cpu", config.cpu, CPU_KINDS);
  if (config.nested === "vmx" && config.cpu !== "intel") throw new RangeError(`nested "vmx" needs an Intel CPU (cpu "intel"): AMD CPUs have no VMX`);
  if (config.nested === "svm" && config.cpu !== "amd") throw new RangeError(`nested "svm" needs an AMD CPU (cpu "amd"): Intel CPUs have no SVM`);
  if (!Number.isInteger(config.cr3Targets) || config.cr3Targets < 0 || config.cr3Targets > MAX_CR3_TARGETS) {
    throw new RangeError(`cr3Targets must be a whole number from 0 to ${MAX_CR3_TARGETS}, not ${config.cr3Targets}`);
  }
  return config;
}

function oneOf(name: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value)) throw new RangeError(`${name} must be one of ${allowed.join(", ")}, not ${JSON.stringify(value)}`);
}

function stripUndefined<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined)) as Partial<T>;
}
