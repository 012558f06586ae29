// The demo page: wires the panels (guest picker and boot fields, run buttons and VMCS controls, VGA
// screen, serial console, exit statistics, the step view and exit trace, the lab tools) to the
// worker that runs the guest, and keeps the address a link to the setup (link-sync.ts). The page
// holds no VM state: it sends commands and shows what the worker reports (protocol.ts).

import { BootFields } from "./page/boot-fields.js";
import { SerialConsole } from "./page/console.js";
import { ControlsForm } from "./page/controls.js";
import { DiskFiles } from "./page/disk-files.js";
import { download, fileName } from "./page/download.js";
import { ExitCostsView } from "./page/exit-costs-view.js";
import { ExitTraceView } from "./page/exit-trace-view.js";
import { bootDroppedFiles } from "./page/file-drop.js";
import { guestBooted, guestShowedOutput } from "./page/first-output.js";
import { DEFAULT_GUEST, GuestPicker, type KernelSource } from "./page/guest-picker.js";
import { LevelsView } from "./page/levels-view.js";
import { LinkSync } from "./page/link-sync.js";
import { ModulePicker } from "./page/module-picker.js";
import { attachNotes, controlChanges } from "./page/control-notes.js";
import { ReasonChart } from "./page/reason-chart.js";
import { VgaScreen } from "./page/screen.js";
import { screenshotButton } from "./page/screenshot.js";
import { StateFiles } from "./page/state-files.js";
import type { Setup } from "./page/setup-link.js";
import { StatsView } from "./page/stats-view.js";
import type { PageMessage, RunState, StepReport, WorkerMessage } from "./protocol.js";

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
const send = (message: PageMessage, transfer: Transferable[] = []) => worker.postMessage(message, transfer);

const stateLine = byId<HTMLElement>("state");
const errorLine = byId<HTMLElement>("error");
const showError = (message: string) => {
  errorLine.textContent = message;
};

const terminal = new SerialConsole(
  byId("console"),
  (bytes) => send({ type: "serial-input", bytes: bytes.buffer as ArrayBuffer }, [bytes.buffer as ArrayBuffer]),
  (bytes) => send({ type: "console-drawn", bytes }),
);
void terminal.outputShown.then(guestShowedOutput);
const screen = new VgaScreen(byId("screen"), (key, ctrl) => send({ type: "key", key, ctrl }));
const stats = new StatsView(byId("chart"), byId("summary"), byId<HTMLTableElement>("exits").tBodies[0], byId("mmu"));
const levels = new LevelsView(byId("levels"));
const exitCosts = new ExitCostsView(byId("measure-exit-costs"), byId("exit-costs-status"), byId<HTMLTableElement>("exit-costs").tBodies[0], () => send({ type: "measure-exit-costs" }));
const reasonChart = new ReasonChart(byId("reason-chart"), byId<HTMLOListElement>("chart-markers"));
const showNotes = attachNotes(byId<HTMLFormElement>("controls"));
const controls = new ControlsForm(
  byId("controls"),
  { pause: byId("pause"), resume: byId("resume"), step: byId("step"), reset: byId("reset") },
  (values) => {
    send({ type: "controls", controls: values });
    controlsChanged(values);
    link.update();
  },
);
/** The controls the guest runs under (a change from them is marked on the chart), and those it booted with. */
let applied = controls.values();
let bootedWith = applied;
showNotes(applied);
function controlsChanged(values: ReturnType<typeof controls.values>): void {
  reasonChart.mark(controlChanges(applied, values));
  applied = values;
  showNotes(values);
}
for (const command of ["pause", "resume", "step", "reset"] as const) byId(command).addEventListener("click", () => send({ type: command }));
const bootFields = new BootFields(byId("cmdline"), byId("memory"));
const trace = new ExitTraceView(byId("trace-panel"), byId("trace"), byId("trace-length"), (on) => send({ type: "trace", on }));

const l2 = new ModulePicker({ select: byId("module-select"), args: byId("module-args"), file: byId("module-file") });
byId("guest-select").addEventListener("change", () => l2.suggest(byId<HTMLSelectElement>("guest-select").value));

/** The sample guest last booted, which the link names; undefined before a boot or after a file of the user's own. */
let bootedSample: string | undefined;
/** The L2 it booted with, as the link names it. */
let bootedL2 = l2.choice();
/** Counts boots asked for: one whose L2 module arrives after a later one was asked for is dropped. */
let boots = 0;
async function boot(kernel: ArrayBuffer, source: KernelSource): Promise<void> {
  const fields = bootFields.values();
  if ("problem" in fields) return showError(fields.problem);
  const mine = ++boots;
  const modules = await l2.modules(source.sample ? source.name : "");
  if (mine !== boots) return;
  if ("problem" in modules) return showError(modules.problem);
  showError("");
  bootedSample = source.sample ? source.name : undefined;
  bootedL2 = l2.choice();
  // A module is a guest hypervisor's L2 (nestvisor's): the guest is offered its CPU's nesting then.
  const nested = modules.length > 0;
  send({ type: "boot", kernel, name: source.name, path: source.path, cmdline: fields.cmdline, memoryMiB: fields.memoryMiB, controls: controls.values(), modules, nested }, [kernel, ...modules.map((module) => module.bytes)]);
  link.update();
}

const picker = new GuestPicker(
  { select: byId("guest-select"), boot: byId("boot"), about: byId("guest-about"), file: byId("kernel-file"), dropZone: byId("drop-zone") },
  (kernel, source) => void boot(kernel, source),
  showError,
);
/** Opened without a link, the page boots the default guest as soon as it can. */
const openedWithoutLink = location.hash.length <= 1;
const guestsLoaded = picker.load().then(
  () => {
    l2.list(picker.entries());
    const linked = openedWithoutLink ? DEFAULT_GUEST : link.linkedGuest();
    if (linked !== undefined) picker.prefetch(linked);
  },
  (error: Error) => showError(error.message),
);
bootDroppedFiles(document, (file) => void picker.bootFile(file), showError);

const link = new LinkSync(window, {
  current(): Setup | undefined {
    const fields = bootFields.values();
    return "problem" in fields ? undefined : { guest: bootedSample, ...bootedL2, ...fields, controls: controls.values() };
  },
  apply(setup) {
    controls.show(setup.controls);
    bootFields.set(setup);
    l2.show(setup.l2, setup.l2Args);
    if (setup.guest !== undefined) {
      void picker.boot(setup.guest);
    } else {
      showError("");
      send({ type: "controls", controls: setup.controls });
      controlsChanged(setup.controls);
      link.update();
    }
  },
  guests: () => picker.names(),
  l2OnlyGuests: () => picker.l2OnlyNames(),
  problem: showError,
});
bootFields.onChange(() => {
  const fields = bootFields.values();
  if ("problem" in fields) return showError(fields.problem);
  showError("");
  link.update();
});

let guestName = "";
const toolsError = byId<HTMLElement>("tools-error");
const showToolsError = (message: string) => (toolsError.textContent = message);
const stateFiles = new StateFiles({ save: byId("save-state"), file: byId("state-file"), dropZone: byId("state-drop-zone") }, send, showToolsError);
const disk = new DiskFiles({ status: byId("disk-status"), upload: byId("disk-file"), download: byId("download-disk") }, send, showToolsError);
screenshotButton(byId("screenshot"), byId("screen"), () => guestName, showToolsError);
// All the output received, once the terminal has it: a click as the guest stops saves the whole of it.
byId("save-console").addEventListener("click", () => {
  const name = fileName(guestName, "txt");
  void terminal.drawn().then(() => download(new Blob([terminal.text()], { type: "text/plain" }), name));
});

function showState(state: RunState, message?: string): void {
  controls.state(state);
  for (const id of ["save-state", "screenshot", "save-console"]) byId<HTMLButtonElement>(id).disabled = state === "idle";
  const name = guestName ? `${guestName}: ` : "";
  stateLine.textContent = `${name}${message ?? state}`;
  stateLine.dataset.state = state;
}

function showStep({ registers, eip, bytes, disassembly, stopReason }: StepReport): void {
  byId("stop-reason").textContent = stopReason === undefined ? "" : `stopped: ${stopReason}`;
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join(" ");
  byId("instruction").textContent = `${eip.toString(16).padStart(8, "0")}:  ${hex.padEnd(24)}  ${disassembly}`;
  byId("registers").textContent = registers;
}

worker.onmessage = ({ data }: MessageEvent<WorkerMessage>) => {
  switch (data.type) {
    case "ready":
      if (trace.open) send({ type: "trace", on: true });
      void guestsLoaded.then(() => {
        picker.ready();
        link.start();
        if (openedWithoutLink && picker.names().includes(DEFAULT_GUEST)) void picker.boot(DEFAULT_GUEST);
      });
      return showState("idle", "ready: pick a guest and boot it");
    case "booted":
      // A machine restored from a state file is no sample guest: the link no longer names one.
      if (data.name !== bootedSample) [bootedSample, bootedL2] = [undefined, { l2Args: "" }];
      controls.show(data.controls);
      link.update();
      showToolsError("");
      terminal.clear();
      screen.clear();
      stats.clear();
      levels.clear();
      byId("stop-reason").textContent = "";
      reasonChart.clear();
      // A reboot for a boot-time control (classic or bt IF mode, CPUID vendor) starts a new chart: its changes are marked at its start.
      if (data.name === guestName) reasonChart.mark(controlChanges(bootedWith, data.controls));
      guestName = data.name;
      bootedWith = applied = data.controls;
      return guestBooted();
    case "state":
      return showState(data.state, data.message);
    case "console":
      return terminal.write(new Uint8Array(data.bytes));
    case "screen":
      return screen.show({ cells: new Uint16Array(data.cells), cursor: data.cursor, blink: data.blink });
    case "frame":
      guestShowedOutput();
      return screen.showFrame(data.width, data.height, data.rect, new Uint8ClampedArray(data.rgba));
    case "stats":
      stats.show(data.sample);
      levels.show(data.sample);
      return reasonChart.show(data.sample);
    case "step":
      return showStep(data.report);
    case "trace":
      return trace.show(data.lines);
    case "exit-costs-progress":
      return exitCosts.progress(data.label);
    case "exit-costs":
      return exitCosts.show(data.costs, data.crossOriginIsolated, data.nodeRunDate);
    case "exit-costs-failed":
      exitCosts.failed();
      return showError(data.message);
    case "controls":
      controls.show(data.controls);
      return link.update();
    case "state-file":
      return stateFiles.saved(data.bytes, data.name);
    case "disk":
      return disk.show(data.name, data.bytes, data.sectors);
    case "disk-image":
      return disk.downloaded(data.bytes, data.name);
    case "error":
      return showError(data.message);
    case "tool-error":
      return showToolsError(data.message);
  }
};
worker.onerror = (event) => showError(`the VM worker failed: ${event.message}`);
