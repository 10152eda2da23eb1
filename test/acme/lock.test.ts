/**
 * Two teal nodes sharing one store (as a fleet on etcd does): only the node holding a host's
 * lock orders its certificate; the other waits and then serves the stored one without ordering.
 * The CA and the listener are fakes at teal's own interfaces; the store is the in-memory adapter
 * that passes the same contract suite as SQLite and etcd.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AcmeRecords } from "../../src/acme/acme-records.ts";
import type { CertificateAuthority, IssuedCertificate } from "../../src/acme/certificate-authority.ts";
import { AcmeOrderer, type CertificateListener, LOCKED_RECHECK_MS } from "../../src/acme/orderer.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { ManualClock } from "../support/manual-clock.ts";

const YEAR_MS = 365 * 86_400_000;

/** A CA whose orders finish when the test says so, counting them. */
class HeldAuthority implements CertificateAuthority {
  orders = 0;
  #finish: ((c: IssuedCertificate) => void) | undefined;
  readonly started: Promise<void>;
  #started!: () => void;

  constructor() {
    this.started = new Promise((resolve) => {
      this.#started = resolve;
    });
  }

  issue(): Promise<IssuedCertificate> {
    this.orders++;
    this.#started();
    return new Promise((resolve) => {
      this.#finish = resolve;
    });
  }

  finish(c: IssuedCertificate): void {
    this.#finish?.(c);
  }
}

function listener(): CertificateListener & { served: string[] } {
  const served: string[] = [];
  return {
    served,
    provideCertificate: async (_host, cert) => {
      served.push(cert);
    },
    setChallenge: async () => {},
    setAlpnChallenge: async () => {},
  };
}

describe("ACME on a shared store", () => {
  it("lets one node order a host's certificate while another waits, then serves what the first stored", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(Date.now());
    const node = (name: string, authority: HeldAuthority, to: CertificateListener) =>
      new AcmeOrderer({
        hosts: ["app.test"],
        renewBeforeDays: 30,
        authority,
        records: new AcmeRecords(store),
        listener: to,
        clock,
        node: name,
      });
    const [caA, caB] = [new HeldAuthority(), new HeldAuthority()];
    const [toA, toB] = [listener(), listener()];
    const [a, b] = [node("a", caA, toA), node("b", caB, toB)];

    const aStarted = a.start();
    await caA.started;
    assert.equal(a.status()[0]?.state, "ordering");
    await b.start();
    assert.equal(b.status()[0]?.state, "waiting");
    assert.equal(caB.orders, 0);

    caA.finish({ cert: "CERT-A", key: "KEY-A", notAfter: new Date(clock.now() + YEAR_MS) });
    await aStarted;
    assert.deepEqual(toA.served, ["CERT-A"]);

    await clock.advance(LOCKED_RECHECK_MS);
    // b looked again after the wait: it serves a's certificate and never ordered one.
    assert.deepEqual(toB.served, ["CERT-A"]);
    assert.equal(b.status()[0]?.state, "issued");
    assert.equal(caB.orders, 0);
    assert.equal(caA.orders, 1);
    a.stop();
    b.stop();
    await store.close();
  });
});
