// When the guest has first shown something, serial output or a graphics frame, or a while after it
// booted without doing either: the moment to load what matters only once a guest runs (uPlot, for
// the charts), so that its download never delays a guest's first output on a slow network (it was
// 21 KB of the 200 KB the page may fetch before that: test/web/load.e2e.test.ts).

import { afterFirstPaint } from "./first-paint.js";

/** How long a guest that neither prints nor draws may run before the charts load anyway. */
const SILENT_GUEST_MS = 2000;

let shown: () => void;
const guestShown = new Promise<void>((resolve) => (shown = resolve));

/** The guest printed or drew. */
export function guestShowedOutput(): void {
  shown();
}

/** A guest booted: if it shows nothing within SILENT_GUEST_MS, go on without it. */
export function guestBooted(): void {
  setTimeout(shown, SILENT_GUEST_MS);
}

export function afterFirstOutput(): Promise<void> {
  return afterFirstPaint().then(() => guestShown);
}
