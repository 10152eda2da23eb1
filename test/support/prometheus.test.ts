/** The test Prometheus helper: found ready whatever order Prometheus logs its two lines in. */

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { it } from "node:test";
import { readyAddress } from "./prometheus.ts";

// A process that logs as Prometheus 2.42 did on a busy machine, "ready" before "Listening on",
// then stays up like a server.
const LOG = [
  'ts=2026-12-07T04:51:02.147Z caller=main.go:973 level=info msg="Server is ready to receive web requests."',
  'ts=2026-12-07T04:51:02.165Z caller=tls_config.go:232 level=info component=web msg="Listening on" address=127.0.0.1:41973',
];

it("finds Prometheus ready when it logs 'ready' before its address", { timeout: 20_000 }, async () => {
  const child = spawn(
    process.execPath,
    ["-e", `console.error(${JSON.stringify(LOG.join("\n"))}); setInterval(() => {}, 1000);`],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  try {
    assert.equal(await readyAddress(child), "http://127.0.0.1:41973");
  } finally {
    child.kill("SIGKILL");
    await once(child, "exit");
  }
});
