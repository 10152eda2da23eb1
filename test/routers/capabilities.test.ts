/** The capability check, called directly: what each router refuses in a service config, and why. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { capabilityIssues, type RoutedServiceConfig } from "../../src/config/capabilities.ts";
import { routerSchema } from "../../src/config/router-schema.ts";

const nginx = routerSchema.parse({
  type: "nginx",
  configFile: "/etc/nginx/teal.conf",
  mainConfig: "/etc/nginx/nginx.conf",
  listen: "127.0.0.1:8080",
});
const haproxy = routerSchema.parse({ type: "haproxy", socket: "/run/haproxy/admin.sock", backend: "app" });
const haproxyWithBackends = routerSchema.parse({
  type: "haproxy",
  socket: "/run/haproxy/admin.sock",
  backend: "app",
  overrideBackends: { blue: "app_blue", green: "app_green" },
});

/** A plain blue-green service that every router can run. */
const plain: RoutedServiceConfig = {
  router: "teal",
  strategy: { blueGreen: { autoPromote: true } },
  override: false,
  sticky: undefined,
  allowlist: [],
  analysis: { checks: [] },
};

const issues = (svc: Partial<RoutedServiceConfig>) =>
  capabilityIssues({ ...plain, ...svc }).map((i) => `${i.path.join(".")}: ${i.message}`);

/** Everything teal's own proxy can do, asked at once. */
const everything: Partial<RoutedServiceConfig> = {
  strategy: { canary: { steps: [] } },
  override: { header: "x-teal-color" },
  sticky: { setCookie: true, cookie: "teal_user" },
  allowlist: ["tester"],
  analysis: {
    checks: [
      { name: "errors", metric: "errorRate" },
      { name: "latency", metric: "p99" },
    ],
  },
};

describe("the router capability check", () => {
  it("accepts a plain blue-green service on every router", () => {
    for (const router of ["teal", nginx, haproxy] as const) assert.deepEqual(issues({ router }), []);
  });

  it("accepts everything on teal's own proxy", () => {
    assert.deepEqual(issues(everything), []);
  });

  it("refuses on nginx only what nginx cannot do: issuing sticky cookies and the allowlist", () => {
    assert.deepEqual(issues({ ...everything, router: nginx }), [
      "sticky.setCookie: the nginx router cannot hand out sticky cookies; set setCookie: false and have your app set the cookie, or use router: teal",
      "allowlist: the nginx router cannot send allowlisted users to the new color; remove allowlist (use the override header), or use router: teal",
    ]);
  });

  it("refuses on haproxy stickiness, the allowlist, latency checks and an override without a backend per color", () => {
    assert.deepEqual(issues({ ...everything, router: haproxy }), [
      "override: the haproxy router cannot route by the override header without router.overrideBackends (a backend per color); set override: false or add router.overrideBackends and the use_backend rule from the README, or use router: teal",
      "sticky: the haproxy router cannot keep users on one color by cookie or header; remove sticky, or use router: teal",
      "allowlist: the haproxy router cannot send allowlisted users to the new color; remove allowlist (use the override header), or use router: teal",
      'analysis.checks.1.metric: the haproxy router cannot measure p99 per color (check "latency"); use metric errorRate, a prometheus or a web check, or use router: teal',
    ]);
    assert.deepEqual(issues({ router: haproxyWithBackends, override: { header: "x-teal-color" } }), []);
  });

  it("leaves checks without a proxy metric, and weighted presets, to routers that can do them", () => {
    assert.deepEqual(issues({ router: haproxy, analysis: { checks: [{ name: "prom" }] } }), []);
    assert.deepEqual(issues({ router: haproxy, strategy: { preset: "Gradual" } }), []);
  });

  it("names a header or cookie nginx cannot spell through its variables", () => {
    assert.deepEqual(
      issues({
        router: nginx,
        override: { header: "x_teal color" },
        sticky: { setCookie: false, header: "x.user", cookie: "teal-user" },
      }).map((line) => line.split(":")[0]),
      ["override.header", "sticky.header", "sticky.cookie"],
    );
  });

  it("asks haproxy for IP literals as static endpoints, naming the host and the fix", () => {
    const found = capabilityIssues({
      ...plain,
      router: haproxy,
      blue: ["http://10.0.0.5:9001", "http://[::1]:9001"],
      green: ["http://app.internal:9001"],
    });
    assert.deepEqual(found, [
      {
        path: ["green", 0],
        message:
          'the haproxy router sets server addresses through its runtime API, which takes an IP address, not the host name "app.internal": write the IP, e.g. http://10.0.0.5:9001 or http://[::1]:9001, or use router: teal',
      },
    ]);
  });
});
