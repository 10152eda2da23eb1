/**
 * teal behind an edge nginx on the same machine (as with TLS terminated in front): every request
 * reaches teal from 127.0.0.1, and only trustedProxies lets the override tell clients apart.
 * Clients are told apart by their loopback source address (127.0.0.2 outside, 127.0.0.3 allowed).
 */

import assert from "node:assert/strict";
import { type IncomingMessage, request } from "node:http";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { type RunningRouter, startNginx } from "../support/routers.ts";
import { startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

const OUTSIDE = "127.0.0.2";
const ALLOWED = "127.0.0.3";

/** GET / through `port` from the source address `from`; resolves with the body (the color's name). */
function getFrom(port: number, from: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: "/", localAddress: from, headers: { host: "shop.test", ...headers } },
      (res: IncomingMessage) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`)),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

function tealConfig(blue: Backend, green: Backend, trusted: string): string {
  return `proxy: { listen: "127.0.0.1:0", workers: 2${trusted} }
admin: { listen: "127.0.0.1:0" }
services:
  shop:
    routes: [{ path: / }]
    blue: [${blue.url}]
    green: [${green.url}]
    override: { header: x-teal-color, allowFrom: [${ALLOWED}/32] }
`;
}

describe("teal behind a local nginx that forwards X-Forwarded-For", () => {
  let blue: Backend;
  let green: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let nginx: RunningRouter;

  before(async () => {
    blue = await startBackend("blue");
    green = await startBackend("green");
    dir = await tempDir();
    // Two workers: the trust settings must reach the worker processes too.
    teal = await startTeal(tealConfig(blue, green, ", trustedProxies: [127.0.0.1]"), dir.path);
    const tealPort = new URL(teal.proxyUrl).port;
    nginx = await startNginx(
      dir.path,
      (port) => `server {
  listen 127.0.0.1:${port};
  location / {
    proxy_pass http://127.0.0.1:${tealPort};
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  }
}
`,
    );
  });

  after(async () => {
    await nginx?.stop();
    await teal?.stop();
    await Promise.all([blue.close(), green.close()]);
    await dir.remove();
  });

  it("refuses the override to an outside client and grants it to an allowed one", async () => {
    assert.equal(await getFrom(nginx.port, OUTSIDE, { "x-teal-color": "green" }), "blue");
    assert.equal(await getFrom(nginx.port, ALLOWED, { "x-teal-color": "green" }), "green");
    assert.equal(green.seen.at(-1)?.headers["x-real-ip"], ALLOWED, "the app sees the real client too");
  });

  it("ignores an X-Forwarded-For that the outside client wrote itself", async () => {
    const spoofed = { "x-teal-color": "green", "x-forwarded-for": ALLOWED };
    assert.equal(await getFrom(nginx.port, OUTSIDE, spoofed), "blue");
    assert.equal(blue.seen.at(-1)?.headers["x-forwarded-for"], `${ALLOWED}, ${OUTSIDE}, 127.0.0.1`);
    assert.equal(blue.seen.at(-1)?.headers["x-real-ip"], OUTSIDE);
  });

  it("an outside client that bypasses nginx cannot claim an allowed address either", async () => {
    const port = Number(new URL(teal.proxyUrl).port);
    assert.equal(
      await getFrom(port, OUTSIDE, { "x-teal-color": "green", "x-forwarded-for": ALLOWED }),
      "blue",
    );
  });

  it("logs no warning about the override at start-up: the edge proxy is trusted", () => {
    assert.equal(
      teal.logs.some((l) => /override/.test(String(l.msg))),
      false,
    );
  });
});

describe("teal on a loopback listener with no trustedProxies", () => {
  it("warns at start-up that anyone reaching a local proxy could pin a color", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    const config = tealConfig(blue, green, "").replace(
      `allowFrom: [${ALLOWED}/32]`,
      "allowFrom: [127.0.0.0/8]",
    );
    const teal = await startTeal(config.replace("workers: 2", "workers: 1"), dir.path);
    try {
      const warning = teal.logs.find((l) => l.level === 40 && /override\.allowFrom/.test(String(l.msg)));
      assert.ok(warning, "a warning was logged");
      assert.match(String(warning.msg), /services\.shop\.override\.allowFrom: admits loopback/);
      assert.match(String(warning.msg), /Set proxy\.trustedProxies/);
    } finally {
      await teal.stop();
      await Promise.all([blue.close(), green.close()]);
      await dir.remove();
    }
  });
});
