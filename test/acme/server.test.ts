/**
 * `teal server` with proxy.tls.acme, as users run it, against a real pebble: a host pebble can
 * reach gets a certificate at start and HTTPS serves it; a host it cannot reach fails, and both
 * show in `teal status` and the JSON log. A caFile that cannot be read stops teal with the field.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect } from "node:tls";
import { type Backend, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { type Pebble, startPebble } from "../support/pebble.ts";
import { freePort } from "../support/routers.ts";
import { runCli, startTeal, type TealProcess, tempDir } from "../support/teal-process.ts";

describe("teal server with proxy.tls.acme", { timeout: 120_000 }, () => {
  let pebble: Pebble;
  let backend: Backend;
  let dir: { path: string; remove: () => Promise<void> };
  let teal: TealProcess;
  let tlsPort: number;

  const config = (httpPort: number, caFile: string) => `
proxy:
  listen: 127.0.0.1:${httpPort}
  tls:
    listen: 127.0.0.1:${tlsPort}
    acme:
      directory: ${pebble.directory}
      email: ops@app.test
      hosts: [app.test, unreachable.test]
      caFile: ${caFile}
admin:
  listen: 127.0.0.1:0
services:
  web:
    routes: [{ path: / }]
    blue: [${backend.url}]
`;

  before(async () => {
    const httpPort = await freePort();
    tlsPort = await freePort();
    pebble = await startPebble({ httpPort, hosts: ["app.test"] });
    backend = await startBackend("blue");
    dir = await tempDir("teal-acme-server-");
    teal = await startTeal(config(httpPort, pebble.caFile), dir.path);
  });

  after(async () => {
    await teal?.stop();
    await pebble.stop();
    await backend.close();
    await dir.remove();
  });

  it("orders at start, serves the certificate over HTTPS, and shows both hosts in teal status", async () => {
    const logged = (msg: string, host: string) =>
      eventually(
        () => teal.logs.find((l) => l.msg === msg && l.host === host),
        `log "${msg}" for ${host}`,
        60_000,
      );
    const issued = await logged("acme: certificate issued and served", "app.test");
    const failed = await logged("acme: order failed; retrying later", "unreachable.test");
    assert.equal(failed.retryInMs, 60_000);
    assert.match(String(failed.err), /unreachable\.test/);

    const root = await pebble.issuingRoot();
    const socket = connect({ host: "127.0.0.1", port: tlsPort, servername: "app.test", ca: root });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    assert.equal(socket.authorized, true);
    assert.equal(Date.parse(socket.getPeerCertificate().valid_to), Date.parse(String(issued.notAfter)));
    socket.destroy();

    const cli = await runCli(["status", "--admin", teal.adminUrl, "--token", teal.token]);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /certificates \(ACME\)/);
    assert.match(cli.stdout, new RegExp(`app\\.test\\s+issued\\s+expires ${String(issued.notAfter)}`));
    assert.match(cli.stdout, /unreachable\.test\s+failed 1x\s+none served yet/);
    assert.match(cli.stdout, /last error: .*unreachable\.test/);
  });

  it("stops at start naming proxy.tls.acme.caFile when it cannot be read", async () => {
    const other = await tempDir("teal-acme-bad-");
    try {
      await assert.rejects(
        startTeal(config(await freePort(), "/nonexistent/ca.pem"), other.path),
        (err: Error) => {
          assert.match(
            err.message,
            /proxy\.tls\.acme\.caFile: cannot read \/nonexistent\/ca\.pem \(ENOENT\)/,
          );
          assert.match(err.message, /exited with 2/);
          assert.doesNotMatch(err.message, /\n\s+at /);
          return true;
        },
      );
    } finally {
      await other.remove();
    }
  });
});
