/**
 * The proxy's listener at its limits, in a real `teal server`: connections refused at the
 * file-descriptor limit, and client deadlines, are logged and counted in /metrics, from the
 * proxy in the server's process and from proxy worker processes alike.
 */

import assert from "node:assert/strict";
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { get } from "../support/http.ts";
import { sendRaw } from "../support/raw-client.ts";
import { startTeal, type TealProcess, tempDir, webServiceConfig } from "../support/teal-process.ts";

async function metrics(teal: TealProcess): Promise<string> {
  const res = await fetch(`${teal.adminUrl}/metrics`, { headers: { authorization: `Bearer ${teal.token}` } });
  return res.text();
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe("the proxy's listener at its limits", () => {
  it("logs and counts connections refused at the file-descriptor limit, and goes on serving", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    // 200 open files: client connections are capped at 150, the rest left for upstreams and files.
    const teal = await startTeal(webServiceConfig(blue, green, { workers: 1 }), dir.path, {
      maxOpenFiles: 200,
    });
    const held: Socket[] = [];
    try {
      // Those over the cap are closed at once (teal holds the others open: its head timeout is 30 s).
      const port = portOf(teal.proxyUrl);
      const closes: Promise<unknown>[] = [];
      for (let i = 0; i < 200; i++) {
        const socket = connect({ host: "127.0.0.1", port }).on("error", () => {});
        held.push(socket);
        closes.push(once(socket, "close"));
      }
      await Promise.race(closes);
      const line = await eventually(
        () => teal.logs.find((l) => /refused client connections/.test(String(l.msg))),
        "the log line",
      );
      assert.equal(line.level, 40, "logged as a warning");
      for (const s of held.splice(0)) s.destroy();
      // Still serving, and /metrics counts the refusals.
      await eventually(
        async () => (await get(`${teal.proxyUrl}/`).catch(() => undefined))?.body === "blue",
        "an answer",
      );
      assert.match(await metrics(teal), /^teal_connections_refused_total [1-9]\d*$/m);
      assert.equal(teal.child.exitCode, null, "the server still runs");
    } finally {
      for (const s of held) s.destroy();
      await teal.stop();
      await Promise.all([blue.close(), green.close(), dir.remove()]);
    }
  });

  it("counts client deadlines from proxy worker processes in /metrics", async () => {
    const blue: Backend = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    const config = webServiceConfig(blue, green, { workers: 2 }).replace(
      "  workers: 2\n",
      "  workers: 2\n  timeouts: { clientBodyMs: 200 }\n",
    );
    const teal = await startTeal(config, dir.path);
    try {
      const res = await sendRaw(
        portOf(teal.proxyUrl),
        "POST / HTTP/1.1\r\nHost: web\r\nContent-Length: 100\r\n\r\nonly some of it",
      );
      assert.equal(res?.status, 408);
      assert.match(await metrics(teal), /^teal_client_timeouts_total\{stage="body"\} 1$/m);
    } finally {
      await teal.stop();
      await Promise.all([blue.close(), green.close(), dir.remove()]);
    }
  });
});
