import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pino } from "pino";
import { parseConfigText } from "../../src/config/load.ts";
import { startServer } from "../../src/server/teal-server.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { parseResponse, type RawResponse } from "../support/raw-client.ts";
import {
  api,
  type Json,
  startTeal,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";

const MIB = 1024 * 1024;

describe("the admin API's edges", () => {
  let blue: Backend;
  let green: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let port: number;

  before(async () => {
    [blue, green] = await Promise.all([startBackend("blue"), startBackend("green")]);
    dir = await tempDir();
    teal = await startTeal(webServiceConfig(blue, green), dir.path);
    port = Number(new URL(teal.adminUrl).port);
  });
  after(async () => {
    await teal.stop();
    await Promise.all([blue.close(), green.close(), dir.remove()]);
  });

  it("accepts the Bearer scheme in any letter case (RFC 9110 §11.1), and still refuses a wrong token", async () => {
    for (const scheme of ["Bearer", "bearer", "BEARER", "bEaReR"]) {
      const res = await fetch(`${teal.adminUrl}/v1/status`, {
        headers: { authorization: `${scheme} ${teal.token}` },
      });
      assert.equal(res.status, 200, scheme);
      await res.body?.cancel();
    }
    const wrong = await fetch(`${teal.adminUrl}/v1/status`, { headers: { authorization: "bearer nope" } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as Json).error.code, "UNAUTHORIZED");
  });

  it("validates the body of POST …/pause and …/resume like every other endpoint", async () => {
    for (const action of ["pause", "resume"]) {
      const unknownField = await api(teal, "POST", `/v1/services/web/${action}`, { hold: true });
      assert.equal(unknownField.status, 400, action);
      assert.equal(unknownField.body.error.code, "INVALID_REQUEST");
      assert.match(unknownField.body.error.message, /unknown field "hold"/);
      const notJson = await api(teal, "POST", `/v1/services/web/${action}`, "{nope");
      assert.equal(notJson.status, 400, action);
      assert.match(notJson.body.error.message, /must be JSON/);
    }
    // Nothing was paused by the refused calls; an empty body is still fine.
    assert.equal((await api(teal, "GET", "/v1/services/web")).body.routing.paused, false);
    assert.equal((await api(teal, "POST", "/v1/services/web/pause", {})).body.routing.paused, true);
    assert.equal((await api(teal, "POST", "/v1/services/web/resume")).body.routing.paused, false);
  });

  it("answers 413 at once to a Content-Length over 1 MiB, before any of the body is sent", {
    timeout: 30_000,
  }, async () => {
    const socket = await open(port);
    const answer = responseOn(socket);
    socket.write(head("transfer-length", MIB + 1, teal.token));
    const res = await answer;
    socket.destroy();
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error.code, "PAYLOAD_TOO_LARGE");
    assert.match(JSON.parse(res.body).error.message, /larger than 1048576 bytes/);
  });

  it("answers 413 to a chunked body that never ends once it passes 1 MiB, then closes the connection", {
    timeout: 60_000,
  }, async () => {
    const socket = await open(port);
    const answer = responseOn(socket);
    socket.on("error", () => {}); // our writes fail once teal has closed the connection
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write(head("chunked", 0, teal.token));
    const chunk = Buffer.alloc(64 * 1024, " ");
    const frame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from("\r\n"),
    ]);
    let sentBeforeAnswer = 0;
    let answered = false;
    void answer.then(() => {
      answered = true;
    });
    // Keep sending until teal hangs up: the body has no end, so only the limit can stop it.
    let connected = true;
    void closed.then(() => {
      connected = false;
    });
    while (connected) {
      if (!answered) sentBeforeAnswer += chunk.length;
      if (!socket.write(frame)) {
        await Promise.race([new Promise((resolve) => socket.once("drain", resolve)), closed]);
      }
    }
    const res = await answer;
    assert.equal(res.status, 413);
    assert.equal(JSON.parse(res.body).error.code, "PAYLOAD_TOO_LARGE");
    assert.ok(sentBeforeAnswer > MIB, `only ${sentBeforeAnswer} bytes were sent before the answer`);
  });

  it("accepts a body of exactly 1 MiB, with a Content-Length and chunked", async () => {
    const body = JSON.stringify({ to: "blue" }).padEnd(MIB, " ");
    const sized = await api(teal, "POST", "/v1/services/web/switch", body);
    assert.equal(sized.status, 200, JSON.stringify(sized.body));
    const chunked = await fetch(`${teal.adminUrl}/v1/services/web/switch`, {
      method: "POST",
      headers: { authorization: `Bearer ${teal.token}`, "content-type": "application/json" },
      body: new Blob([body]).stream(),
      duplex: "half",
    } as RequestInit);
    assert.equal(chunked.status, 200);
    await chunked.body?.cancel();
  });

  it("asks for the token before reading a body: 401 to a large body without one", {
    timeout: 30_000,
  }, async () => {
    const socket = await open(port);
    const answer = responseOn(socket);
    socket.write(head("transfer-length", 64 * MIB, undefined));
    const res = await answer;
    socket.destroy();
    assert.equal(res.status, 401);
  });
});

describe("the OpenAPI document", () => {
  it("lists every route the admin API serves, and serves every route it lists", async () => {
    const dir = await tempDir();
    const config = parseConfigText(
      "proxy: { listen: 127.0.0.1:0, workers: 1 }\nadmin: { listen: 127.0.0.1:0 }\nservices:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9]\n",
    );
    const server = await startServer(config, dir.path, pino({ level: "silent" }));
    try {
      const token = (await readFile(join(dir.path, "admin.token"), "utf8")).trim();
      const res = await fetch(`${server.adminUrl}/v1/openapi.json`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const doc = (await res.json()) as Json;
      const documented = Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
        Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`),
      );
      const served = server.adminApp.routes
        .filter((r) => r.method !== "ALL") // middleware (token check, body limit)
        .map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, "{$1}")}`);
      assert.deepEqual(
        served.filter((r) => !documented.includes(r)),
        [],
        "served but not in the document",
      );
      assert.deepEqual(
        documented.filter((r) => !served.includes(r)),
        [],
        "in the document but not served",
      );
      assert.ok(documented.includes("GET /v1/services/{name}"));
    } finally {
      await server.close();
      await dir.remove();
    }
  });
});

async function open(port: number): Promise<Socket> {
  const socket = connect({ host: "127.0.0.1", port });
  await once(socket, "connect");
  return socket;
}

/** A POST to the switch endpoint, head only; the body (if any) is written by the caller. */
function head(framing: "chunked" | "transfer-length", length: number, token: string | undefined): string {
  return [
    "POST /v1/services/web/switch HTTP/1.1",
    "host: 127.0.0.1",
    "content-type: application/json",
    ...(token ? [`authorization: Bearer ${token}`] : []),
    framing === "chunked" ? "transfer-encoding: chunked" : `content-length: ${length}`,
    "",
    "",
  ].join("\r\n");
}

/** The first whole response read from the socket. */
function responseOn(socket: Socket): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      received = Buffer.concat([received, d]);
      const res = parseResponse(received);
      if (res?.complete) resolve(res);
    });
    socket.once("close", () => reject(new Error(`closed without a whole response: ${received}`)));
  });
}
