// Links that carry the demo's whole setup in the page address's hash: the sample guest, the kernel
// command line, guest RAM, the L2 guest (a sample, as the module for a guest hypervisor) with its
// arguments, and the VMCS controls, as
//
//     #guest=vmexit&cmdline=1000+cpuid&mem=64&if-mode=trap&cr3-targets=3
//     #guest=nestvisor&l2=exitloop&l2-args=1000&vmcs-shadowing=off
//     #guest=nestvisor&l2=hello&cpu=amd
//
// Only what differs from the page's defaults is written, and a link leaves out nothing it does not
// mean: a setting it does not name is the default. Reading is strict: an unknown guest, a bad
// number, a value a control does not have or a setting that does not exist is a problem named in
// a message, and a link with any problem is not applied.

import { CPU_KINDS, CPUID_VENDORS, DEFAULT_CONFIG, IF_MODES, MAX_CR3_TARGETS } from "../../vmm/vm-config.js";
import { DEFAULT_MEMORY_MIB, MEMORY_SIZE_RULE, parseMemoryMiB } from "../../vmm/memory-size.js";
import type { LiveControls } from "../protocol.js";
import { DISPLAY_UPDATES } from "../../vmm/display-update.js";
import { HYPERVISOR_GUEST } from "./module-picker.js";

/** The sample guests a link may name: those that boot as kernels, and those that are only L2 modules. */
interface SampleNames {
  guests: readonly string[];
  l2Only: readonly string[];
}

export interface Setup {
  /** A sample guest to boot; undefined for none (a kernel file of the user's own cannot travel in a link). */
  guest?: string;
  /** The kernel command line after the kernel's path, as the CLI's --cmdline. */
  cmdline: string;
  memoryMiB: number;
  /** The sample guest booted as the Multiboot module (nestvisor's L2); undefined for none (a file of the user's own cannot travel either). */
  l2?: string;
  /** Its arguments, after its name on its command line. */
  l2Args: string;
  controls: LiveControls;
}

/** What the VMM programs by default, and what the page's form starts at. */
export const DEFAULT_CONTROLS: Readonly<LiveControls> = {
  ifMode: DEFAULT_CONFIG.ifMode,
  cr3Targets: DEFAULT_CONFIG.cr3Targets,
  hltExiting: true,
  interceptConsole: true,
  interceptDisk: true,
  displayUpdate: "refresh",
  compilingTier: true,
  cpuidVendor: DEFAULT_CONFIG.cpuidVendor,
  cpu: DEFAULT_CONFIG.cpu,
  vmcsShadowing: true,
};

export const DEFAULT_SETUP: Readonly<Setup> = { cmdline: "", memoryMiB: DEFAULT_MEMORY_MIB, l2Args: "", controls: DEFAULT_CONTROLS };

/** One setting of a link: its key, its value as text, and how text sets it (or what is wrong with the text). */
interface LinkField {
  key: string;
  text(setup: Setup): string;
  /** Sets the value in `setup`, or returns what a good value looks like. */
  read(setup: Setup, text: string, samples: SampleNames): string | undefined;
}

const either = (values: readonly string[]) => (values.length < 2 ? (values[0] ?? "none") : `${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`);

/** A control and the values a link may give it, each with its text. */
function controlField<K extends keyof LiveControls>(key: string, name: K, values: ReadonlyArray<[text: string, value: LiveControls[K]]>): LinkField {
  return {
    key,
    text: (setup) => values.find(([, value]) => value === setup.controls[name])?.[0] ?? String(setup.controls[name]),
    read(setup, text) {
      const known = values.find(([candidate]) => candidate === text);
      if (!known) return `expected ${either(values.map(([candidate]) => candidate))}`;
      setup.controls = { ...setup.controls, [name]: known[1] };
      return undefined;
    },
  };
}

const same = <T extends string>(values: readonly T[]): Array<[string, T]> => values.map((value) => [value, value]);
const ON_OFF: Array<[string, boolean]> = [["on", true], ["off", false]];

const FIELDS: LinkField[] = [
  {
    key: "guest",
    text: (setup) => setup.guest ?? "",
    read(setup, text, { guests }) {
      if (!guests.includes(text)) return `no such sample guest (there are ${either(guests)})`;
      setup.guest = text;
      return undefined;
    },
  },
  {
    key: "cmdline",
    text: (setup) => setup.cmdline,
    read(setup, text) {
      setup.cmdline = text;
      return undefined;
    },
  },
  {
    key: "mem",
    text: (setup) => String(setup.memoryMiB),
    read(setup, text) {
      const mib = parseMemoryMiB(text);
      if (mib === undefined) return `guest RAM must be ${MEMORY_SIZE_RULE}`;
      setup.memoryMiB = mib;
      return undefined;
    },
  },
  {
    key: "l2",
    text: (setup) => setup.l2 ?? "",
    read(setup, text, { guests, l2Only }) {
      const l2Guests = [...guests.filter((guest) => guest !== HYPERVISOR_GUEST), ...l2Only];
      if (!l2Guests.includes(text)) return `no such sample guest to run as L2 (there are ${either(l2Guests)})`;
      setup.l2 = text;
      return undefined;
    },
  },
  {
    key: "l2-args",
    text: (setup) => setup.l2Args,
    read(setup, text) {
      setup.l2Args = text;
      return undefined;
    },
  },
  controlField("if-mode", "ifMode", same(IF_MODES)),
  controlField("cr3-targets", "cr3Targets", Array.from({ length: MAX_CR3_TARGETS + 1 }, (_, count) => [String(count), count])),
  controlField("hlt-exiting", "hltExiting", ON_OFF),
  controlField("io-console", "interceptConsole", ON_OFF),
  controlField("io-disk", "interceptDisk", ON_OFF),
  controlField("vga", "displayUpdate", same(DISPLAY_UPDATES)),
  controlField("jit", "compilingTier", ON_OFF),
  controlField("cpuid-vendor", "cpuidVendor", same(CPUID_VENDORS)),
  controlField("cpu", "cpu", same(CPU_KINDS)),
  controlField("vmcs-shadowing", "vmcsShadowing", ON_OFF),
];

/** The hash (without its "#") for `setup`: the settings that differ from the defaults. */
export function setupHash(setup: Setup): string {
  const params = new URLSearchParams();
  for (const field of FIELDS) {
    const text = field.text(setup);
    if (text !== field.text(DEFAULT_SETUP)) params.set(field.key, text);
  }
  return params.toString();
}

export type ParsedLink = { setup: Setup; problems?: undefined } | { setup?: undefined; problems: string[] };

/** Reads a hash (with or without its "#"); `guests` are the sample guests' names, `l2Only` the samples that are only L2 modules. */
export function parseSetupHash(hash: string, guests: readonly string[], l2Only: readonly string[] = []): ParsedLink {
  const setup: Setup = { ...DEFAULT_SETUP };
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [key, text] of new URLSearchParams(hash.replace(/^#/, ""))) {
    const field = FIELDS.find((candidate) => candidate.key === key);
    const problem = !field
      ? `not a setting (a link may set ${either(FIELDS.map((known) => known.key))})`
      : seen.has(key)
        ? "given twice"
        : field.read(setup, text, { guests, l2Only });
    seen.add(key);
    if (problem !== undefined) problems.push(`${key}=${text}: ${problem}`);
  }
  if (!seen.has("l2") && setup.l2Args !== "") problems.push(`l2-args=${setup.l2Args}: arguments for no L2 guest (name it with l2)`);
  return problems.length > 0 ? { problems } : { setup };
}
