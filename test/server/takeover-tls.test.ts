/**
 * Takeover with proxy.tls: SIGHUP hands the TLS listening socket to the new teal along with the
 * plain one; under HTTPS keep-alive load (real TLS handshakes, the client trusting only the
 * openssl-made root) no request fails, with the proxy in the control process and in 2 workers.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Agent } from "undici";
import { createPki, type Leaf, type TestPki } from "../support/certs.ts";
import { alive, deploy, finished } from "../support/deployments.ts";
import { eventually } from "../support/eventually.ts";
import { get, load } from "../support/http.ts";
import { hup, stopAll } from "../support/takeover.ts";
import { processServiceConfig, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

/** The TLS listener's address, from the "teal listening" line. */
const tlsAddress = (teal: TealProcess) => String(teal.logs.find((l) => l.msg === "teal listening")?.tls);

describe("takeover with proxy.tls", () => {
  let pki: TestPki;
  let leaf: Leaf;
  const dirs: Array<{ remove: () => Promise<void> }> = [];
  before(async () => {
    pki = await createPki();
    leaf = await pki.leaf("app", ["app.test"]);
  });
  after(async () => {
    for (const d of dirs) await d.remove();
    await pki.remove();
  });

  for (const workers of [1, 2]) {
    it(`proxy.workers: ${workers}: 3 SIGHUPs under HTTPS keep-alive load: 0 failed requests, the same TLS port served by the new teal`, async () => {
      const dir = await tempDir();
      dirs.push(dir);
      const tls = `  tls:\n    listen: 127.0.0.1:0\n    certificates:\n      - { cert: ${leaf.cert}, key: ${leaf.key} }\n`;
      const config = processServiceConfig()
        .replace("workers: 1", `workers: ${workers}`)
        .replace("admin:", `${tls}admin:`);
      const teal = await startTeal(config, dir.path);
      const all = [teal.child.pid!];
      try {
        assert.equal((await finished(teal, await deploy(teal, "v1"))).outcome, "succeeded");
        const url = `https://${tlsAddress(teal)}/`;
        const connect = { ca: pki.root, servername: "app.test" };
        let done = false;
        const traffic = load(url, { total: 10_000_000, connections: 8, stop: () => done, connect });
        let current = teal.child.pid!;
        try {
          for (let i = 0; i < 3; i++) {
            current = await hup(teal, current);
            all.push(current);
          }
        } finally {
          done = true;
        }
        const { ok, errors, non2xx, samples } = await traffic;
        assert.deepEqual(
          { errors, non2xx },
          { errors: 0, non2xx: 0 },
          `across 3 takeovers: ${ok} ok; ${samples.join("; ")}`,
        );
        assert.ok(ok > 100, `${ok} requests`);
        await eventually(() => all.slice(0, -1).every((p) => !alive(p)), "the old teals to exit", 30_000);
        // The last teal serves the same TLS address, with the same certificate.
        const agent = new Agent({ connect });
        const reply = await get(url, {}, agent);
        await agent.close();
        assert.equal(reply.status, 200);
        assert.equal(JSON.parse(reply.body).version, "v1");
      } finally {
        await stopAll(all);
      }
    });
  }
});
