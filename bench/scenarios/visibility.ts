import type { Candidate, Color } from "../candidates/types.ts";
import { oneConnectionAgent, probe } from "../keepAliveProbe.ts";
import { log, median, round } from "../util.ts";
import type { ResultRow } from "./types.ts";

const SWITCHES = 40;

/**
 * Switch visibility: call the switch API and, as soon as it returns, send one request on an
 * already-open keep-alive connection; did it see the new color, and how long did it take?
 */
export async function switchVisibility(c: Candidate): Promise<ResultRow> {
  if (!c.switchTo) return { scenario: "switch-visibility", name: c.name, error: "no switch mechanism" };
  log(`switch-visibility: ${c.name}, ${SWITCHES} switches`);
  const agent = oneConnectionAgent();
  const ms: number[] = [];
  let saw = 0;
  let errors = 0;
  let newConnections = 0;
  let lastError = "";
  try {
    let prev = (await probe(c.url, agent)).socket; // opens the connection
    for (let i = 0; i < SWITCHES; i++) {
      const to: Color = i % 2 === 0 ? "green" : "blue";
      try {
        await c.switchTo(to);
        const t0 = performance.now();
        const p = await probe(c.url, agent);
        ms.push(performance.now() - t0);
        if (p.color === to) saw++;
        if (p.socket !== prev) newConnections++;
        prev = p.socket;
      } catch (e) {
        errors++;
        lastError = (e as Error).message;
      }
    }
    await c.switchTo("blue");
  } catch (e) {
    return { scenario: "switch-visibility", name: c.name, error: (e as Error).message };
  } finally {
    agent.destroy();
  }
  return {
    scenario: "switch-visibility",
    name: c.name,
    switches: SWITCHES,
    sawNewColor: saw,
    maxMs: ms.length ? round(Math.max(...ms), 3) : null,
    p50Ms: ms.length ? round(median(ms), 3) : null,
    errors,
    newConnections,
    ...(lastError ? { error: lastError } : {}),
  };
}
