/**
 * proxy.trustedProxies (and its old name), and the start-up warnings about who may use the override.
 * In-process only (it runs in `npm run test:unit`); `teal validate` printing these warnings is in
 * test/server/cli.test.ts.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.ts";
import { configWarnings } from "../../src/config/warnings.ts";
import { proxySettings } from "../../src/control/spec-builder.ts";
import { isTealError } from "../../src/domain/errors.ts";

const SERVICE = "services:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9001]\n";

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml);
  } catch (err) {
    assert.ok(isTealError(err, "CONFIG_INVALID"));
    return (err.details!.problems as { path: string; message: string }[]).map(
      (p) => `${p.path}: ${p.message}`,
    );
  }
  assert.fail("config was accepted");
}

describe("proxy.trustedProxies", () => {
  it("is empty by default and reaches the proxy settings (workers included) as given", () => {
    assert.deepEqual(proxySettings(parseConfigText(SERVICE)).trustedProxies, []);
    const config = parseConfigText(`proxy: { trustedProxies: [127.0.0.1, 10.0.0.0/8, "::1"] }\n${SERVICE}`);
    assert.deepEqual(proxySettings(config).trustedProxies, ["127.0.0.1", "10.0.0.0/8", "::1"]);
    assert.deepEqual(configWarnings(config), []);
  });

  it("refuses an entry that is not an address or CIDR, naming it", () => {
    assert.deepEqual(problems(`proxy: { trustedProxies: [nginx.local] }\n${SERVICE}`), [
      "proxy.trustedProxies[0]: must be an IP address or CIDR, e.g. 10.0.0.0/8 or ::1/128",
    ]);
  });

  it("still reads the old name trustForwardedFrom, as trustedProxies, with a warning to rename it", () => {
    const config = parseConfigText(`proxy: { trustForwardedFrom: [127.0.0.1] }\n${SERVICE}`);
    const settings = proxySettings(config);
    assert.deepEqual(settings.trustedProxies, ["127.0.0.1"]);
    assert.equal("trustForwardedFrom" in settings, false);
    assert.deepEqual(configWarnings(config), [
      {
        path: "proxy.trustForwardedFrom",
        message: "deprecated: rename it to proxy.trustedProxies (same list, same meaning)",
      },
    ]);
  });

  it("refuses both names at once, naming the fix", () => {
    assert.deepEqual(
      problems(`proxy: { trustedProxies: [127.0.0.1], trustForwardedFrom: [10.0.0.1] }\n${SERVICE}`),
      ["proxy.trustForwardedFrom: is the old name of trustedProxies: keep only trustedProxies"],
    );
  });
});

describe("the start-up warning about the override behind a local proxy", () => {
  const warningsFor = (proxy: string, service = "") =>
    configWarnings(parseConfigText(`proxy: ${proxy}\n${SERVICE}${service}`)).map(
      (w) => `${w.path}: ${w.message}`,
    );

  it("warns when teal listens on loopback, trusts no proxy, and allowFrom admits loopback", () => {
    for (const listen of ["127.0.0.1:8080", "localhost:8080", "[::1]:8080"]) {
      const [warning, ...rest] = warningsFor(`{ listen: "${listen}" }`);
      assert.deepEqual(rest, []);
      assert.match(warning ?? "", /^services\.web\.override\.allowFrom: admits loopback/, listen);
      assert.match(warning!, /Set proxy\.trustedProxies to that proxy's address/);
    }
  });

  it("says it once for 100 services: how many, the first few by name, the field and the fix", () => {
    const services = Array.from(
      { length: 100 },
      (_, i) => `  s${i}:\n    routes: [{ host: s${i}.test }]\n    blue: [http://127.0.0.1:9001]\n`,
    ).join("");
    const config = parseConfigText(`proxy: { listen: "127.0.0.1:8080" }\nservices:\n${services}`);
    const [warning, ...rest] = configWarnings(config);
    assert.deepEqual(rest, []);
    assert.equal(warning!.path, "services.*.override.allowFrom");
    assert.match(
      warning!.message,
      /^100 services \(s0, s1, s2 and 97 more\) admit loopback and proxy\.listen/,
    );
    assert.match(warning!.message, /pin a color with x-teal-color\. Set proxy\.trustedProxies/);
    assert.match(warning!.message, /or set override: false$/);
  });

  it("names both services when two admit loopback, with each override header", () => {
    const two = `${SERVICE}  api:\n    routes: [{ path: /api }]\n    blue: [http://127.0.0.1:9002]\n    override: { header: X-Api-Color }\n`;
    const warnings = configWarnings(parseConfigText(`proxy: { listen: "127.0.0.1:8080" }\n${two}`));
    assert.deepEqual(
      warnings.map((w) => w.path),
      ["services.*.override.allowFrom"],
    );
    assert.match(warnings[0]!.message, /^2 services \(web, api\) admit loopback/);
    assert.match(warnings[0]!.message, /pin a color with x-teal-color or x-api-color\./);
  });

  it("says nothing once trustedProxies is set, on a public listener, or when loopback may not override", () => {
    assert.deepEqual(warningsFor(`{ listen: "127.0.0.1:8080", trustedProxies: [127.0.0.1] }`), []);
    assert.deepEqual(warningsFor(`{ listen: "0.0.0.0:8080" }`), []);
    assert.deepEqual(warningsFor(`{ listen: "127.0.0.1:8080" }`, "    override: false\n"), []);
    assert.deepEqual(
      warningsFor(`{ listen: "127.0.0.1:8080" }`, "    override: { allowFrom: [192.0.2.0/24] }\n"),
      [],
    );
  });
});
