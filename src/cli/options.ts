// Parsers for the CLI's option values. Each accepts exactly the documented form and otherwise
// throws commander's InvalidArgumentError, whose message commander prints on one line after the
// option's name, so `--mem lots` says what was wrong and what would be right.

import { InvalidArgumentError } from "commander";
import { PEER_NAMES, type PeerName } from "../bench/peer-runners.js";
import { MAX_CR3_TARGETS } from "../vmm/vm-config.js";
import { MAX_REFRESH_HZ, checkRefreshHz } from "../vmm/display-update.js";
import { MEMORY_SIZE_RULE, parseMemoryMiB as memoryMiB } from "../vmm/memory-size.js";

function wholeNumber(text: string): number {
  if (!/^\d+$/.test(text.trim())) return NaN;
  return Number(text.trim());
}

export function parseMemoryMiB(text: string): number {
  const mib = memoryMiB(text);
  if (mib === undefined) throw new InvalidArgumentError(`expected ${MEMORY_SIZE_RULE}.`);
  return mib;
}

export function parseInstructionCount(text: string): number {
  const count = wholeNumber(text.replace(/_/g, ""));
  if (!(count >= 1 && Number.isSafeInteger(count))) throw new InvalidArgumentError("expected a positive whole number of instructions.");
  return count;
}

export function parseSeconds(text: string): number {
  const seconds = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN;
  if (!(seconds > 0 && Number.isFinite(seconds))) throw new InvalidArgumentError("expected a positive number of seconds.");
  return seconds;
}

export function parseRefreshHz(text: string): number {
  try {
    return checkRefreshHz(/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text) ? Number(text) : NaN);
  } catch {
    throw new InvalidArgumentError(`expected refreshes per second, above 0 and at most ${MAX_REFRESH_HZ}.`);
  }
}

export function parseRunCount(text: string): number {
  const runs = wholeNumber(text);
  if (!(runs >= 1 && runs <= 100)) throw new InvalidArgumentError("expected a whole number of runs from 1 to 100.");
  return runs;
}

export function parseCr3Targets(text: string): number {
  const count = wholeNumber(text);
  if (!(count >= 0 && count <= MAX_CR3_TARGETS)) throw new InvalidArgumentError(`expected a whole number from 0 to ${MAX_CR3_TARGETS}.`);
  return count;
}

export function parseIterations(text: string): number {
  const count = wholeNumber(text.replace(/_/g, ""));
  if (!(count >= 1 && count <= 100_000_000)) throw new InvalidArgumentError("expected a whole number of iterations from 1 to 100000000.");
  return count;
}

/** A comma-separated list of peers, or `none`. */
export function parsePeers(text: string): PeerName[] {
  if (text.trim() === "none") return [];
  const names = text.split(",").map((name) => name.trim());
  const bad = names.find((name) => !(PEER_NAMES as readonly string[]).includes(name));
  if (bad !== undefined) throw new InvalidArgumentError(`expected ${PEER_NAMES.join(", ")} or none, separated by commas; not ${JSON.stringify(bad)}.`);
  return [...new Set(names)] as PeerName[];
}
