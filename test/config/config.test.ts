import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.ts";
import { effectiveHealth } from "../../src/config/schema.ts";
import { isTealError } from "../../src/domain/errors.ts";

function problems(yaml: string): string[] {
  try {
    parseConfigText(yaml);
  } catch (err) {
    assert.ok(isTealError(err, "CONFIG_INVALID"), `expected CONFIG_INVALID, got ${err}`);
    return (err.details!.problems as { path: string; message: string }[]).map(
      (p) => `${p.path}: ${p.message}`,
    );
  }
  assert.fail("config was accepted");
}

describe("teal.yaml validation", () => {
  it("accepts a minimal service and fills in the defaults", () => {
    const config = parseConfigText(
      "services:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9001]\n",
    );
    const web = config.services.web!;
    assert.deepEqual(web.green, []);
    assert.equal(web.deployment.drainTimeoutMs, 30_000);
    assert.equal(web.deployment.scaleDownDelayMs, 30_000);
    assert.equal(web.runtime.type, "static");
    assert.equal(web.health, undefined);
    const managed = parseConfigText(
      "services:\n  api:\n    routes: [{ path: / }]\n    runtime: { type: process, command: node app.js }\n",
    ).services.api!;
    assert.deepEqual(effectiveHealth(managed), {
      path: "/health",
      intervalMs: 1_000,
      timeoutMs: 5_000,
      healthyThreshold: 2,
      unhealthyThreshold: 3,
      expectStatus: [200],
    });
    assert.equal(managed.deployment.timeoutMs, 30_000);
    assert.equal(managed.runtime.type === "process" && managed.runtime.instances, 1);
    assert.deepEqual(web.override, { header: "x-teal-color", allowFrom: ["127.0.0.0/8", "::1/128"] });
    assert.equal(config.admin.listen, "127.0.0.1:7070");
  });

  const cases: [string, string, string][] = [
    [
      "a negative timeout",
      "services:\n  web:\n    routes: [{path: /}]\n    deployment: { drainTimeoutMs: -5 }\n",
      "services.web.deployment.drainTimeoutMs: must be > 0",
    ],
    [
      "a fractional timeout",
      "services:\n  web:\n    routes: [{path: /}]\n    pauseTimeoutMs: 1.5\n",
      "services.web.pauseTimeoutMs: must be a whole number of milliseconds",
    ],
    [
      "an endpoint that is not an http URL",
      'services:\n  web:\n    routes: [{path: /}]\n    blue: ["127.0.0.1:9001"]\n',
      "services.web.blue[0]: must be a plain http:// URL",
    ],
    [
      "a service without routes",
      "services:\n  web:\n    blue: [http://127.0.0.1:1]\n",
      "services.web.routes: is required",
    ],
    [
      "an unknown field",
      "services:\n  web:\n    routes: [{path: /}]\n    colour: blue\n",
      'services.web: unknown field "colour"',
    ],
    [
      "a bad service name",
      "services:\n  Web App:\n    routes: [{path: /}]\n",
      "services.Web App: invalid name: must be lowercase",
    ],
    [
      "a path without a leading slash",
      "services:\n  web:\n    routes: [{path: api}]\n",
      "services.web.routes[0].path: must start with /",
    ],
    ["a bad listen address", "proxy:\n  listen: localhost\n", "proxy.listen: must be HOST:PORT"],
    ["a port out of range", "admin:\n  listen: 127.0.0.1:70000\n", "admin.listen: port must be 0..65535"],
    [
      "a bad CIDR in allowFrom",
      "services:\n  web:\n    routes: [{path: /}]\n    override: { allowFrom: [10.0.0.0/99] }\n",
      "services.web.override.allowFrom[0]: must be an IP address or CIDR",
    ],
    [
      "sticky without a key source",
      "services:\n  web:\n    routes: [{path: /}]\n    sticky: { setCookie: true }\n",
      "services.web.sticky: needs a cookie or a header",
    ],
    ["a wrong type", "proxy:\n  workers: many\n", "proxy.workers:"],
    [
      "a health interval of zero",
      "services:\n  web:\n    routes: [{path: /}]\n    health: { intervalMs: 0 }\n",
      "services.web.health.intervalMs: must be > 0",
    ],
    [
      "a process runtime without a command",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process }\n",
      "services.web.runtime.command: must be a command line",
    ],
    [
      "an unknown runtime type",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: kubernetes }\n",
      'services.web.runtime.type: type must be "process", "static" or "docker"',
    ],
    [
      "static endpoints on a process service",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: ./app }\n    blue: [http://127.0.0.1:1]\n",
      "services.web.blue: static endpoints only go with runtime type static",
    ],
    [
      "a docker runtime without a container port",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: app:v1 }\n",
      "services.web.runtime.port: is required: the port the app listens on inside the container, e.g. 3000",
    ],
    [
      "a docker image that is no image reference",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: 'My App', port: 3000 }\n",
      'services.web.runtime.image: must be an image reference like "myapp:1.4"',
    ],
    [
      "a docker volume without a container path",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: app, port: 3000, volumes: [./data] }\n",
      'services.web.runtime.volumes[0]: must be "SOURCE:/container/path"',
    ],
    [
      "a docker memory limit that is no size",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: app, port: 3000, resources: { memory: lots } }\n",
      'services.web.runtime.resources.memory: must be a size like "512m" or "1g"',
    ],
    [
      "a docker label in teal's own namespace",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: app, port: 3000, labels: { teal.color: x } }\n",
      "services.web.runtime.labels.teal.color: invalid name: teal.* labels are teal's own: choose another key",
    ],
    [
      "an unknown pull policy",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: app, port: 3000, pull: sometimes }\n",
      'services.web.runtime.pull: must be "missing", "always" or "never"',
    ],
    [
      "a docker host that is no address",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: app, port: 3000, host: docker.local }\n",
      "services.web.runtime.host: must be unix:///var/run/docker.sock, tcp://HOST:PORT or an absolute socket path",
    ],
    [
      "zero instances",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: ./app, instances: 0 }\n",
      "services.web.runtime.instances: must be at least 1",
    ],
    [
      "a bad environment variable name",
      'services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: ./app, env: { "A-B": x } }\n',
      "services.web.runtime.env.A-B: invalid name: must be an environment variable name",
    ],
    [
      "an expected status that is no HTTP status",
      "services:\n  web:\n    routes: [{path: /}]\n    health: { expectStatus: 42 }\n",
      "services.web.health.expectStatus: must be an HTTP status 100..599",
    ],
    [
      "a smoke check that is neither http nor command",
      "services:\n  web:\n    routes: [{path: /}]\n    deployment: { smoke: [{ url: /x }] }\n",
      'services.web.deployment.smoke[0]: must be { http: { path: /... } } or { command: "..." }',
    ],
    [
      "a negative scale-down delay",
      "services:\n  web:\n    routes: [{path: /}]\n    deployment: { scaleDownDelayMs: -1 }\n",
      "services.web.deployment.scaleDownDelayMs: must be >= 0",
    ],
  ];
  for (const [what, yaml, expected] of cases) {
    it(`rejects ${what}, naming the field`, () => {
      const found = problems(yaml);
      assert.ok(
        found.some((p) => p.startsWith(expected)),
        `expected "${expected}" in ${JSON.stringify(found)}`,
      );
    });
  }

  it("reports every problem at once, not just the first", () => {
    assert.equal(
      problems("proxy:\n  listen: x\nservices:\n  web:\n    routes: []\n    pauseTimeoutMs: 0\n").length,
      3,
    );
  });

  it("reports YAML syntax errors with the line", () => {
    assert.throws(
      () => parseConfigText("services: [\n  - a\n b: c"),
      (err: unknown) => {
        assert.ok(isTealError(err, "CONFIG_INVALID"));
        assert.match(err.message, /YAML syntax error: .* at line \d+/);
        return true;
      },
    );
  });
});

describe("teal.yaml validation of a service's router", () => {
  const service = (router: string, extra = "") => `
services:
  web:
    routes: [{ path: / }]
    blue: [http://127.0.0.1:9001]
    router: ${router}
${extra}`;
  const haproxy = "{ type: haproxy, socket: /run/haproxy.sock, backend: web }";

  it("defaults to teal's own proxy and accepts nginx with its files", () => {
    assert.equal(parseConfigText(service("teal")).services.web!.router, "teal");
    const nginx = parseConfigText(
      service(
        "{ type: nginx, configFile: /etc/nginx/teal/web.conf, mainConfig: /etc/nginx/nginx.conf, listen: 127.0.0.1:8081 }",
      ),
    ).services.web!.router;
    assert.deepEqual(nginx !== "teal" && nginx.type === "nginx" && nginx.binary, "nginx");
  });

  it("refuses the override header on haproxy without one backend per color, naming the fix", () => {
    assert.deepEqual(problems(service(haproxy)), [
      "services.web.override: the haproxy router cannot route by the override header without router.overrideBackends (a backend per color); set override: false or add router.overrideBackends and the use_backend rule from the README, or use router: teal",
    ]);
    assert.doesNotThrow(() => parseConfigText(service(haproxy, "    override: false")));
  });

  it("refuses latency checks on haproxy, which measures no latency per color", () => {
    const checks = `    override: false
    analysis:
      checks:
        - { name: errors, metric: errorRate, max: 0.05 }
        - { name: slow, metric: p99, max: 200 }`;
    assert.deepEqual(problems(service(haproxy, checks)), [
      'services.web.analysis.checks[1].metric: the haproxy router cannot measure p99 per color (check "slow"); use metric errorRate, a prometheus or a web check, or use router: teal',
    ]);
  });

  it("refuses sticky users on haproxy and sticky cookies handed out by nginx", () => {
    const nginx =
      "{ type: nginx, configFile: /etc/nginx/teal/web.conf, mainConfig: /etc/nginx/nginx.conf, listen: 127.0.0.1:8081 }";
    assert.match(
      problems(service(haproxy, "    override: false\n    sticky: { cookie: uid }"))[0]!,
      /^services\.web\.sticky: the haproxy router cannot keep users on one color/,
    );
    assert.deepEqual(problems(service(nginx, "    sticky: { cookie: uid, setCookie: true }")), [
      "services.web.sticky.setCookie: the nginx router cannot hand out sticky cookies; set setCookie: false and have your app set the cookie, or use router: teal",
    ]);
  });

  it("names the router fields that are wrong", () => {
    assert.match(
      problems(service("{ type: nginx, configFile: /x.conf }")).join("\n"),
      /services\.web\.router\.mainConfig: is required/,
    );
    assert.match(problems(service("{ type: envoy }")).join("\n"), /services\.web\.router/);
  });
});
