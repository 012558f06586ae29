// The demo's Web Worker: the guest runs here so that the page never freezes, however long a burst
// of guest code or however many exits. It fetches the core (core.wasm, beside this script) once,
// then turns the page's messages into Session calls. The compiling tier creates WebAssembly
// modules synchronously, which browsers allow in a worker (not on the page's main thread). This
// script is small and loads the VM's code as a chunk: the core downloads while the chunk does.

import type { PageMessage, WorkerMessage } from "./protocol.js";

interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
}
const scope = self as unknown as WorkerScope;

async function loadCore(): Promise<Uint8Array<ArrayBuffer>> {
  const url = new URL("core.wasm", import.meta.url);
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load the guest CPU core ${url.pathname}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

const post = (message: WorkerMessage, transfer: Transferable[] = []) => scope.postMessage(message, transfer);
const core = loadCore();
const session = Promise.all([core, import("./vm/session.js")]).then(([bytes, { Session }]) => Session.create(bytes, post));
session.then(
  () => post({ type: "ready" }),
  (error: Error) => post({ type: "error", message: error.message }),
);

scope.onmessage = async ({ data }) => {
  const vm = await session;
  switch (data.type) {
    case "boot":
      return vm.start(data);
    case "controls":
      return vm.setControls(data.controls);
    case "pause":
      return vm.pause();
    case "resume":
      return vm.resume();
    case "step":
      return vm.step();
    case "reset":
      return vm.reset();
    case "serial-input":
      return vm.serialInput(new Uint8Array(data.bytes));
    case "console-drawn":
      return vm.consoleDrawn(data.bytes);
    case "key":
      return vm.key(data.key, data.ctrl);
    case "save-state":
      return vm.save();
    case "restore-state":
      return vm.restore(new Uint8Array(data.bytes), data.name);
    case "disk-upload":
      return vm.replaceDisk(new Uint8Array(data.bytes), data.name);
    case "disk-download":
      return vm.downloadDisk();
    case "trace":
      return vm.traceExits(data.on);
    case "measure-exit-costs": {
      // The bench's exit loops load as a chunk of their own when first asked for.
      const { measureExitCosts, nodeRunDate } = await import("./vm/exit-costs.js");
      return measureExitCosts(await core, (label) => post({ type: "exit-costs-progress", label })).then(
        (costs) => post({ type: "exit-costs", costs, crossOriginIsolated: self.crossOriginIsolated, nodeRunDate }),
        (error: Error) => post({ type: "exit-costs-failed", message: `measuring exit costs: ${error.message}` }),
      );
    }
  }
};
