/** proxy.tls.acme in teal.yaml: what is accepted, and errors that name the field and the fix. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateConfig } from "../../src/config/load.ts";
import { isTealError } from "../../src/domain/errors.ts";

const acme = { directory: "https://acme.example/dir", email: "ops@example.com", hosts: ["app.example.com"] };

function problems(raw: unknown): string {
  try {
    validateConfig(raw);
    return "valid";
  } catch (err) {
    assert.ok(isTealError(err) && err.code === "CONFIG_INVALID");
    return err.message;
  }
}

describe("proxy.tls.acme config", () => {
  it("accepts acme alone (no certificate files), with renewBeforeDays 30 by default", () => {
    const config = validateConfig({ proxy: { tls: { acme } } });
    assert.equal(config.proxy.tls?.acme?.renewBeforeDays, 30);
    assert.equal(config.proxy.tls?.acme?.challenge, "http-01");
    assert.deepEqual(config.proxy.tls?.certificates, []);
  });

  it("names the field and the fix for each mistake", () => {
    const cases: [unknown, RegExp][] = [
      [
        { ...acme, directory: "http://acme.example/dir" },
        /proxy\.tls\.acme\.directory: must be the CA's https:\/\/ directory URL/,
      ],
      [{ ...acme, email: "ops" }, /proxy\.tls\.acme\.email: must be an email address/],
      [{ ...acme, hosts: [] }, /proxy\.tls\.acme\.hosts: needs at least one host/],
      [{ ...acme, hosts: ["*.example.com"] }, /proxy\.tls\.acme\.hosts\[0\]: .*cannot prove a wildcard/],
      [{ ...acme, renewBeforeDays: 0 }, /proxy\.tls\.acme\.renewBeforeDays/],
      [
        { ...acme, challenge: "dns-01" },
        /proxy\.tls\.acme\.challenge: must be http-01 \(the CA connects to port 80: proxy\.listen\) or tls-alpn-01/,
      ],
      [{ ...acme, caFile: "ca.pem" }, /proxy\.tls\.acme\.caFile: must be an absolute path/],
      [{ ...acme, directry: "x" }, /proxy\.tls\.acme/],
    ];
    for (const [given, expected] of cases)
      assert.match(problems({ proxy: { tls: { acme: given } } }), expected);
  });

  it("asks for certificates or acme, and takes acme with any number of proxy workers", () => {
    assert.match(
      problems({ proxy: { tls: {} } }),
      /proxy\.tls\.certificates: needs at least one certificate.*or acme/,
    );
    assert.equal(problems({ proxy: { workers: 2, tls: { acme } } }), "valid");
    assert.equal(problems({ proxy: { workers: "auto", tls: { acme } } }), "valid");
  });
});
