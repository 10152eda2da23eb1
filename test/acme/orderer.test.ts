/**
 * proxy.tls.acme against a real ACME server: Debian's pebble, which validates HTTP-01 by
 * fetching the key authorization from teal's plain listener (its DNS answers 127.0.0.1 for the
 * hosts a test orders). Real data plane, real SQLite store, the orderer on a manual clock.
 */

import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { connect, type TLSSocket } from "node:tls";
import { pino } from "pino";
import { AcmeRecords } from "../../src/acme/acme-records.ts";
import { type AcmeSettings, createOrderer } from "../../src/acme/acme-setup.ts";
import type { AcmeOrderer } from "../../src/acme/orderer.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { TlsSettings } from "../../src/traffic/tls.ts";
import { LocalDataPlane } from "../../src/workers/local-data-plane.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";
import { ManualClock } from "../support/manual-clock.ts";
import { type Pebble, startPebble } from "../support/pebble.ts";
import { freePort } from "../support/routers.ts";

const DAY_MS = 86_400_000;

/** JSON log lines, and a wait for the next line with a given msg. */
class LogLines {
  readonly lines: Record<string, unknown>[] = [];
  readonly #waiters: { msg: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  readonly log = pino(
    new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const text of chunk.toString().split("\n").filter(Boolean)) {
          const line = JSON.parse(text) as Record<string, unknown>;
          this.lines.push(line);
          const i = this.#waiters.findIndex((w) => w.msg === line.msg);
          if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(line);
        }
        done();
      },
    }),
  );

  next(msg: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.#waiters.push({ msg, resolve }));
  }

  count(msg: string): number {
    return this.lines.filter((l) => l.msg === msg).length;
  }
}

interface Teal {
  plane: LocalDataPlane;
  orderer: AcmeOrderer;
  store: SqliteStore;
  logs: LogLines;
  clock: ManualClock;
  close(): Promise<void>;
}

describe("proxy.tls.acme against pebble", { timeout: 60_000 }, () => {
  let pebble: Pebble;
  let root: string;
  let backend: Backend;
  let dir: string;
  let httpPort: number;
  let tlsPort: number;

  before(async () => {
    [httpPort, tlsPort] = [await freePort(), await freePort()];
    pebble = await startPebble({ httpPort, hosts: ["app.test", "other.test"] });
    root = await pebble.issuingRoot();
    backend = await startBackend("blue");
    dir = await mkdtemp(join(tmpdir(), "teal-acme-"));
  });

  after(async () => {
    await pebble.stop();
    await backend.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** teal's parts as teal-server wires them: load stored certificates, listen, then order. */
  async function startTeal(hosts: string[], database = "teal.db"): Promise<Teal> {
    const logs = new LogLines();
    const clock = new ManualClock(Date.now());
    const store = await SqliteStore.open({ path: join(dir, database), onError: () => {} });
    const tls: TlsSettings = { listen: `127.0.0.1:${tlsPort}`, certificates: [], hsts: false };
    const plane = new LocalDataPlane({ ...testSettings, listen: `127.0.0.1:${httpPort}`, tls });
    await plane.apply({ generation: 1, services: [serviceSpec("app", { blue: [backend.url], green: [] })] });
    const settings: AcmeSettings = {
      directory: pebble.directory,
      email: "ops@app.test",
      hosts,
      renewBeforeDays: 30,
      caFile: pebble.caFile,
    };
    const orderer = createOrderer(settings, {
      store,
      listener: plane,
      clock,
      log: logs.log,
      node: "test",
      tuning: { pollMs: { min: 50, max: 500 }, retry: { firstMs: 60_000, maxMs: 3_600_000 } },
    });
    await orderer.load();
    await plane.listen();
    return {
      plane,
      orderer,
      store,
      logs,
      clock,
      async close() {
        orderer.stop();
        await plane.close();
        await store.close();
      },
    };
  }

  /** A TLS connection to teal asking for `host`, verified against pebble's issuing root only. */
  async function handshake(host: string): Promise<TLSSocket> {
    const socket = connect({ host: "127.0.0.1", port: tlsPort, servername: host, ca: root });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    return socket;
  }

  /** One HTTP/1.1 request on an open TLS connection (kept alive): its status line start and body. */
  function requestOn(socket: TLSSocket, host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let text = "";
      const onData = (chunk: Buffer) => {
        text += chunk.toString();
        const end = text.indexOf("\r\n\r\n");
        const length = /content-length: (\d+)/i.exec(text)?.[1];
        const whole =
          length === undefined ? text.endsWith("\r\n0\r\n\r\n") : text.length >= end + 4 + Number(length);
        if (end >= 0 && whole) {
          socket.off("data", onData);
          resolve(`${text.slice(0, 12)} ${text.slice(end + 4)}`);
        }
      };
      socket.on("data", onData);
      socket.once("error", reject);
      socket.write(`GET / HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
    });
  }

  let first: { serial: string; notAfter: string };

  it("orders a certificate for a host that has none at start, and HTTPS serves it with a chain to the CA's root", async () => {
    const teal = await startTeal(["app.test"]);
    try {
      // Before the order, there is nothing to offer for the name: the handshake fails.
      await assert.rejects(handshake("app.test"));
      const issued = teal.logs.next("acme: certificate issued and served");
      await teal.orderer.start();
      assert.equal((await issued).host, "app.test");
      assert.equal(teal.logs.count("acme: ordering certificate"), 1);

      const socket = await handshake("app.test");
      assert.equal(socket.authorized, true);
      const cert = socket.getPeerCertificate();
      assert.equal(cert.subjectaltname, "DNS:app.test");
      assert.match(await requestOn(socket, "app.test"), /^HTTP\/1\.1 200 .*blue/s);
      socket.destroy();

      const [status] = teal.orderer.status();
      assert.equal(status?.state, "issued");
      assert.equal(status?.lastError, null);
      assert.equal(Date.parse(status!.notAfter!), Date.parse(cert.valid_to));
      first = { serial: cert.serialNumber, notAfter: status!.notAfter! };
    } finally {
      await teal.close();
    }
  });

  it("on a restart serves the stored certificate from the first handshake and orders nothing", async () => {
    const teal = await startTeal(["app.test"]);
    try {
      const socket = await handshake("app.test");
      assert.equal(socket.getPeerCertificate().serialNumber, first.serial);
      socket.destroy();
      await teal.orderer.start();
      assert.equal(teal.logs.count("acme: stored certificate served"), 1);
      assert.equal(
        teal.logs.count("acme: ordering certificate") + teal.logs.count("acme: renewing certificate"),
        0,
      );
      assert.equal(teal.orderer.status()[0]?.state, "issued");
    } finally {
      await teal.close();
    }
  });

  it("renews before expiry and swaps the certificate on the live listener, keeping an open connection", async () => {
    const teal = await startTeal(["app.test"]);
    try {
      await teal.orderer.start();
      const kept = await handshake("app.test");
      assert.match(await requestOn(kept, "app.test"), /^HTTP\/1\.1 200/);

      const renewAt = Date.parse(first.notAfter) - 30 * DAY_MS;
      // A minute short of the renewal point, nothing happens.
      await teal.clock.advance(renewAt - teal.clock.now() - 60_000);
      assert.equal(teal.logs.count("acme: renewing certificate"), 0);
      const issued = teal.logs.next("acme: certificate issued and served");
      await teal.clock.advance(60_000);
      assert.equal(teal.logs.count("acme: renewing certificate"), 1);
      await issued;

      // The renewed certificate is the one stored, and the one new handshakes get.
      const stored = await new AcmeRecords(teal.store).certificate("app.test");
      const renewed = new X509Certificate(stored!.value.cert).serialNumber;
      assert.notEqual(renewed, first.serial, "the CA issued a new certificate");
      const fresh = await handshake("app.test");
      assert.equal(fresh.authorized, true);
      assert.equal(fresh.getPeerCertificate().serialNumber, renewed);
      fresh.destroy();
      // The connection from before the renewal still has its certificate and still works.
      assert.equal(kept.getPeerCertificate().serialNumber, first.serial);
      assert.match(await requestOn(kept, "app.test"), /^HTTP\/1\.1 200 .*blue/s);
      kept.destroy();
      assert.equal(teal.orderer.status()[0]?.state, "issued");
    } finally {
      await teal.close();
    }
  });

  it("reports an order pebble cannot validate in status and the log, and retries it with back-off", async () => {
    const teal = await startTeal(["unreachable.test"], "failing.db");
    try {
      const failed = teal.logs.next("acme: order failed; retrying later");
      await teal.orderer.start();
      const line = await failed;
      assert.equal(line.host, "unreachable.test");
      assert.equal(line.retryInMs, 60_000);
      assert.match(String(line.err), /unreachable\.test/);
      const [status] = teal.orderer.status();
      assert.equal(status?.state, "failed");
      assert.equal(status?.failures, 1);
      assert.equal(status?.notAfter, null);
      assert.match(status?.lastError ?? "", /unreachable\.test/);
      assert.equal(Date.parse(status!.nextCheckAt!), teal.clock.now() + 60_000);

      // Not before the back-off; then once, and the next wait doubles.
      await teal.clock.advance(59_999);
      assert.equal(teal.logs.count("acme: ordering certificate"), 1);
      const again = teal.logs.next("acme: order failed; retrying later");
      await teal.clock.advance(1);
      assert.equal((await again).retryInMs, 120_000);
      assert.equal(teal.logs.count("acme: ordering certificate"), 2);
      assert.equal(teal.orderer.status()[0]?.failures, 2);
    } finally {
      await teal.close();
    }
  });
});
