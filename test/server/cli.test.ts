import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { once } from "node:events";
import { readFile, stat, writeFile } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { type Backend, startBackend } from "../support/backends.ts";
import { get } from "../support/http.ts";
import {
  processServiceConfig,
  runCli,
  startTeal,
  TEAL_BIN,
  type TealProcess,
  tempDir,
  webServiceConfig,
} from "../support/teal-process.ts";

const configFor = (blue: Backend, green: Backend) =>
  webServiceConfig(blue, green, { service: "    deployment: { drainTimeoutMs: 2000 }" });

describe("teal CLI against a running server", () => {
  let blue: Backend;
  let green: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  const cli = (...args: string[]) => runCli([...args, "--data-dir", dir.path]);

  before(async () => {
    blue = await startBackend("blue");
    green = await startBackend("green");
    dir = await tempDir();
    teal = await startTeal(configFor(blue, green), dir.path);
  });
  after(async () => {
    await teal.stop();
    await Promise.all([blue.close(), green.close(), dir.remove()]);
  });

  it("stores the admin token with mode 0600", async () => {
    assert.equal((await stat(join(dir.path, "admin.token"))).mode & 0o777, 0o600);
  });

  it("shows status as text and as JSON", async () => {
    const text = await cli("status");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /web\s+live blue\s+split blue 100% \/ green 0%/);
    const json = await cli("status", "--json");
    const status = JSON.parse(json.stdout);
    assert.equal(status.services[0].routing.live, "blue");
    assert.equal(status.services[0].endpoints.length, 2);
  });

  it("switches, waits for the drain, and the proxy serves the new color", async () => {
    const r = await cli("switch", "web", "--to", "green");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /live blue → green/);
    assert.match(r.stdout, /blue drained/);
    assert.equal((await get(`${teal.proxyUrl}/`)).body, "green");
    const back = await cli("switch", "web", "--json", "--no-wait");
    assert.equal(JSON.parse(back.stdout).routing.live, "blue");
    assert.equal((await get(`${teal.proxyUrl}/`)).body, "blue");
  });

  it("sets a split and reports it", async () => {
    const r = await cli("split", "web", "--green", "25", "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).routing.greenPercent, 25);
    await cli("split", "web", "--green", "0");
  });

  it("turns maintenance on and off", async () => {
    assert.equal((await cli("maintenance", "web", "on")).code, 0);
    assert.equal((await get(`${teal.proxyUrl}/`)).status, 503);
    assert.equal((await cli("maintenance", "web", "off")).code, 0);
    assert.equal((await get(`${teal.proxyUrl}/`)).status, 200);
  });

  it("pauses and resumes a service", async () => {
    assert.equal((await cli("pause", "web")).code, 0);
    const held = get(`${teal.proxyUrl}/`);
    const resumed = await cli("resume", "web");
    assert.equal(resumed.code, 0);
    assert.equal((await held).status, 200);
  });

  it("rejects bad input with a clear message and exit code 2, without a stack trace", async () => {
    const r = await cli("split", "web", "--green", "130");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--green must be a whole number from 0 to 100/);
    assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    const m = await cli("maintenance", "web", "maybe");
    assert.equal(m.code, 2);
    assert.match(m.stderr, /must be "on" or "off"/);
    const unknown = await cli("frobnicate");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command/);
  });

  it("names the known services when a service does not exist, exit code 1", async () => {
    const r = await cli("switch", "shop");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no service named "shop" \(known services: web\)/);
  });

  it("refuses a wrong token with UNAUTHORIZED", async () => {
    const r = await cli("status", "--token", "nope", "--json");
    assert.equal(r.code, 1);
    assert.equal(JSON.parse(r.stdout).error.code, "UNAUTHORIZED");
  });

  it("says when no server is reachable, exit code 3", async () => {
    const r = await runCli(["status", "--admin", "http://127.0.0.1:1"]);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /cannot reach the teal server at http:\/\/127.0.0.1:1/);
  });

  it("prints help", async () => {
    const r = await runCli(["--help"]);
    assert.equal(r.code, 0);
    for (const cmd of ["server", "status", "switch", "split", "pause", "resume", "maintenance", "validate"]) {
      assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
    }
  });
});

describe("the installed teal command (bin/teal.js)", () => {
  it("runs through its own shebang, and serves with V8's young generation capped at 4 MiB per semi-space", async () => {
    const version = await promisify(execFile)(TEAL_BIN, ["--version"]);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
    const [blue, green] = [await startBackend("blue"), await startBackend("green")];
    const dir = await tempDir();
    const teal = await startTeal(configFor(blue, green), dir.path, { bin: true });
    try {
      const argv = (await readFile(`/proc/${teal.child.pid}/cmdline`, "utf8")).split("\0");
      assert.ok(argv.includes("--max-semi-space-size=4"), argv.join(" "));
      assert.equal((await get(`${teal.proxyUrl}/`)).body, "blue");
    } finally {
      await teal.stop();
      await Promise.all([blue.close(), green.close(), dir.remove()]);
    }
  });
});

describe("teal validate and server start-up errors", () => {
  it("validates a good config and rejects a bad one naming the field, exit code 2", async () => {
    const dir = await tempDir();
    const good = join(dir.path, "good.yaml");
    const bad = join(dir.path, "bad.yaml");
    const { writeFile } = await import("node:fs/promises");
    await writeFile(good, "services:\n  web:\n    routes: [{path: /}]\n    blue: [http://127.0.0.1:9001]\n");
    await writeFile(
      bad,
      "services:\n  web:\n    routes: [{path: /}]\n    deployment: { drainTimeoutMs: -1 }\n",
    );
    const ok = await runCli(["validate", "--config", good]);
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /valid \(1 service: web\)/);
    for (const command of ["validate", "server"]) {
      const r = await runCli([command, "--config", bad, "--data-dir", dir.path]);
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /services\.web\.deployment\.drainTimeoutMs: must be > 0/);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    }
    const busy = createServer().listen(0, "127.0.0.1");
    await once(busy, "listening");
    const port = (busy.address() as AddressInfo).port;
    const taken = join(dir.path, "taken.yaml");
    await writeFile(
      taken,
      `proxy: { listen: "127.0.0.1:0", workers: 1 }\nadmin: { listen: "127.0.0.1:${port}" }\n`,
    );
    // The server must exit (not hang with its proxy still listening) and name the field.
    const inUse = await runCli(["server", "--config", taken, "--data-dir", join(dir.path, "data")]);
    busy.close();
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, new RegExp(`admin.listen: 127.0.0.1:${port} is already in use`));
    const missing = await runCli(["validate", "--config", join(dir.path, "nope.yaml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read config file/);
    await dir.remove();
  });
  it("prints the start-up warnings of a valid config and still exits 0", async () => {
    const dir = await tempDir();
    try {
      const path = join(dir.path, "teal.yaml");
      await writeFile(
        path,
        'proxy: { listen: "127.0.0.1:8080", trustForwardedFrom: [127.0.0.1] }\n' +
          "services:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9001]\n",
      );
      const r = await runCli(["validate", "--config", path]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /is valid/);
      assert.doesNotMatch(r.stdout, /warning|\[object Object\]/, "warnings go to stderr, once");
      assert.match(
        r.stderr,
        /warning: proxy\.trustForwardedFrom: deprecated: rename it to proxy\.trustedProxies/,
      );
    } finally {
      await dir.remove();
    }
  });
});

describe("teal status of a managed service", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  const cli = (...args: string[]) => runCli([...args, "--data-dir", dir.path]);

  before(async () => {
    dir = await tempDir();
    teal = await startTeal(processServiceConfig(), dir.path);
  });
  after(async () => {
    await teal.stop();
    await dir.remove();
  });

  it("says nothing is deployed yet, not LIVE COLOR DOWN, until the first deploy", async () => {
    const text = await cli("status");
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /nothing deployed yet \(teal deploy web --version …\)/);
    assert.doesNotMatch(text.stdout, /LIVE COLOR DOWN/);
    const json = JSON.parse((await cli("status", "--json")).stdout);
    assert.equal(json.services[0].nothingDeployed, true);
    assert.deepEqual(json.services[0].alerts, []);

    const deployed = await cli("deploy", "web", "--version", "v1");
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    const after = await cli("status");
    assert.doesNotMatch(after.stdout, /nothing deployed yet/);
    assert.match(after.stdout, /blue\s+v1\s+live\s+running ready/);
    const afterJson = JSON.parse((await cli("status", "--json")).stdout);
    assert.equal(afterJson.services[0].nothingDeployed, false);
  });
});
