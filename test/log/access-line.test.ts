import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { pino } from "pino";
import { accessLine, escapedAccessLine, plainAccessLine, thousandths } from "../../src/log/access-line.ts";
import type { AccessEntry } from "../../src/proxy/exchange.ts";

/** What pino writes for `log.info(entry, "request")` with the logger's options, time fixed. */
function pinoLine(entry: AccessEntry, timeMs: number): string {
  let out = "";
  const log = pino(
    {
      base: { name: "teal" },
      timestamp: () => `,"time":${timeMs}`,
      redact: {
        paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization"],
        censor: "[redacted]",
      },
    },
    { write: (s: string) => (out += s) },
  );
  log.info(entry, "request");
  return out;
}

const entry = (over: Partial<AccessEntry>): AccessEntry => ({
  service: "web",
  color: "blue",
  method: "GET",
  path: "/",
  status: 200,
  ms: 1.25,
  requestId: "0c4f2a9e-1",
  upstream: "http://127.0.0.1:8081",
  bytesIn: 0,
  bytesOut: 100,
  error: undefined,
  retried: undefined,
  ...over,
});

describe("the access log line", () => {
  it("is byte for byte the line pino writes for the same entry", () => {
    const cases: AccessEntry[] = [
      entry({}),
      entry({ upstream: undefined, status: 503, error: "no_endpoints" }),
      entry({ status: 502, error: "upstream_unreachable", retried: true, color: "green" }),
      entry({ method: "PROPFIND", path: '/a"b\\c\u0001\u007fé\u2028😀?q=%22', requestId: "x" }),
      entry({ path: "/\ud800lone", service: "svc-2", bytesIn: 1_048_576, bytesOut: 2 ** 40 }),
      entry({ ms: 0, status: 499 }),
      entry({ ms: 12345.678 }),
    ];
    for (const e of cases)
      assert.equal(accessLine(e, ',"name":"teal"', 1_796_600_000_123), pinoLine(e, 1_796_600_000_123));
  });

  it("takes the plain form, ASCII and the same line, only when no string needs escaping or is not ASCII", () => {
    const time = 1_796_600_000_123;
    const plain = [
      entry({}),
      entry({ upstream: undefined, status: 503, error: "no_endpoints" }),
      entry({ retried: true, color: "green", path: "/a/b?c=d&e=%22%5C~\u007f", method: "PROPFIND" }),
      entry({ retried: false, ms: 0.001, bytesOut: 2 ** 40 }),
    ];
    for (const e of plain) {
      const line = plainAccessLine(e, ',"name":"teal"', time);
      assert.equal(line, escapedAccessLine(e, ',"name":"teal"', time));
      assert.equal(line, pinoLine(e, time));
      assert.ok(
        Buffer.from(line!, "latin1").equals(Buffer.from(line!, "utf8")),
        "its Latin-1 bytes are its UTF-8 bytes",
      );
    }
    for (const s of ['"', "\\", "\u0001", "\u001f", "é", "\u0080", "\u2028", "\ud800", "😀"]) {
      for (const field of ["service", "method", "path", "requestId", "upstream"] as const) {
        const e = entry({ [field]: `a${s}b` });
        assert.equal(
          plainAccessLine(e, ',"name":"teal"', time),
          undefined,
          `${field} with ${JSON.stringify(s)}`,
        );
        assert.equal(accessLine(e, ',"name":"teal"', time), pinoLine(e, time));
      }
    }
  });

  it("is pino's line for each of consecutive entries that differ in one field (nothing of the last line is reused wrongly)", () => {
    const base = entry({});
    const changes: Partial<AccessEntry>[] = [
      {},
      { service: "api" },
      { color: "green" },
      { method: "POST" },
      { upstream: "http://127.0.0.1:9" },
      { upstream: undefined },
      { status: 404 },
      { status: 200, error: "no_endpoints" },
      { protocol: "h2" },
      { retried: true },
      {},
    ];
    let time = 1_796_600_000_123;
    for (const [i, change] of changes.entries()) {
      for (const t of [time, time + 1]) {
        const e = { ...base, ...change, requestId: `r-${i}` };
        assert.equal(accessLine(e, ',"name":"teal"', t), pinoLine(e, t), JSON.stringify(change));
      }
      time += 1;
    }
    // Another logger's name binding at the same time and with the same entry.
    const e = entry({});
    assert.equal(
      accessLine(e, ',"name":"proxy"', time),
      pinoLine(e, time).replace('"name":"teal"', '"name":"proxy"'),
    );
    assert.equal(accessLine(e, ',"name":"teal"', time), pinoLine(e, time));
  });

  it("prints a duration as JavaScript does, for every value rounded to thousandths up to 100 s", () => {
    for (let micro = 0; micro <= 100_000_000; micro += 7) {
      const ms = Math.round(micro) / 1000;
      if (thousandths(ms) !== `${ms}`) assert.equal(thousandths(ms), `${ms}`);
    }
    for (const ms of [0.1, 0.5, 1e-7, 123456789.123, -1, Number.NaN, 2 ** 40])
      assert.equal(thousandths(ms), `${ms}`);
  });
});
