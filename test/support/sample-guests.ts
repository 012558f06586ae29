// Every sample guest in guests/ with the arguments the whole-guest tests run it with: the compiling
// tier's on/off comparison (test/guests/compiling-tier.test.ts) and binary translation's comparison
// with vt (test/guests/binary-translation.test.ts).

export interface SampleRun {
  args: string[];
  /** The golden copy the output must equal (guests/NAME.expected), when these are its arguments. */
  golden?: string;
  /** COM1 input, piped. */
  input?: string;
  /** Each tier gets a fresh zeroed disk image of this many sectors. */
  diskSectors?: number;
  /** The share of retired instructions the compiled run must at least retire in compiled code. */
  compiledShare?: number;
}

const MODULES = ["--module", "guests/modules/first.txt some args", "--module", "guests/modules/second.bin"];

export const SAMPLE_GUESTS: Record<string, SampleRun> = {
  hello: { args: ["guests/hello.elf"], golden: "hello" },
  cputest: { args: ["guests/cputest.elf"], golden: "cputest" },
  paging: { args: ["guests/paging.elf"], golden: "paging" },
  "paging, every CR3 load exiting": { args: ["guests/paging.elf", "--cr3-targets", "0"], golden: "paging" },
  compute: { args: ["guests/compute.elf"], golden: "compute", compiledShare: 0.9 },
  regloop: { args: ["guests/regloop.elf", "--cmdline", "1000000"], compiledShare: 0.9 },
  realc: { args: ["guests/realc.elf", "--cmdline", "1"], golden: "realc", compiledShare: 0.9 },
  codestore: { args: ["guests/codestore.elf"], golden: "codestore" },
  modules: { args: ["guests/modules.elf", ...MODULES], golden: "modules" },
  vmxprobe: { args: ["guests/vmxprobe.elf", "--nested", "vmx"], golden: "vmxprobe" },
  vmxentry: { args: ["guests/vmxentry.elf", "--nested", "vmx"], golden: "vmxentry" },
  svmentry: { args: ["guests/svmentry.elf", "--cpu", "amd", "--nested", "svm"], golden: "svmentry" },
  "cpuprobe, amd": { args: ["guests/cpuprobe.elf", "--cpu", "amd"], golden: "cpuprobe-amd" },
  detect: { args: ["guests/detect.elf", "--cpuid-vendor", "hyperv"] },
  "ifmodes, vt": { args: ["guests/ifmodes.elf"] },
  "ifmodes, classic": { args: ["guests/ifmodes.elf", "--if-mode", "classic"] },
  "redpill, classic": { args: ["guests/redpill.elf", "--if-mode", "classic"] },
  ringcheck: { args: ["guests/ringcheck.elf"], golden: "ringcheck" },
  "ringcheck, classic": { args: ["guests/ringcheck.elf", "--if-mode", "classic"], golden: "ringcheck-classic" },
  vmexit: { args: ["guests/vmexit.elf", "--cmdline", "2000 all"] },
  exitloop: { args: ["guests/exitloop.elf", "--cmdline", "20000"] },
  "multitask, yield": { args: ["guests/multitask.elf", "--cmdline", "6 30"], compiledShare: 0.5 },
  "multitask, timer": { args: ["guests/multitask.elf", "--cmdline", "3 20 timer"] },
  vga: { args: ["guests/vga.elf", "--cmdline", "500"] },
  shell: { args: ["guests/shell.elf"], input: "help\ncpuid\ntime\nmem\nstats\nexit 0\n" },
  tour: { args: ["guests/tour.elf"], diskSectors: 2048 },
  diskbench: { args: ["guests/diskbench.elf"], diskSectors: 4096 },
  playground: { args: ["guests/playground.elf", "--max-instructions", "40000000"] },
};
