// The forged-state-file campaign (`npm run fuzz -- --state-files`): real saved machines
// (state-seeds.ts) with a few of their JSON values replaced by hostile ones, the checksum made
// right again, each restored and run by a worker under the watchdog (state-check.ts). Hostile
// values: boundaries of every width, huge and tiny magnitudes, fractions, near misses of the value
// that was there, flipped flags, lists emptied or made huge, and absent parts (null) filled in
// with what another seed had there. Case n of seed s is a function of Rng(s, n) and the seeds,
// which are the same on every run, so a problem is repeated with the same --seed.

import { decodeStateFile, encodeStateFile } from "../vmm/state-file.js";
import type { CampaignReport, FoundProblem } from "./campaign.js";
import { CaseRunner } from "./case-runner.js";
import { problemKey } from "./corpus.js";
import { Rng, interestingU32 } from "./rng.js";
import { stateSeeds, type StateSeed } from "./state-seeds.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

/** A place a value sits: its container and key, and its path ("devices.pit.channels[0].count"). */
interface Place {
  parent: Container;
  key: string | number;
  path: string;
}

const HOSTILE_NUMBERS = [
  0, -1, 1, 0.5, -0.5, 7, 8, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32,
  2 ** 52, 2 ** 53, 2 ** 64, -(2 ** 53), 1e300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE,
];
const HUGE_LENGTHS = [17, 73, 257, 4096, 100_000];

// A list's entries past this many are not offered as places. A list made huge by an earlier
// mutation of the same case (100,000 copies of a PIT channel) would otherwise be walked entry by
// entry, taking the main thread for seconds, during which a running case's watchdog cannot fire.
const MAX_LIST_PLACES = 4096;

/** Every place in `json` below its root, parents before children (a loop: no recursion). */
function places(json: Container): Place[] {
  const found: Place[] = [];
  const todo: Place[] = [];
  const add = (parent: Container, path: string) => {
    const keys = Array.isArray(parent) ? Array.from({ length: Math.min(parent.length, MAX_LIST_PLACES) }, (_, index) => index) : Object.keys(parent);
    for (const key of keys) {
      const place = { parent, key, path: typeof key === "number" ? `${path}[${key}]` : path === "" ? key : `${path}.${key}` };
      found.push(place);
      todo.push(place);
    }
  };
  add(json, "");
  for (let place = todo.pop(); place !== undefined; place = todo.pop()) {
    const value = valueAt(place);
    if (typeof value === "object" && value !== null) add(value, place.path);
  }
  return found;
}

const valueAt = ({ parent, key }: Place): Json => (parent as Record<string | number, Json>)[key];

function setAt({ parent, key }: Place, value: Json): void {
  (parent as Record<string | number, Json>)[key] = value;
}

/** What the seeds hold at each path where some seed has something (to fill in an absent part). */
function presentValues(seeds: Json[]): Map<string, Json[]> {
  const present = new Map<string, Json[]>();
  for (const json of seeds) {
    for (const place of places(json as Container)) {
      const value = valueAt(place);
      if (value !== null) present.set(place.path, [...(present.get(place.path) ?? []), value]);
    }
  }
  return present;
}

function hostileNumber(rng: Rng, value: number): number {
  return rng.weighted([
    [3, () => rng.pick([0, -1, 1])],
    [3, () => rng.pick(HOSTILE_NUMBERS)],
    [3, () => value + rng.range(-3, 3)],
    [1, () => value * rng.pick([-1, 2, 1000, 2 ** 32])],
    [1, () => interestingU32(rng)],
  ] as const)();
}

function hostileList(rng: Rng, list: Json[]): Json[] {
  return rng.weighted([
    [2, () => []],
    [3, () => new Array<Json>(rng.pick(HUGE_LENGTHS)).fill(list[0] ?? rng.pick(HOSTILE_NUMBERS))],
    [2, () => [...list, ...list]],
    [1, () => list.slice(1)],
  ] as const)();
}

/** Replaces the value at `place` with a hostile one; returns false if it has no other to offer. */
function mutate(rng: Rng, place: Place, present: Map<string, Json[]>): boolean {
  const value = valueAt(place);
  let changed: Json;
  if (typeof value === "number") changed = hostileNumber(rng, value);
  else if (typeof value === "boolean") changed = !value;
  else if (Array.isArray(value)) changed = hostileList(rng, value);
  else if (value === null && present.has(place.path)) changed = structuredClone(rng.pick(present.get(place.path)!));
  else return false;
  if (JSON.stringify(changed) === JSON.stringify(value)) return false;
  setAt(place, changed);
  return true;
}

/** A seed with one to three values made hostile, as a state file, and the paths it changed. */
export function forgeStateFile(rng: Rng, seeds: StateSeed[], present: Map<string, Json[]>): { seed: StateSeed; file: Uint8Array; changed: string[] } {
  const seed = rng.pick(seeds);
  const { json, cpu, ram } = decodeStateFile(seed.file);
  const forged = structuredClone(json) as Container;
  const changed: string[] = [];
  for (let n = rng.range(1, 3); changed.length < n; ) {
    // Mostly named fields of the devices and the VMM, which the long byte lists (CMOS RAM, the
    // sector buffer) would otherwise crowd out; now and then a list entry, or what the machine is.
    const all = places(forged);
    const candidates = rng.chance(0.9) ? all.filter((p) => !p.path.startsWith("machine") && (typeof p.key === "string" || rng.chance(0.05))) : all;
    const place = rng.pick(candidates);
    const wasAbsent = valueAt(place) === null;
    if (!mutate(rng, place, present)) continue;
    changed.push(place.path);
    // An absent part filled in from another seed is made hostile inside too.
    const filled = valueAt(place);
    if (wasAbsent && typeof filled === "object" && filled !== null) {
      const inside = places(filled);
      if (inside.length > 0) mutate(rng, rng.pick(inside), present);
    }
  }
  return { seed, file: encodeStateFile(forged, cpu, ram), changed };
}

export interface StateCampaignOptions {
  seconds: number;
  seed: number;
  workers: number;
  timeoutMs: number;
  workerScript: URL;
  log: (line: string) => void;
}

export async function runStateCampaign(o: StateCampaignOptions): Promise<CampaignReport> {
  const seeds = await stateSeeds();
  const present = presentValues(seeds.map((s) => decodeStateFile(s.file).json as Json));
  o.log(`${seeds.length} saved machines to forge from: ${seeds.map((s) => s.name).join(", ")}`);
  const runner = new CaseRunner(o.workerScript, o.workers, o.timeoutMs);
  const found = new Map<string, FoundProblem>();
  const report: CampaignReport = { cases: 0, executions: 0, seconds: 0, exitCounts: new Map(), compiledBlocks: 0, problems: [] };
  const start = performance.now();
  const deadline = start + o.seconds * 1000;
  let nextIndex = 0;
  let quiet = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const index = nextIndex++;
      const { seed, file, changed } = forgeStateFile(new Rng(o.seed, index), seeds, present);
      const outcome = await runner.run({ kind: "state", stateCase: { file, disk: seed.disk } });
      report.cases++;
      report.executions += outcome.executions;
      if (outcome.reasons.length === 0) quiet++;
      for (const r of outcome.reasons) report.exitCounts.set(r, (report.exitCounts.get(r) ?? 0) + 1);
      const problem = outcome.problems[0];
      if (problem === undefined) continue;
      const key = problemKey(problem);
      const where = `--state-files --seed ${o.seed} case ${index} (${seed.name}, changed ${changed.join(", ")})`;
      const entry = found.get(key);
      if (entry) entry.count++;
      else {
        found.set(key, { problem, found: where, count: 1 });
        o.log(`problem in ${where}: ${problem.split("\n")[0]}`);
      }
    }
  };
  await Promise.all(Array.from({ length: o.workers }, lane));
  await runner.close();
  report.seconds = (performance.now() - start) / 1000;
  report.problems = [...found.values()];
  o.log(`${quiet} of ${report.cases} forged files made no VM exit (most of them refused at the restore)`);
  return report;
}
