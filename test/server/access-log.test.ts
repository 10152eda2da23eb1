import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { performance } from "node:perf_hooks";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { Client } from "undici";
import { BATCH_MS } from "../../src/log/line-batch.ts";
import { startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { get, load } from "../support/http.ts";
import {
  type Json,
  startTeal,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";

/** Every line the server wrote, once its stdout (shared with its workers) has closed. */
async function allLines(teal: TealProcess): Promise<Json[]> {
  const out = teal.child.stdout!;
  if (!out.closed) await once(out, "close");
  return teal.logs as Json[];
}

const accessLines = (logs: Json[]) => logs.filter((l) => l.msg === "request");

describe("the proxy's access log", () => {
  it("writes one JSON line per request with the fields it always had, in order, and no Authorization value", async () => {
    const blue = await startBackend("blue");
    const dir = await tempDir();
    // A second service on a closed port: its requests fail with 502 and an error code.
    const down = "    - path: /down\n    blue: [http://127.0.0.1:1]\n    green: [http://127.0.0.1:1]";
    const config = webServiceConfig(blue, blue, { service: `  down:\n    routes:\n${down}` });
    const teal = await startTeal(config, dir.path);
    const id = "fields.1:a-b_c";
    const ok = await get(`${teal.proxyUrl}/a%22b?q=1`, {
      "x-request-id": id,
      authorization: "Bearer SECRET-VALUE",
    });
    assert.equal(ok.status, 200);
    const failed = await get(`${teal.proxyUrl}/down`, { "x-request-id": "down-1" });
    assert.equal(failed.status, 502);
    assert.equal(await teal.stop(), 0);
    const lines = accessLines(await allLines(teal));
    await Promise.all([blue.close(), dir.remove()]);

    const served = lines.find((l) => l.requestId === id);
    assert.ok(served, `no access line for the request: ${JSON.stringify(lines)}`);
    assert.deepEqual(Object.keys(served), [
      "level",
      "time",
      "name",
      "service",
      "color",
      "method",
      "path",
      "status",
      "ms",
      "requestId",
      "upstream",
      "bytesIn",
      "bytesOut",
      "msg",
    ]);
    assert.equal(served.level, 30);
    assert.equal(served.name, "teal");
    assert.equal(served.service, "web");
    assert.equal(served.color, "blue");
    assert.equal(served.method, "GET");
    assert.equal(served.path, "/a%22b?q=1");
    assert.equal(served.status, 200);
    assert.equal(served.upstream, blue.url);
    assert.equal(served.bytesIn, 0);
    assert.equal(served.bytesOut, "blue".length);
    assert.equal(typeof served.ms, "number");
    assert.ok(Math.abs(served.time - Date.now()) < 60_000, `time ${served.time} is not an epoch in ms`);
    assert.ok(!JSON.stringify(teal.logs).includes("SECRET-VALUE"), "the Authorization value reached the log");

    const refused = lines.find((l) => l.requestId === "down-1");
    assert.ok(refused, "no access line for the failed request");
    assert.equal(refused.service, "down");
    assert.equal(refused.status, 502);
    assert.equal(refused.error, "upstream_unreachable");
    const keys = Object.keys(refused);
    assert.deepEqual(keys.slice(keys.indexOf("bytesOut")), ["bytesOut", "error", "msg"]);
  });

  for (const workers of [1, 2]) {
    it(`leaves exactly one line per request after a clean stop under load (${workers} proxy process${workers > 1 ? "es" : ""})`, async () => {
      const blue = await startBackend("blue");
      const green = await startBackend("green");
      const dir = await tempDir();
      const teal = await startTeal(webServiceConfig(blue, green, { workers }), dir.path);
      const total = 3000;
      const result = await load(`${teal.proxyUrl}/`, {
        total,
        connections: 16,
        headers: (i) => ({ "x-request-id": `load-${i}` }),
      });
      assert.equal(result.ok, total);
      // Stopped at once: the last requests' lines are still waiting to be written.
      assert.equal(await teal.stop(), 0);
      const ids = accessLines(await allLines(teal)).map((l) => l.requestId as string);
      await Promise.all([blue.close(), green.close(), dir.remove()]);
      assert.equal(ids.length, total);
      assert.equal(new Set(ids).size, total);
    });
  }

  it("loses no line while its reader stops reading stdout for a while", async () => {
    const blue = await startBackend("blue");
    const dir = await tempDir();
    const teal = await startTeal(webServiceConfig(blue, blue), dir.path);
    const total = 2000;
    // The pipe fills (64 KiB, some 280 lines): the rest waits in teal's backlog, none is dropped.
    teal.child.stdout!.pause();
    const loading = load(`${teal.proxyUrl}/`, {
      total,
      connections: 4,
      headers: (i) => ({ "x-request-id": `slow-${i}` }),
    });
    await eventually(() => blue.seen.length >= 100, "requests through teal while its stdout is not read");
    teal.child.stdout!.resume();
    const result = await loading;
    assert.equal(await teal.stop(), 0);
    const ids = accessLines(await allLines(teal)).map((l) => l.requestId as string);
    await Promise.all([blue.close(), dir.remove()]);
    assert.equal(result.ok, total);
    assert.equal(new Set(ids).size, total);
  });

  it("keeps serving while its reader reads nothing, and delivers the lines once it reads again", async () => {
    const blue = await startBackend("blue");
    const dir = await tempDir();
    const teal = await startTeal(webServiceConfig(blue, blue), dir.path);
    const total = 1500; // five times what the pipe holds
    teal.child.stdout!.pause();
    const result = await load(`${teal.proxyUrl}/`, {
      total,
      connections: 4,
      headers: (i) => ({ "x-request-id": `stalled-${i}` }),
    });
    assert.equal(result.ok, total, "every request answered while nobody read teal's log");
    teal.child.stdout!.resume();
    assert.equal(await teal.stop(), 0);
    const ids = accessLines(await allLines(teal)).map((l) => l.requestId as string);
    await Promise.all([blue.close(), dir.remove()]);
    assert.equal(new Set(ids.filter((id) => id.startsWith("stalled-"))).size, total);
  });

  it("writes each batch of lines within BATCH_MS without more traffic, and loses at most the last batch on kill -9", async () => {
    const blue = await startBackend("blue");
    const dir = await tempDir();
    const teal = await startTeal(webServiceConfig(blue, blue), dir.path);
    const client = new Client(teal.proxyUrl);
    const ask = async (i: number): Promise<number> => {
      const res = await client.request({ path: "/", method: "GET", headers: { "x-request-id": `seq-${i}` } });
      await res.body.text();
      return performance.now();
    };
    const total = 200;
    // The first half: their lines reach stdout with no further request and no stop (the batch's
    // timer writes them; a batch that waited for BATCH_BYTES would hold them).
    for (let i = 0; i < total / 2; i++) await ask(i);
    await eventually(
      () => accessLines(teal.logs as Json[]).some((l) => l.requestId === `seq-${total / 2 - 1}`),
      "the last line of an idle proxy on stdout",
    );
    const answered: number[] = [];
    for (let i = total / 2; i < total; i++) answered[i] = await ask(i);
    await client.close();
    const killedAt = performance.now();
    await teal.kill9();
    const ids = accessLines(await allLines(teal)).map((l) => l.requestId as string);
    await Promise.all([blue.close(), dir.remove()]);
    // What is lost is the end: every line before it, in order, none twice.
    assert.ok(ids.length >= total / 2, `${ids.length} of ${total} lines`);
    assert.deepEqual(
      ids,
      Array.from({ length: ids.length }, (_, i) => `seq-${i}`),
    );
    // Only the batch still waiting: lines of requests answered within BATCH_MS of the kill (plus
    // what a loaded machine may delay a timer by), never older ones.
    for (let i = ids.length; i < total; i++) {
      const age = killedAt - answered[i]!;
      assert.ok(
        age < BATCH_MS + 2_000,
        `the line of seq-${i}, answered ${age.toFixed(0)} ms before the kill, was lost`,
      );
    }
  });
});

/** Runs `body` in a new node process with `log` = createLogger(options) and `accessLog` = accessLogTo(log). */
function runLogger(options: object, body: string): Promise<string> {
  const logger = fileURLToPath(new URL("../../src/log/logger.ts", import.meta.url));
  const script = `
    const { accessLogTo, createLogger } = await import(${JSON.stringify(logger)});
    const log = createLogger(${JSON.stringify(options)});
    const accessLog = accessLogTo(log);
    ${body}
  `;
  return new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      ["--import", import.meta.resolve("tsx"), "--input-type=module", "-e", script],
      (err, out) => (err ? reject(err) : resolve(out)),
    ),
  );
}

describe("the JSON log", () => {
  it("redacts tokens and Authorization values by key, at the top level and one level down", async () => {
    const stdout = await runLogger(
      { name: "teal", format: "json" },
      `log.info({ token: "T1", authorization: "A1", headers: { authorization: "A2" }, request: { token: "T2" } }, "secrets");`,
    );
    const line = JSON.parse(stdout) as Json;
    assert.equal(line.msg, "secrets");
    assert.equal(line.token, "[redacted]");
    assert.equal(line.authorization, "[redacted]");
    assert.equal(line.headers.authorization, "[redacted]");
    assert.equal(line.request.token, "[redacted]");
    for (const secret of ["T1", "T2", "A1", "A2"])
      assert.ok(!stdout.includes(secret), `${secret} was logged`);
  });
});

describe("the pretty log (a terminal)", () => {
  it("prints an access entry as pino-pretty prints any entry, not as JSON", async () => {
    const entry = {
      service: "web",
      color: "green",
      method: "GET",
      path: "/p",
      status: 200,
      ms: 1.5,
      requestId: "r-1",
    };
    const stdout = await runLogger(
      { name: "teal", format: "pretty" },
      `accessLog(${JSON.stringify(entry)}); log.info(${JSON.stringify(entry)}, "request");`,
    );
    const plain = stripVTControlCharacters(stdout);
    assert.ok(!plain.includes('{"level"'), `a JSON line on a terminal:\n${plain}`);
    const records = plain.split(/^(?=\[)/m).map((r) => r.replace(/^\[[^\]]*\]/, "[time]"));
    assert.equal(records.length, 2, plain);
    assert.match(records[0]!, /^\[time\] INFO \(teal\): request\n {4}service: "web"\n {4}color: "green"\n/);
    assert.equal(records[0], records[1]);
  });
});
