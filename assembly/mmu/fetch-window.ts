// The instruction fetcher's window (assembly/cpu/fetch.ts): a range of EIP values whose bytes sit
// contiguously in host memory, in effect a one-entry instruction TLB. It lives down here so that
// the MMU, which must forget it whenever a translation may change, needs nothing from the layers
// above.
export let winStart: u32 = 0; // first EIP in the window
export let winLen: u32 = 0; // number of EIPs in the window (0: empty)
export let winBias: u32 = 0; // host address = winBias + eip

export function invalidateFetchWindow(): void { winLen = 0; }

export function setFetchWindow(start: u32, length: u32, bias: u32): void {
  winStart = start;
  winLen = length;
  winBias = bias;
}
