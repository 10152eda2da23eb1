/**
 * What the orderer hands the TLS listener: every certificate it stores and logs as served, even
 * one with the same notAfter as the certificate it replaces (issued in the same second). The CA
 * and the listener are fakes at teal's own interfaces; the store is the in-memory adapter.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AcmeRecords } from "../../src/acme/acme-records.ts";
import type { CertificateAuthority, IssuedCertificate } from "../../src/acme/certificate-authority.ts";
import { AcmeOrderer } from "../../src/acme/orderer.ts";
import { MemoryStore } from "../../src/store/memory/memory-store.ts";
import { ManualClock } from "../support/manual-clock.ts";

const DAY_MS = 86_400_000;

describe("ACME orderer and the listener", () => {
  it("serves a renewed certificate whose notAfter is the one it replaces", async () => {
    const clock = new ManualClock(Date.now());
    const records = new AcmeRecords(new MemoryStore());
    // Due for renewal now (renewBeforeDays 30, 10 days left), and renewed with the same notAfter.
    const notAfter = new Date(clock.now() + 10 * DAY_MS);
    await records.saveCertificate({
      host: "app.test",
      cert: "OLD",
      key: "OLD-KEY",
      notAfter: notAfter.toISOString(),
    });
    const authority: CertificateAuthority = {
      issue: async (): Promise<IssuedCertificate> => ({ cert: "NEW", key: "NEW-KEY", notAfter }),
    };
    const served: string[] = [];
    const issued: string[] = [];
    const orderer = new AcmeOrderer({
      hosts: ["app.test"],
      renewBeforeDays: 30,
      authority,
      records,
      listener: {
        provideCertificate: async (_host, cert) => {
          served.push(cert);
        },
        setChallenge: async () => {},
        setAlpnChallenge: async () => {},
      },
      clock,
      node: "test",
      events: { issued: (host) => issued.push(host) },
    });
    await orderer.load();
    await orderer.start();
    orderer.stop();
    assert.deepEqual(issued, ["app.test"]);
    assert.deepEqual(served, ["OLD", "NEW"], "the renewed certificate reaches the listener");
    assert.equal((await records.certificate("app.test"))?.value.cert, "NEW");
  });
});
