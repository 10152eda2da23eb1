/**
 * With proxy.tls, `teal status` (human and --json), GET /v1/status and the "teal listening" log
 * show the HTTPS listener's address beside the plain one: the real port when proxy.tls.listen
 * asks for port 0, with one proxy process and with proxy workers. Without proxy.tls: null.
 */

import assert from "node:assert/strict";
import { get } from "node:https";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { createPki, type Leaf, type TestPki } from "../support/certs.ts";
import { api, runCli, startTeal, tempDir } from "../support/teal-process.ts";

/** GET / over TLS at `address`, trusting the test root: the status code. */
function httpsStatus(address: string, ca: Buffer): Promise<number> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.split(":").at(-1))];
  return new Promise((resolve, reject) => {
    get(
      { host, port, path: "/", servername: "app.example.com", ca, headers: { host: "app.example.com" } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    ).on("error", reject);
  });
}

describe("teal status with proxy.tls", () => {
  let pki: TestPki;
  let leaf: Leaf;
  let backend: Backend;
  before(async () => {
    pki = await createPki();
    leaf = await pki.leaf("app", ["app.example.com"]);
    backend = await startBackend("blue");
  });
  after(async () => {
    await pki.remove();
    await new Promise((resolve) => backend.server.close(resolve));
  });

  for (const workers of [1, 2]) {
    it(`shows the HTTPS listener's address beside the plain one (proxy.workers: ${workers})`, async () => {
      const dir = await tempDir();
      const teal = await startTeal(
        `
proxy:
  listen: 127.0.0.1:0
  workers: ${workers}
  tls:
    listen: 127.0.0.1:0
    certificates: [{ cert: ${leaf.cert}, key: ${leaf.key} }]
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${backend.url}]
`,
        dir.path,
      );
      try {
        const json = await runCli(["status", "--json", "--data-dir", dir.path]);
        assert.equal(json.code, 0, json.stderr);
        const status = JSON.parse(json.stdout) as { proxy: string; proxyTls: string | null };
        assert.match(status.proxyTls ?? "", /^127\.0\.0\.1:[1-9]\d*$/);
        assert.notEqual(status.proxyTls, status.proxy);
        // The address is the listener's: an HTTPS request there is served.
        assert.equal(await httpsStatus(status.proxyTls!, pki.root), 200);

        assert.equal((await api(teal, "GET", "/v1/status")).body.proxyTls, status.proxyTls);
        const listening = teal.logs.find((l) => l.msg === "teal listening");
        assert.equal(listening?.tls, status.proxyTls);

        const human = await runCli(["status", "--data-dir", dir.path]);
        assert.equal(human.code, 0, human.stderr);
        assert.ok(
          human.stdout.includes(`proxy ${status.proxy} · https ${status.proxyTls} · generation`),
          human.stdout,
        );
      } finally {
        await teal.stop();
        await dir.remove();
      }
    });
  }

  it("without proxy.tls: proxyTls is null and no https is shown", async () => {
    const dir = await tempDir();
    const teal = await startTeal(
      `
proxy:
  listen: 127.0.0.1:0
  workers: 1
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${backend.url}]
`,
      dir.path,
    );
    try {
      assert.equal((await api(teal, "GET", "/v1/status")).body.proxyTls, null);
      const human = await runCli(["status", "--data-dir", dir.path]);
      assert.equal(human.code, 0, human.stderr);
      assert.doesNotMatch(human.stdout, /https/);
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });
});
