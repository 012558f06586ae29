// nestvisor in the browser demo, for the e2e tests that run its golden L2 guests in the page
// (test/web/nested-guests.e2e.test.ts under VMX, nested-guests-svm.e2e.test.ts under SVM): an L2
// module as the page's L2 choice and as a link, the wait for a run's end, and the console as the
// page saves it. A run is waited for by its stopped state, never timed, and its console is the
// text the page saves, which is all the output the page received (SerialConsole.drawn()).

import { readFileSync } from "node:fs";
import type { Page } from "playwright-core";

/** An L2 guest's module ("guests/multitask.elf 5 20") as the page's L2 choice: the sample's name and its arguments. */
export function pageChoice(module: string): { l2: string; args: string } {
  const [file, ...args] = module.split(" ");
  return { l2: file.replace(/^guests\//, "").replace(/\.(elf|bin)$/, ""), args: args.join(" ") };
}

/** The link that boots nestvisor with `module` as L2, and the controls `settings` name (e.g. cpu=amd). */
export function nestvisorLink(module: string, settings: Record<string, string>): string {
  const { l2, args } = pageChoice(module);
  return `#${new URLSearchParams({ guest: "nestvisor", l2, ...(args === "" ? {} : { "l2-args": args }), ...settings })}`;
}

/** Opens `link` in the page, marking the state line so that only the run it boots counts as ended (the page already ran one). */
export function openLink(page: Page, link: string): Promise<void> {
  return page.evaluate((hash) => {
    document.getElementById("state")!.dataset.state = "booting";
    location.hash = hash;
  }, link);
}

/** Waits until the booted nestvisor has stopped. */
export async function nestvisorEnded(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const state = document.getElementById("state")!;
    return state.dataset.state === "stopped" && state.textContent!.startsWith("nestvisor:");
  }, null, { timeout: 120_000 });
}

/** The console's text as the page saves it ("Console text (.txt)"), scrollback included. */
export async function savedConsole(page: Page): Promise<{ name: string; text: string }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click("#save-console")]);
  return { name: file.suggestedFilename(), text: readFileSync(await file.path(), "utf8") };
}
