import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseConfigText } from "../../src/config/load.ts";
import { effectiveHealth } from "../../src/config/schema.ts";
import { configWarnings } from "../../src/config/warnings.ts";
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
    [
      "a route path that smuggles nginx syntax",
      "services:\n  web:\n    routes: [{path: '/beta { proxy_pass http://teal_web_green; } location /beta-x'}]\n",
      "services.web.routes[0].path: must be a URL path of letters, digits and . _ ~ % / - only",
    ],
    [
      "a route path with a semicolon",
      "services:\n  web:\n    routes: [{path: '/a;b'}]\n",
      "services.web.routes[0].path: must be a URL path of letters, digits",
    ],
    [
      "a route path with a regex or variable character",
      "services:\n  web:\n    routes: [{path: '/a$1'}]\n",
      "services.web.routes[0].path: must be a URL path of letters, digits",
    ],
    [
      "a route host with an empty label",
      "services:\n  web:\n    routes: [{host: 'a..example.com', path: /}]\n",
      "services.web.routes[0].host: must be a host name like app.example.com",
    ],
    [
      "an endpoint host with a semicolon",
      'services:\n  web:\n    routes: [{path: /}]\n    blue: ["http://a;b:9001"]\n',
      "services.web.blue[0]: must have a host name (letters, digits, dots, hyphens, underscores), an IPv4 address or a bracketed IPv6 address",
    ],
    [
      "an endpoint host with braces and a dollar",
      'services:\n  web:\n    routes: [{path: /}]\n    green: ["http://a{b}$c:9001"]\n',
      "services.web.green[0]: must have a host name",
    ],
    [
      "an endpoint host with an encoded semicolon",
      'services:\n  web:\n    routes: [{path: /}]\n    blue: ["http://a%3bb:9001"]\n',
      "services.web.blue[0]: must have a host name",
    ],
    [
      "an endpoint with a fragment",
      'services:\n  web:\n    routes: [{path: /}]\n    blue: ["http://a#b:9001"]\n',
      "services.web.blue[0]: must be a plain http:// URL",
    ],
    [
      "a docker image with an uppercase repository",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: 'MyApp:v1', port: 3000 }\n",
      'services.web.runtime.image: must be an image reference like "myapp:1.4"',
    ],
    [
      "a docker image tag starting with a dot",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: 'app:.v1', port: 3000 }\n",
      'services.web.runtime.image: must be an image reference like "myapp:1.4"',
    ],
    [
      "a docker image digest that is not hex",
      "services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: 'app@sha256:xyz', port: 3000 }\n",
      'services.web.runtime.image: must be an image reference like "myapp:1.4"',
    ],
    ...["__proto__", "constructor", "prototype"].map((name): [string, string, string] => [
      `a service named ${name}`,
      `services:\n  ${name}:\n    routes: [{path: /}]\n    blue: [http://127.0.0.1:9001]\n`,
      `services.${name}: invalid name: "${name}" is reserved`,
    ]),
    [
      "a canary weight over 100, at the step",
      `services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: node app.js }\n    strategy:\n      canary:\n        steps: [{ setWeight: 10 }, { pause: {} }, { setWeight: 150 }]\n`,
      "services.web.strategy.canary.steps[2].setWeight: must be <= 100",
    ],
    [
      "a negative canary weight, at the step",
      `services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: node app.js }\n    strategy: { canary: { steps: [{ setWeight: -5 }] } }\n`,
      "services.web.strategy.canary.steps[0].setWeight: must be >= 0",
    ],
    [
      "a canary step of no known form, at the step, naming the forms",
      `services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: node app.js }\n    strategy: { canary: { steps: [{ setWeight: 10 }, { wait: 5 }] } }\n`,
      "services.web.strategy.canary.steps[1]: must be { setWeight: N }, { pause: { duration } } or { analysis: { duration } }",
    ],
    [
      "a strategy of two forms at once, naming the forms",
      `services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: process, command: node app.js }\n    strategy: { canary: { steps: [{ setWeight: 10 }] }, preset: AllAtOnce }\n`,
      "services.web.strategy: must be { blueGreen: {…} }, { canary: { steps: […] } } or { preset: Name }",
    ],
    ...["half", "0", "2.5", "1001"].map((quorum): [string, string, string] => [
      `a fleet quorum of ${quorum}`,
      `fleet:\n  quorum: ${quorum}\nservices: {}\n`,
      "fleet.quorum: must be all (every live node) or a whole number of nodes from 1 to 1000",
    ]),
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

  it("takes fleet.quorum as all (the default) or a number of nodes", () => {
    assert.equal(parseConfigText("services: {}\n").fleet.quorum, "all");
    assert.equal(parseConfigText("fleet: { quorum: all }\nservices: {}\n").fleet.quorum, "all");
    assert.equal(parseConfigText("fleet: { quorum: 2 }\nservices: {}\n").fleet.quorum, 2);
  });

  it("accepts route paths and hosts of the safe charset", () => {
    const web = parseConfigText(
      "services:\n  web:\n    routes: [{ path: /api/v2.1_x~y-z%20/ }, { host: '*.Example.com', path: / }, { host: localhost }]\n",
    ).services.web!;
    assert.deepEqual(
      web.routes.map((r) => [r.host, r.path]),
      [
        [undefined, "/api/v2.1_x~y-z%20/"],
        ["*.example.com", "/"],
        ["localhost", "/"],
      ],
    );
  });

  it("accepts endpoints by host name, container name, IPv4 and bracketed IPv6, with or without a port", () => {
    const web = parseConfigText(
      "services:\n  web:\n    routes: [{ path: / }]\n    blue: [http://app-1.internal:9001, http://10.0.0.5, http://app_1:3000]\n    green: ['http://[::1]:9002']\n",
    ).services.web!;
    assert.deepEqual(
      [...web.blue, ...web.green],
      ["http://app-1.internal:9001", "http://10.0.0.5", "http://app_1:3000", "http://[::1]:9002"],
    );
  });

  const images = [
    "app",
    "app:V2",
    "app:1.0-SNAPSHOT",
    "app:latest_Build.7",
    "team/app:{version}",
    "registry.example.com/team/app:{version}",
    "localhost:5000/app:v1",
    "app-{version}:x",
    "my_app__x/sub-part:v1",
    `app@sha256:${"a".repeat(64)}`,
    `app:v1@sha256:${"0f".repeat(32)}`,
  ];
  for (const image of images) {
    it(`accepts the docker image ${image}`, () => {
      const web = parseConfigText(
        `services:\n  web:\n    routes: [{path: /}]\n    runtime: { type: docker, image: '${image}', port: 3000 }\n`,
      ).services.web!;
      assert.equal(web.runtime.type === "docker" && web.runtime.image, image);
    });
  }

  it("reports every problem at once, not just the first", () => {
    assert.equal(
      problems("proxy:\n  listen: x\nservices:\n  web:\n    routes: []\n    pauseTimeoutMs: 0\n").length,
      3,
    );
  });

  it("refuses a YAML alias bomb as invalid config, not an internal error", () => {
    let yaml = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (const [prev, name] of ["ab", "bc", "cd", "de", "ef", "fg", "gh", "hi"]) {
      yaml += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    }
    assert.throws(
      () => parseConfigText(yaml),
      (err: unknown) => {
        assert.ok(isTealError(err, "CONFIG_INVALID"), String(err));
        assert.match(err.message, /YAML aliases expand too far/);
        return true;
      },
    );
  });

  it("warns about a config without services, and about an admin API off loopback", () => {
    const warnings = (yaml: string) => configWarnings(parseConfigText(yaml)).map((w) => w.path);
    const web = "services:\n  web:\n    routes: [{path: /}]\n    blue: [http://127.0.0.1:9001]\n";
    assert.deepEqual(warnings(web), []);
    assert.deepEqual(warnings("proxy: { workers: 1 }\n"), ["services"]);
    for (const listen of ["127.0.0.1:7070", "127.0.0.2:0", "localhost:7070", "'[::1]:7070'"]) {
      assert.deepEqual(warnings(`admin: { listen: ${listen} }\n${web}`), [], listen);
    }
    for (const listen of [
      "0.0.0.0:7070",
      "10.0.0.5:7070",
      "'[::]:7070'",
      "admin.example.com:7070",
      "':7070'",
    ]) {
      assert.deepEqual(warnings(`admin: { listen: ${listen} }\n${web}`), ["admin.listen"], listen);
    }
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

  const nginxAt = (listen: string, file = "/etc/nginx/teal/web.conf") =>
    `{ type: nginx, configFile: ${file}, mainConfig: /etc/nginx/nginx.conf, listen: '${listen}' }`;
  const nginx = nginxAt("127.0.0.1:8081");

  const routerCases: [string, string, string][] = [
    [
      "an override header that no nginx variable can spell",
      service(nginx, "    override: { header: x.teal }"),
      'services.web.override.header: the nginx router reads this header through a $http_ variable, which cannot spell "x.teal": use a header name of letters, digits and - only (e.g. x-teal-color), or use router: teal',
    ],
    [
      "an override header with # on nginx",
      service(nginx, "    override: { header: 'x#a' }"),
      "services.web.override.header: the nginx router reads this header through a $http_ variable",
    ],
    [
      "a sticky header with a dot on nginx",
      service(nginx, "    sticky: { header: x.user }"),
      "services.web.sticky.header: the nginx router reads this header through a $http_ variable",
    ],
    [
      "a sticky cookie with a hyphen on nginx",
      service(nginx, "    sticky: { cookie: my-session }"),
      'services.web.sticky.cookie: the nginx router reads this cookie through a $cookie_ variable, which cannot spell "my-session": use a cookie name of letters, digits and _ only',
    ],
    [
      "an nginx configFile with a semicolon",
      service(
        "{ type: nginx, configFile: '/etc/x;y.conf', mainConfig: /etc/nginx/nginx.conf, listen: 127.0.0.1:8081 }",
      ),
      "services.web.router.configFile: must be a file path without spaces or any of",
    ],
    [
      "an nginx accessLog with a space and a brace",
      service(
        "{ type: nginx, configFile: /x.conf, mainConfig: /etc/nginx/nginx.conf, listen: 127.0.0.1:8081, accessLog: '/var/log/a b{.log' }",
      ),
      "services.web.router.accessLog: must be a file path without spaces",
    ],
    [
      "an nginx prefix with a dollar",
      service(
        "{ type: nginx, configFile: /x.conf, mainConfig: /etc/nginx/nginx.conf, listen: 127.0.0.1:8081, prefix: '/opt/$x' }",
      ),
      "services.web.router.prefix: must be a file path without spaces",
    ],
    [
      "an nginx mainConfig with a quote",
      service("{ type: nginx, configFile: /x.conf, mainConfig: '/etc/\"n.conf', listen: 127.0.0.1:8081 }"),
      "services.web.router.mainConfig: must be a file path without spaces",
    ],
    [
      "an nginx listen port out of range",
      service(nginxAt("127.0.0.1:70000")),
      "services.web.router.listen: port must be 1..65535",
    ],
    [
      "an nginx listen port 0",
      service(nginxAt("127.0.0.1:0")),
      "services.web.router.listen: port must be 1..65535",
    ],
    [
      "a haproxy socket that is neither a path nor HOST:PORT",
      service("{ type: haproxy, socket: admin.sock, backend: web }", "    override: false"),
      "services.web.router.socket: must be a unix socket path containing a / (e.g. /run/haproxy/admin.sock or ./admin.sock) or HOST:PORT",
    ],
    [
      "a haproxy socket port out of range",
      service("{ type: haproxy, socket: '127.0.0.1:99999', backend: web }", "    override: false"),
      "services.web.router.socket: must be a unix socket path containing a /",
    ],
    [
      "a haproxy stateFile with a hash",
      service(
        `{ type: haproxy, socket: /run/h.sock, backend: web, stateFile: '/var/x#y' }`,
        "    override: false",
      ),
      "services.web.router.stateFile: must be a file path without spaces",
    ],
    [
      "a host name endpoint on haproxy",
      `services:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9001, http://app.internal:9001]\n    override: false\n    router: ${haproxy}\n`,
      'services.web.blue[1]: the haproxy router sets server addresses through its runtime API, which takes an IP address, not the host name "app.internal": write the IP, e.g. http://10.0.0.5:9001 or http://[::1]:9001, or use router: teal',
    ],
  ];
  for (const [what, yaml, expected] of routerCases) {
    it(`rejects ${what}, naming the field`, () => {
      const found = problems(yaml);
      assert.ok(
        found.some((p) => p.startsWith(expected)),
        `expected "${expected}" in ${JSON.stringify(found)}`,
      );
    });
  }

  it("accepts nginx names its variables can spell, socket HOST:PORT and IP endpoints on haproxy", () => {
    assert.doesNotThrow(() =>
      parseConfigText(
        service(nginx, "    override: { header: X-Teal-Color }\n    sticky: { cookie: my_Session }"),
      ),
    );
    assert.doesNotThrow(() => parseConfigText(service(nginx, "    sticky: { header: x-user-id }")));
    // teal's own proxy reads any header or cookie name.
    assert.doesNotThrow(() => parseConfigText(service("teal", "    sticky: { cookie: my-session.v2 }")));
    assert.doesNotThrow(() =>
      parseConfigText(
        `services:\n  web:\n    routes: [{ path: / }]\n    blue: ['http://[::1]:9001']\n    green: [http://10.0.0.5]\n    override: false\n    router: { type: haproxy, socket: '127.0.0.1:9999', backend: web }\n`,
      ),
    );
    assert.doesNotThrow(() =>
      parseConfigText(
        service("{ type: haproxy, socket: ./run/admin.sock, backend: web }", "    override: false"),
      ),
    );
  });

  const two = (a: string, b: string, hostA = "", hostB = "") => `
services:
  web:
    routes: [{ path: /${hostA} }]
    blue: [http://127.0.0.1:9001]
    router: ${a}
  web2:
    routes: [{ path: /${hostB} }]
    blue: [http://127.0.0.1:9002]
    router: ${b}
`;

  it("refuses two nginx-routed services on the same listen and host, or in the same file", () => {
    const other = "/etc/nginx/teal/web2.conf";
    assert.deepEqual(problems(two(nginx, nginxAt("127.0.0.1:8081", other))), [
      "services.web2.router.listen: service web is already served by nginx on 127.0.0.1:8081 for any host: give each service its own listen address or its own routes[].host",
    ]);
    const hosts = two(
      nginx,
      nginxAt("127.0.0.1:8081", other),
      ", host: a.example.com",
      ", host: A.example.com",
    );
    assert.match(problems(hosts).join("\n"), /services\.web2\.router\.listen: .* for host a\.example\.com/);
    assert.deepEqual(problems(two(nginx, nginxAt("127.0.0.1:8082"))), [
      "services.web2.router.configFile: service web already uses /etc/nginx/teal/web.conf: give each nginx-routed service its own configFile (and accessLog)",
    ]);
    // Their own listen, or their own host: fine.
    assert.doesNotThrow(() => parseConfigText(two(nginx, nginxAt("127.0.0.1:8082", other))));
    assert.doesNotThrow(() =>
      parseConfigText(
        two(nginx, nginxAt("127.0.0.1:8081", other), ", host: a.example.com", ", host: b.example.com"),
      ),
    );
  });

  it("names the router fields that are wrong", () => {
    assert.match(
      problems(service("{ type: nginx, configFile: /x.conf }")).join("\n"),
      /services\.web\.router\.mainConfig: is required/,
    );
    assert.match(problems(service("{ type: envoy }")).join("\n"), /services\.web\.router/);
  });
});
