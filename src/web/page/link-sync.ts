// Keeps the page's address in step with its setup (setup-link.ts). Each change the user makes
// rewrites the hash in place (history.replaceState: no new history entry, no hashchange), so the
// address bar is always a link to what runs. A hash the user types, or back and forward to a
// link, fires hashchange and is applied as a link opened anew; a link with problems is not applied,
// and the message names them.

import { parseSetupHash, setupHash, type Setup } from "./setup-link.js";

export interface LinkTarget {
  /** The page's setup now; undefined while a field holds a bad value (the page says so). */
  current(): Setup | undefined;
  /** Shows `setup` in the page and boots it (or sends its controls, if it names no guest). */
  apply(setup: Setup): void;
  /** The sample guests that boot as kernels, and the samples that are only L2 modules. */
  guests(): string[];
  l2OnlyGuests(): string[];
  problem(message: string): void;
}

export class LinkSync {
  constructor(
    private readonly page: Window,
    private readonly target: LinkTarget,
  ) {}

  /** Applies the link the page was opened with, if any, and from then on every hashchange (an empty hash is the defaults). */
  start(): void {
    if (this.page.location.hash.length > 1) this.follow();
    this.page.addEventListener("hashchange", () => this.follow());
  }

  /** The sample guest the page's link names, if the link is good: known before the VM is ready, so it can be fetched meanwhile. */
  linkedGuest(): string | undefined {
    return parseSetupHash(this.hash(), this.target.guests(), this.target.l2OnlyGuests()).setup?.guest;
  }

  /** Writes the current setup into the address, replacing the history entry. */
  update(): void {
    const setup = this.target.current();
    if (!setup) return;
    const hash = setupHash(setup);
    const url = new URL(this.page.location.href);
    url.hash = hash;
    if (url.href !== this.page.location.href) this.page.history.replaceState(this.page.history.state, "", url.href);
  }

  private follow(): void {
    const hash = this.hash();
    const current = this.target.current();
    if (current && hash === setupHash(current)) return;
    const parsed = parseSetupHash(hash, this.target.guests(), this.target.l2OnlyGuests());
    if (parsed.problems) return this.target.problem(`This link was not applied: ${parsed.problems.join("; ")}`);
    this.target.apply(parsed.setup);
  }

  private hash(): string {
    return this.page.location.hash.replace(/^#/, "");
  }
}
