/**
 * The Router port's contract, run against every adapter (teal's own proxy, nginx, HAProxy) at the
 * port itself: `apply` a service's spec, then what a client sees through the router, what
 * `status()` reports, and what is refused. Real routers on loopback and real blue/green backends;
 * a case an adapter cannot do by its declared capabilities is skipped with the reason.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { COLORS, type Color } from "../../src/domain/color.ts";
import { isTealError } from "../../src/domain/errors.ts";
import type { RoutingState } from "../../src/domain/routing.ts";
import type { Router } from "../../src/routers/router.ts";
import type { ColorStatsSnapshot } from "../../src/traffic/color-stats.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { tempDir } from "../support/teal-process.ts";

export interface RouterUnderContract {
  readonly router: Router;
  /** Where clients reach the service through this router, e.g. http://127.0.0.1:PORT. */
  readonly url: string;
  /** Stops the router and whatever it runs on. */
  close(): Promise<void>;
}

/** `start` brings the router up in the test's temp dir; the service is named "web". */
export function routerContract(name: string, start: (dir: string) => Promise<RouterUnderContract>): void {
  describe(`the Router contract: ${name}`, () => {
    let dir: { path: string; remove: () => Promise<void> };
    let blue: Backend;
    let green: Backend;
    let under: RouterUnderContract;
    let generation = 0;
    const apply = (routing: Partial<RoutingState>) => under.router.apply(spec(routing), ++generation);
    const spec = (routing: Partial<RoutingState>) =>
      serviceSpec("web", { blue: [blue.url], green: [green.url] }, { routing });
    const can = () => under.router.capabilities;

    before(async () => {
      dir = await tempDir(`teal-contract-${name}-`);
      [blue, green] = await Promise.all([startBackend("blue"), startBackend("green")]);
      under = await start(dir.path);
      await under.router.start();
    });
    after(async () => {
      await under?.close();
      await Promise.all([blue?.close(), green?.close()]);
      await dir?.remove();
    });

    it("serves the live color to a new client once apply resolves", async () => {
      await apply({ live: "blue", greenPercent: 0 });
      assert.deepEqual(await served(under.url), ["blue"]);
    });

    it("switches: every request sent after apply resolves gets the new color", async () => {
      await apply({ live: "green", greenPercent: 100 });
      assert.deepEqual(await served(under.url, 20), ["green"]);
      await apply({ live: "blue", greenPercent: 0 });
      assert.deepEqual(await served(under.url, 20), ["blue"]);
    });

    it("splits by percentage: 30% green over 400 requests lands within 20-40%", async (t) => {
      if (!can().weights) return t.skip(`${name} cannot split traffic by weight`);
      await apply({ live: "blue", greenPercent: 30 });
      const colors = await answers(under.url, 400);
      const share = colors.filter((c) => c === "green").length / colors.length;
      t.diagnostic(`${name}: ${(share * 100).toFixed(1)}% green at 30%`);
      assert.ok(share >= 0.2 && share <= 0.4, `green share ${share}`);
      assert.ok(colors.every((c) => c === "green" || c === "blue"));
    });

    it("routes the override header to the color it names, whatever the live color", async (t) => {
      if (can().headerOverride === false) return t.skip(`${name} cannot route by the override header`);
      await apply({ live: "blue", greenPercent: 0 });
      for (const color of COLORS) {
        assert.deepEqual(await served(under.url, 5, { "x-teal-color": color }), [color]);
      }
    });

    it("reports per-color counters that are cumulative and never decrease", async () => {
      await apply({ live: "blue", greenPercent: 0 });
      const first = await under.router.status();
      assert.equal(first.service, "web");
      await served(under.url, 10);
      // nginx writes its access log and HAProxy its stats after the answer: read until they show.
      const second = await eventually(async () => {
        const s = await under.router.status();
        return ok(s.stats.blue) >= ok(first.stats.blue) + 10 && s;
      }, `${name}'s status to count 10 more blue answers`);
      await apply({ live: "green", greenPercent: 100 });
      await served(under.url, 5);
      const third = await eventually(async () => {
        const s = await under.router.status();
        return ok(s.stats.green) >= ok(second.stats.green) + 5 && s;
      }, `${name}'s status to count 5 more green answers`);
      for (const [earlier, later] of [
        [first, second],
        [second, third],
      ] as const) {
        for (const color of COLORS) assertNotBelow(later.stats[color], earlier.stats[color], color);
      }
    });

    it("refuses a spec it cannot serve with ROUTER_FAILED, and the previous routing keeps serving", async () => {
      await apply({ live: "green", greenPercent: 100 });
      const bad: ServiceSpec = {
        ...spec({ live: "blue", greenPercent: 0 }),
        endpoints: { blue: ["http://127.0.0.1:99999"], green: [green.url] },
      };
      await assert.rejects(under.router.apply(bad, ++generation), (err) => {
        assert.ok(isTealError(err, "ROUTER_FAILED"), String(err));
        assert.match((err as Error).message, /web/, "the message names the service");
        return true;
      });
      assert.deepEqual(await served(under.url, 10), ["green"]);
    });

    it("refuses a pause with UNSUPPORTED when it cannot hold requests, and keeps serving", async (t) => {
      if (can().pause) return t.skip(`${name} can pause (the next case)`);
      await apply({ live: "blue", greenPercent: 0 });
      await assert.rejects(apply({ live: "green", greenPercent: 100, paused: true }), (err) => {
        assert.ok(isTealError(err, "UNSUPPORTED"), String(err));
        assert.match((err as Error).message, new RegExp(`routed by ${name}, which cannot hold requests`));
        return true;
      });
      assert.deepEqual(await served(under.url, 5), ["blue"]);
    });

    it("holds requests while paused and answers them on resume", async (t) => {
      if (!can().pause) return t.skip(`${name} cannot hold requests`);
      await apply({ live: "blue", greenPercent: 0, paused: true });
      const held = served(under.url, 1);
      await eventually(async () => (await under.router.status()).held === 1, "the request to be held");
      await apply({ live: "green", greenPercent: 100 });
      assert.deepEqual(await held, ["green"], "answered by the color live at the resume");
    });

    it("closes, leaving no timer of its own behind", async () => {
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
      const before = timers();
      await under.router.close();
      assert.ok(timers() <= before, `${timers()} timers after close, ${before} before`);
    });
  });
}

function ok(s: ColorStatsSnapshot): number {
  return s.byClass[2]!;
}

function assertNotBelow(later: ColorStatsSnapshot, earlier: ColorStatsSnapshot, color: Color): void {
  for (const [i, n] of earlier.byClass.entries()) {
    assert.ok(later.byClass[i]! >= n, `${color} ${i}xx went down`);
  }
  assert.ok(later.clientAborted >= earlier.clientAborted, `${color} client aborts went down`);
  assert.ok(later.bytesOut >= earlier.bytesOut, `${color} bytes out went down`);
  for (const [i, n] of earlier.latencyBuckets.entries()) {
    assert.ok(later.latencyBuckets[i]! >= n, `${color} latency bucket ${i} went down`);
  }
}

/** The distinct colors `count` requests got, each from a client that opened its connection now. */
async function served(url: string, count = 1, headers: Record<string, string> = {}): Promise<string[]> {
  return [...new Set(await answers(url, count, headers))].sort();
}

/** The color each of `count` requests got, over keep-alive connections opened after the call. */
async function answers(url: string, count: number, headers: Record<string, string> = {}): Promise<string[]> {
  const dispatcher = new Agent({ connections: 4 });
  try {
    const colors: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await request(`${url}/`, { dispatcher, headers });
      const body = await res.body.text();
      assert.equal(res.statusCode, 200, body);
      colors.push(body);
    }
    return colors;
  } finally {
    await dispatcher.close();
  }
}
