/**
 * proxy.tls.acme.challenge: tls-alpn-01. First the TLS listener itself: a handshake offering only
 * `acme-tls/1` for a host with a pending challenge gets the challenge certificate and its
 * connection ends; any other handshake (h2, http/1.1, no ALPN, another host, TLS 1.2) is served or
 * refused as before. Then `teal server` with two proxy workers against a real pebble that
 * validates over TLS-ALPN-01 only (its HTTP-01 port has nothing listening).
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { connect, type PeerCertificate } from "node:tls";
import { LocalDataPlane } from "../../src/workers/local-data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { createPki, type Leaf, type TestPki } from "../support/certs.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";
import { eventually } from "../support/eventually.ts";
import { type Pebble, startPebble } from "../support/pebble.ts";
import { freePort } from "../support/routers.ts";
import { startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

interface Handshake {
  readonly protocol: string | false | null;
  readonly cert: PeerCertificate;
  /** The server ended the connection after the handshake, with nothing sent. */
  readonly ended: boolean;
}

async function handshake(
  port: number,
  servername: string,
  options: { alpn?: string[]; maxVersion?: "TLSv1.2" | "TLSv1.3" } = {},
): Promise<Handshake> {
  const socket = connect({
    host: "127.0.0.1",
    port,
    servername,
    rejectUnauthorized: false,
    ...(options.alpn === undefined ? {} : { ALPNProtocols: options.alpn }),
    maxVersion: options.maxVersion ?? "TLSv1.3",
  });
  try {
    await once(socket, "secureConnect");
    const result = { protocol: socket.alpnProtocol, cert: socket.getPeerCertificate() };
    // acme-tls/1: the server closes; otherwise the connection stays open (an h2 server sends its SETTINGS).
    socket.resume();
    const ended = await Promise.race([
      once(socket, "end").then(() => true),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 300)),
    ]);
    return { ...result, ended };
  } finally {
    socket.destroy();
  }
}

describe("the TLS listener with tls-alpn-01", { timeout: 60_000 }, () => {
  let pki: TestPki;
  let backend: Backend;
  let plane: LocalDataPlane;
  let port: number;
  let served: Leaf;
  let challenge: Leaf;
  const fingerprint = async (leaf: Leaf) =>
    new (await import("node:crypto")).X509Certificate(await readFile(leaf.cert)).fingerprint256;

  before(async () => {
    pki = await createPki();
    backend = await startBackend("blue");
    served = await pki.leaf("app", ["app.test"]);
    challenge = await pki.leaf("challenge", ["app.test"]);
    plane = new LocalDataPlane({
      ...testSettings,
      accessLog: false,
      tls: { listen: "127.0.0.1:0", certificates: [], hsts: false, acme: { challenge: "tls-alpn-01" } },
    });
    await plane.apply({ generation: 1, services: [serviceSpec("web", { blue: [backend.url], green: [] })] });
    await plane.provideCertificate(
      "app.test",
      await readFile(served.cert, "utf8"),
      await readFile(served.key, "utf8"),
    );
    await plane.listen();
    port = Number(plane.tlsAddress()!.split(":").at(-1));
  });

  after(async () => {
    await plane.close();
    await backend.close();
    await pki.remove();
  });

  it("serves the challenge certificate to acme-tls/1 for its host only, and everything else as before", async () => {
    const [servedPrint, challengePrint] = [await fingerprint(served), await fingerprint(challenge)];
    await plane.setAlpnChallenge("app.test", {
      cert: await readFile(challenge.cert, "utf8"),
      key: await readFile(challenge.key, "utf8"),
    });

    const acme = await handshake(port, "app.test", { alpn: ["acme-tls/1"] });
    assert.equal(acme.protocol, "acme-tls/1");
    assert.equal(acme.cert.fingerprint256, challengePrint);
    assert.equal(acme.ended, true);

    for (const alpn of [["h2", "http/1.1"], ["http/1.1"], undefined]) {
      const other = await handshake(port, "app.test", alpn === undefined ? {} : { alpn });
      assert.equal(other.protocol, alpn?.[0] ?? false, `ALPN ${alpn}`);
      assert.equal(other.cert.fingerprint256, servedPrint, `ALPN ${alpn}`);
      assert.equal(other.ended, false, `ALPN ${alpn}`);
    }

    // Another name, or TLS 1.2 (its certificate is chosen before the protocol): refused.
    await assert.rejects(
      handshake(port, "other.test", { alpn: ["acme-tls/1"] }),
      /alert|no application protocol/i,
    );
    await assert.rejects(
      handshake(port, "app.test", { alpn: ["acme-tls/1"], maxVersion: "TLSv1.2" }),
      /alert|no application protocol/i,
    );

    await plane.setAlpnChallenge("app.test", undefined);
    await assert.rejects(
      handshake(port, "app.test", { alpn: ["acme-tls/1"] }),
      /alert|no application protocol/i,
    );
    assert.equal((await handshake(port, "app.test", { alpn: ["h2"] })).cert.fingerprint256, servedPrint);
  });
});

describe("teal server with proxy.tls.acme.challenge tls-alpn-01 and workers: 2", { timeout: 120_000 }, () => {
  let pebble: Pebble;
  let backend: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let tlsPort: number;
  const hosts = ["app.test", "www.test", "api.test"];

  before(async () => {
    tlsPort = await freePort();
    // Its HTTP-01 port has nothing listening: only TLS-ALPN-01 can succeed.
    pebble = await startPebble({ httpPort: await freePort(), tlsPort, hosts });
    backend = await startBackend("blue");
    dir = await tempDir("teal-acme-alpn-");
    teal = await startTeal(
      `
proxy:
  listen: 127.0.0.1:0
  workers: 2
  tls:
    listen: 127.0.0.1:${tlsPort}
    acme:
      directory: ${pebble.directory}
      email: ops@app.test
      hosts: [${hosts.join(", ")}]
      challenge: tls-alpn-01
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

  it("gets each certificate over TLS-ALPN-01 and serves it from both workers, over h2 and HTTP/1.1", async () => {
    for (const host of hosts) {
      await eventually(
        () => teal.logs.find((l) => l.msg === "acme: certificate issued and served" && l.host === host),
        `a certificate for ${host}`,
        60_000,
      );
    }
    assert.equal(
      teal.logs.some((l) => l.msg === "acme: order failed; retrying later"),
      false,
    );
    const root = await pebble.issuingRoot();
    for (const host of hosts) {
      for (const alpn of [["h2"], ["http/1.1"], ["h2"], ["http/1.1"]]) {
        const socket = connect({
          host: "127.0.0.1",
          port: tlsPort,
          servername: host,
          ca: root,
          ALPNProtocols: alpn,
        });
        await once(socket, "secureConnect");
        assert.equal(socket.authorized, true);
        assert.equal(socket.alpnProtocol, alpn[0]);
        assert.equal(socket.getPeerCertificate().subjectaltname, `DNS:${host}`);
        socket.destroy();
      }
    }
  });
});
