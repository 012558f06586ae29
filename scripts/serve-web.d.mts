// Types of serve-web.mjs, for the TypeScript tests that start the demo's server.
import type { Server } from "node:http";

/** Starts serving `root` under `prefix`; resolves to the server and the page's address. */
export function serve(root: string, options?: { port?: number; host?: string; prefix?: string }): Promise<{ server: Server; url: string }>;

/** Whether an Accept-Encoding header allows `coding` (listed, or "*", and not with q=0). */
export function accepts(header: string | undefined, coding: string): boolean;
