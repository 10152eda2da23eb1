/** `teal switch|split|pause|resume|maintenance`: traffic commands, each one admin API call. */

import { TealError } from "../../domain/errors.ts";
import type { RoutingState } from "../../domain/routing.ts";
import type { DrainReport } from "../../traffic/status.ts";
import { adminClient, type GlobalOptions } from "../context.ts";
import { color, colorName, emit, warn } from "../output.ts";

interface RoutingResult {
  readonly service: string;
  readonly routing: RoutingState;
  readonly previous: RoutingState;
  readonly generation: number;
  readonly drain?: DrainReport;
  /** On a fleet: nodes that did not serve the change by the ack deadline. */
  readonly lagging?: readonly { readonly node: string; readonly revision: number }[];
  readonly warning?: string;
}

/** The change is stored either way; lagging nodes are a warning on stderr, not a failure. */
function warnLagging(result: RoutingResult): void {
  if (result.warning !== undefined) warn(result.warning);
}

const path = (service: string, action: string) => `/v1/services/${encodeURIComponent(service)}/${action}`;

export async function switchCommand(
  service: string,
  opts: GlobalOptions & { to?: string; wait: boolean; force?: boolean },
): Promise<number> {
  if (opts.to !== undefined && opts.to !== "blue" && opts.to !== "green") {
    throw new TealError("USAGE", `--to must be blue or green, not "${opts.to}"`);
  }
  const client = await adminClient(opts);
  if (!opts.json && opts.wait) process.stderr.write(color.dim(`switching ${service}…\n`));
  const result = await client.post<RoutingResult>(path(service, "switch"), {
    to: opts.to,
    waitForDrain: opts.wait,
    force: opts.force === true,
  });
  emit(opts.json, result, () => {
    const head = `${service}: live ${colorName(result.previous.live)} → ${colorName(result.routing.live)} (generation ${result.generation})`;
    const d = result.drain;
    if (!d) return head;
    const took = d.finishedAtMs === undefined ? "" : ` in ${d.finishedAtMs - d.startedAtMs} ms`;
    return `${head}\n${colorName(d.color)} ${d.state === "forced" ? color.yellow(`drain deadline passed: ${d.forced} requests cut`) : `drained${took}`}`;
  });
  warnLagging(result);
  return 0;
}

export async function splitCommand(
  service: string,
  opts: GlobalOptions & { green: string; force?: boolean },
): Promise<number> {
  const greenPercent = Number(opts.green);
  if (!Number.isInteger(greenPercent) || greenPercent < 0 || greenPercent > 100) {
    throw new TealError("USAGE", `--green must be a whole number from 0 to 100, not "${opts.green}"`);
  }
  const client = await adminClient(opts);
  const result = await client.post<RoutingResult>(path(service, "split"), {
    greenPercent,
    force: opts.force === true,
  });
  emit(
    opts.json,
    result,
    () => `${service}: blue ${100 - result.routing.greenPercent}% / green ${result.routing.greenPercent}%`,
  );
  warnLagging(result);
  return 0;
}

export async function simpleCommand(
  service: string,
  action: "pause" | "resume",
  opts: GlobalOptions,
): Promise<number> {
  const client = await adminClient(opts);
  const result = await client.post<RoutingResult>(path(service, action), {});
  emit(
    opts.json,
    result,
    () =>
      `${service}: ${action === "pause" ? "paused: new requests are held" : "resumed: held requests released"}`,
  );
  return 0;
}

export async function maintenanceCommand(
  service: string,
  mode: string,
  opts: GlobalOptions,
): Promise<number> {
  if (mode !== "on" && mode !== "off")
    throw new TealError("USAGE", `maintenance mode must be "on" or "off", not "${mode}"`);
  const client = await adminClient(opts);
  const result = await client.post<RoutingResult>(path(service, "maintenance"), { enabled: mode === "on" });
  emit(
    opts.json,
    result,
    () => `${service}: maintenance ${mode === "on" ? color.yellow("on (serving 503)") : "off"}`,
  );
  return 0;
}
