/**
 * The one behaviour contract every Runtime adapter passes (process, Docker): launch, an exit the
 * health side must hear of, stop with grace then kill, adopt after a restart of teal. An adapter's
 * test file calls runRuntimeContract with a harness; nothing here knows which adapter it tests.
 */

import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, afterEach, before, describe, it } from "node:test";
import type { InstanceHandle, LaunchSpec, Runtime } from "../../src/runtime/runtime.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";

const logMaxBytes = 1_000_000;

/** What an adapter's test file hands the contract. */
export interface RuntimeHarness {
  /**
   * A fresh runtime over the same state (log directory, owner) as every other one this harness
   * gives: a second call is teal after a restart.
   */
  runtime(): Runtime;
  /**
   * A launch of the fixture app (test/fixtures/app.mjs: GET /health answers, POST /crash exits
   * with code 1, SIGTERM exits 0) as instance `index` of service "web", color blue, version v1.
   */
  app(index: number): LaunchSpec;
  /** A launch of `node -e source` as instance `index`, in whatever form the runtime runs node. */
  node(index: number, source: string): LaunchSpec;
}

/** Registers the contract suite for one adapter; `setUp` runs once before it (start an engine, say). */
export function runRuntimeContract(
  name: string,
  setUp: () => Promise<{ harness: RuntimeHarness; tearDown: () => Promise<void> }>,
): void {
  describe(`${name} runtime contract`, () => {
    let harness: RuntimeHarness;
    let tearDown = async () => {};
    let launched: InstanceHandle[] = [];
    // Instances are unref'd (they must never keep teal running): while a test awaits only an
    // instance's exit, this timer keeps the test process alive, as teal's servers do.
    let keepAlive: NodeJS.Timeout;

    before(async () => {
      keepAlive = setInterval(() => {}, 60_000);
      ({ harness, tearDown } = await setUp());
    });
    afterEach(async () => {
      await Promise.allSettled(launched.map((h) => h.stop("SIGKILL", 5_000)));
      launched = [];
    });
    after(async () => {
      await tearDown();
      clearInterval(keepAlive);
    });

    const launch = async (runtime: Runtime, spec: LaunchSpec): Promise<InstanceHandle> => {
      const handle = await runtime.launch(spec, { logMaxBytes });
      launched.push(handle);
      return handle;
    };
    const health = (handle: InstanceHandle) =>
      eventually(async () => {
        const reply = await get(`${handle.record.url}/health`).catch(() => undefined);
        return reply?.status === 200 && (JSON.parse(reply.body) as Record<string, string>);
      }, `${handle.record.id} to answer /health`);
    const logShows = (handle: InstanceHandle, text: string) =>
      eventually(
        async () => (await readFile(handle.record.logPath, "utf8").catch(() => "")).includes(text),
        `"${text}" in the log of ${handle.record.id}`,
      );

    it("launches an instance that answers on its recorded 127.0.0.1 URL with its color and version", async () => {
      const handle = await launch(harness.runtime(), harness.app(0));
      assert.equal(handle.record.id, "web-blue-3-0");
      assert.equal(handle.record.url, `http://127.0.0.1:${handle.record.port}`);
      assert.equal(handle.alive(), true);
      const answer = await health(handle);
      assert.deepEqual([answer.color, answer.version], ["blue", "v1"]);
      await logShows(handle, "fixture app v1 (blue) starting");
    });

    it("reports an instance that crashes: exited resolves with its exit code and it is no longer alive", async () => {
      const handle = await launch(harness.runtime(), harness.app(1));
      await health(handle);
      await fetch(`${handle.record.url}/crash`, { method: "POST" }).catch(() => {});
      assert.deepEqual(await handle.exited, { code: 1, signal: null });
      assert.equal(handle.alive(), false);
      await logShows(handle, "fixture app: crashing as asked");
    });

    it("stops an instance that honours the stop signal without forcing it, once, however often asked", async () => {
      const handle = await launch(harness.runtime(), harness.app(2));
      await health(handle);
      const first = handle.stop("SIGTERM", 10_000);
      const again = handle.stop("SIGTERM", 10_000);
      const result = await first;
      assert.equal(result.forced, false);
      assert.equal(result.exit.code, 0);
      assert.deepEqual(await again, result, "a second stop answers the first one's outcome");
      assert.equal(handle.alive(), false);
    });

    it("kills an instance that ignores the stop signal once the grace period is over", async () => {
      const ignoring = `process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("up"); setInterval(() => {}, 1e6);`;
      const handle = await launch(harness.runtime(), harness.node(3, ignoring));
      await logShows(handle, "up");
      const startedMs = performance.now();
      const result = await handle.stop("SIGTERM", 500);
      const tookMs = performance.now() - startedMs;
      // The exit code is the adapter's to say (a process has none, a container's is 137).
      assert.deepEqual([result.forced, result.exit.signal], [true, "SIGKILL"]);
      assert.ok(tookMs >= 450, `the grace period was given (stopped after ${Math.round(tookMs)} ms)`);
      await logShows(handle, "ignoring SIGTERM");
      assert.equal(handle.alive(), false);
    });

    it("adopts, after a restart of teal, an instance still running, sees it exit, then adopts it no more", async () => {
      const handle = await launch(harness.runtime(), harness.app(4));
      await health(handle);
      const restarted = harness.runtime();
      const adopted = await restarted.adopt(handle.record, { logMaxBytes });
      assert.ok(adopted, "a running instance is found again");
      launched.push(adopted);
      assert.equal(adopted.record.id, handle.record.id);
      assert.equal(adopted.alive(), true);
      assert.equal((await health(adopted)).version, "v1");

      await fetch(`${handle.record.url}/crash`, { method: "POST" }).catch(() => {});
      await adopted.exited;
      assert.equal(adopted.alive(), false);
      // A stop of an instance that has ended resolves once it is cleaned up after (a container removed).
      await Promise.all([handle.stop("SIGTERM", 10_000), adopted.stop("SIGTERM", 10_000)]);
      assert.equal(await harness.runtime().adopt(handle.record, { logMaxBytes }), undefined);
    });

    it("stops an adopted instance with grace", async () => {
      const handle = await launch(harness.runtime(), harness.app(5));
      await health(handle);
      const adopted = await harness.runtime().adopt(handle.record, { logMaxBytes });
      assert.ok(adopted);
      launched.push(adopted);
      const result = await adopted.stop("SIGTERM", 10_000);
      assert.equal(result.forced, false);
      assert.equal(adopted.alive(), false);
      assert.equal((await handle.exited).code, 0, "the app ended on the stop signal");
    });
  });
}
