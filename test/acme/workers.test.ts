/**
 * ACME with proxy workers: the control process orders, every worker answers the HTTP-01 token
 * and serves the certificate, and a worker started later (the replacement of one killed) gets
 * both before it takes a connection. First on ClusterDataPlane itself (two real workers, fresh
 * connections that the two take turns accepting), then `teal server` with `workers: 2` against a
 * real pebble.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { get as httpGet } from "node:http";
import { after, before, describe, it } from "node:test";
import { connect, type PeerCertificate } from "node:tls";
import { createLogger } from "../../src/log/logger.ts";
import { ClusterDataPlane } from "../../src/workers/cluster-data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { createPki, type TestPki } from "../support/certs.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { type Pebble, startPebble } from "../support/pebble.ts";
import { freePort } from "../support/routers.ts";
import { startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

/** The certificate the TLS listener at `port` serves for `servername`, verified against `ca`. */
async function served(port: number, servername: string, ca: Buffer | string): Promise<PeerCertificate> {
  const socket = connect({ host: "127.0.0.1", port, servername, ca });
  try {
    await once(socket, "secureConnect");
    assert.equal(socket.authorized, true);
    return socket.getPeerCertificate();
  } finally {
    socket.destroy();
  }
}

/** GET on a connection of its own, closed after the answer. */
function getOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    }).on("error", reject);
  });
}

/** Fresh connections in a row: two workers take turns accepting them, so each gets half. */
const ROUNDS = 8;

describe("ACME's certificates and challenges in every proxy worker", { timeout: 60_000 }, () => {
  let backend: Backend;
  let pki: TestPki;
  let plane: ClusterDataPlane;
  let httpUrl: string;
  let tlsPort: number;

  before(async () => {
    backend = await startBackend("blue");
    pki = await createPki();
    const settings = {
      ...testSettings,
      accessLog: false,
      tls: { listen: "127.0.0.1:0", certificates: [], hsts: false as const },
    };
    plane = new ClusterDataPlane(settings, 2, createLogger({ level: "silent" }));
    await plane.apply({ generation: 1, services: [serviceSpec("web", { blue: [backend.url], green: [] })] });
    httpUrl = `http://${await plane.listen()}`;
    tlsPort = Number(plane.tlsAddress()!.split(":").at(-1));
  });

  after(async () => {
    await plane.close(0);
    await backend.close();
    await pki.remove();
  });

  const challengeAnswers = async (token: string): Promise<string[]> => {
    const answers: string[] = [];
    for (let i = 0; i < ROUNDS; i++)
      answers.push(await getOnce(`${httpUrl}/.well-known/acme-challenge/${token}`));
    return answers;
  };

  it("answers an HTTP-01 token and serves a provided certificate from every worker, also from a replacement", async () => {
    await plane.setChallenge("tok1", "tok1.thumbprint");
    assert.deepEqual(await challengeAnswers("tok1"), Array(ROUNDS).fill("200 tok1.thumbprint"));

    const leaf = await pki.leaf("app", ["app.test"]);
    await plane.provideCertificate(
      "app.test",
      await readFile(leaf.cert, "utf8"),
      await readFile(leaf.key, "utf8"),
    );
    for (let i = 0; i < ROUNDS; i++)
      assert.equal((await served(tlsPort, "app.test", pki.root)).subjectaltname, "DNS:app.test");

    // A worker dies: its replacement gets the certificate and the token before it listens.
    const [victim, survivor] = plane.workerPids();
    assert.ok(victim !== undefined && survivor !== undefined);
    process.kill(victim, "SIGKILL");
    // A worker counts once it listens (with the plain and the TLS socket): across processes, polled.
    await eventually(
      () => {
        const pids = plane.workerPids();
        return pids.length === 2 && !pids.includes(victim);
      },
      "a replacement proxy worker listening",
      30_000,
    );
    assert.deepEqual(await challengeAnswers("tok1"), Array(ROUNDS).fill("200 tok1.thumbprint"));
    for (let i = 0; i < ROUNDS; i++)
      assert.equal((await served(tlsPort, "app.test", pki.root)).subjectaltname, "DNS:app.test");

    // Removed: no worker answers the token any more (the path goes to the service, as any other).
    await plane.setChallenge("tok1", undefined);
    assert.deepEqual(await challengeAnswers("tok1"), Array(ROUNDS).fill("200 blue"));
  });

  it("refuses a key that is not the certificate's, with the reason, and serves the previous one", async () => {
    const before = (await served(tlsPort, "app.test", pki.root)).fingerprint256;
    const other = await pki.leaf("other", ["app.test"]);
    const app = await pki.leaf("app2", ["app.test"]);
    await assert.rejects(
      plane.provideCertificate(
        "app.test",
        await readFile(app.cert, "utf8"),
        await readFile(other.key, "utf8"),
      ),
      /the key provided for app\.test is not its certificate's/,
    );
    for (let i = 0; i < ROUNDS; i++) {
      assert.equal((await served(tlsPort, "app.test", pki.root)).fingerprint256, before);
    }
  });
});

describe("teal server with proxy.tls.acme and workers: 2", { timeout: 120_000 }, () => {
  let pebble: Pebble;
  let backend: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let tlsPort: number;

  before(async () => {
    const httpPort = await freePort();
    tlsPort = await freePort();
    const hosts = ["app.test", "www.test", "api.test"];
    pebble = await startPebble({ httpPort, hosts });
    backend = await startBackend("blue");
    dir = await tempDir("teal-acme-workers-");
    teal = await startTeal(
      `
proxy:
  listen: 127.0.0.1:${httpPort}
  workers: 2
  tls:
    listen: 127.0.0.1:${tlsPort}
    acme:
      directory: ${pebble.directory}
      email: ops@app.test
      hosts: [${hosts.join(", ")}]
      caFile: ${pebble.caFile}
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${backend.url}]
`,
      dir.path,
    );
  });

  after(async () => {
    await teal?.stop();
    await pebble.stop();
    await backend.close();
    await dir.remove();
  });

  it("orders once, in the control process, and both workers serve each certificate", async () => {
    const hosts = ["app.test", "www.test", "api.test"];
    // Three orders: pebble's validation requests land on either worker.
    for (const host of hosts) {
      await eventually(
        () => teal.logs.find((l) => l.msg === "acme: certificate issued and served" && l.host === host),
        `a certificate for ${host}`,
        60_000,
      );
    }
    const orders = teal.logs.filter((l) => l.msg === "acme: ordering certificate");
    assert.equal(orders.length, hosts.length);
    const root = await pebble.issuingRoot();
    for (const host of hosts) {
      for (let i = 0; i < ROUNDS; i++)
        assert.equal((await served(tlsPort, host, root)).subjectaltname, `DNS:${host}`);
    }
    assert.equal(
      teal.logs.some((l) => l.msg === "acme: order failed; retrying later"),
      false,
    );
  });
});
