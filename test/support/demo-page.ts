// The browser demo (dist/web, built by `npm run build:web`) opened in Debian's Chromium, headless,
// driven with playwright-core and served from a subfolder as a static host would serve it. Each e2e
// file opens its own page with `openDemo()` and reads it through the helpers here, so the files
// share one way of booting a sample and reading the console, the state line and the exit table.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { serve } from "../../scripts/serve-web.mjs";

export const CHROMIUM = "/usr/bin/chromium";
const ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const WEB = fileURLToPath(new URL("../../dist/web", import.meta.url));
export const GUESTS = fileURLToPath(new URL("../../guests", import.meta.url));
export const hasChromium = existsSync(CHROMIUM);

/** The describe title: what is tested, or why it is skipped here (CI installs Chromium: .ci/run). */
export const demoTitle = (what: string) => (hasChromium ? what : `${what}: skipped, ${CHROMIUM} is not installed (apt-get install -y chromium)`);

export interface DemoPage {
  page: Page;
  context: BrowserContext;
  /** The page's address, with the subfolder it is served from. */
  url: string;
  close(): Promise<void>;
  bootSample(name: string): Promise<void>;
  /** The serial console's visible text. */
  consoleText(): Promise<string>;
  /** The console's rows joined without their trailing blanks: the text whatever the terminal's width. */
  flatConsole(): Promise<string>;
  /** The state line ("hello: running", ...). */
  state(): Promise<string>;
  /** The count in the exit table's row for `reason`, 0 if the reason has not occurred. */
  exitCount(reason: number): Promise<number>;
}

export interface DemoOptions {
  /** A phone: the meta viewport applies and touch events are enabled. */
  isMobile?: boolean;
  hasTouch?: boolean;
  /** Called before the page loads (init scripts, listeners). */
  beforeLoad?: (page: Page) => Promise<void>;
}

/** Serves dist/web, opens it in a fresh Chromium profile, and waits until a guest can be booted. */
export async function openDemo(viewport = { width: 1280, height: 1000 }, path = "", { isMobile, hasTouch, beforeLoad }: DemoOptions = {}): Promise<DemoPage> {
  if (!existsSync(join(WEB, "index.html"))) throw new Error("dist/web is missing: run `npm run build:web` (npm test's pretest does)");
  const { server, url } = await serve(WEB, { port: 0, prefix: "/some/subfolder/" });
  const profile = mkdtempSync(join(tmpdir(), "wasmvisor-chromium-"));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, viewport, isMobile, hasTouch });
  const page = context.pages()[0] ?? (await context.newPage());
  await beforeLoad?.(page);
  await page.goto(url + path);
  await page.waitForFunction(() => !(document.getElementById("boot") as HTMLButtonElement).disabled, null, { timeout: 30_000 });

  const consoleText = () => page.locator(".xterm-rows").innerText();
  return {
    page,
    context,
    url,
    async close() {
      await context.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    },
    async bootSample(name) {
      await page.selectOption("#guest-select", name);
      await page.click("#boot");
    },
    consoleText,
    flatConsole: async () =>
      (await consoleText())
        .split("\n")
        .map((row) => row.trimEnd())
        .join(""),
    state: () => page.locator("#state").innerText(),
    async exitCount(reason) {
      const row = page.locator(`#exits tr[data-reason="${reason}"] td`).first();
      return (await row.count()) === 0 ? 0 : Number((await row.innerText()).replace(/,/g, ""));
    },
  };
}

/**
 * Ticks or clears a checkbox or radio button as a click does, and sends the form its change event:
 * the lines under the controls and the chart's markers re-flow the page, which can move a box
 * between Playwright's aim and its click.
 */
export function setChecked(page: Page, selector: string, checked: boolean): Promise<void> {
  return page.locator(selector).evaluate((box: HTMLInputElement, on) => {
    box.checked = on;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }, checked);
}

/** Waits until the page says the run of guest `name` has stopped ("name: ..." in the state line). */
export function waitUntilStopped(page: Page, name: string, timeout: number): Promise<unknown> {
  return page.waitForFunction(
    (guest) => {
      const state = document.getElementById("state")!;
      return state.dataset.state === "stopped" && state.textContent!.startsWith(`${guest}:`);
    },
    name,
    { timeout },
  );
}
