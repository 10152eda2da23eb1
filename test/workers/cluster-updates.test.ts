import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { Client } from "undici";
import { startBackend } from "../support/backends.ts";
import { eventually } from "../support/eventually.ts";
import { api, startTeal, tempDir } from "../support/teal-process.ts";

const SERVICES = 100;

function config(blue: string, green: string): string {
  let yaml = "proxy:\n  listen: 127.0.0.1:0\n  workers: 2\nadmin:\n  listen: 127.0.0.1:0\nservices:\n";
  for (let i = 0; i < SERVICES; i++) {
    yaml += `  s${i}:\n    routes: [{ host: s${i}.test, path: / }]\n    blue: [${blue}]\n    green: [${green}]\n`;
  }
  return yaml;
}

function workersOf(pid: number): number[] {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return children === "" ? [] : children.split(/\s+/).map(Number);
}

describe("spec changes across two proxy workers", () => {
  it("a switch of one service among 100 is in force in both workers, also in a worker started since", async () => {
    const blue = await startBackend("blue");
    const green = await startBackend("green");
    const dir = await tempDir();
    const teal = await startTeal(config(blue.url, green.url), dir.path);
    const probe = new Client(teal.proxyUrl);
    // A fresh connection each time: the two workers take turns accepting them.
    const colorsOf = async (host: string): Promise<Set<string>> => {
      const seen = new Set<string>();
      for (let i = 0; i < 12; i++) {
        const res = await probe.request({ method: "GET", path: "/", headers: { host }, reset: true });
        seen.add(await res.body.text());
      }
      return seen;
    };
    try {
      assert.equal((await api(teal, "POST", "/v1/services/s7/switch", { to: "green" })).status, 200);
      assert.deepEqual(await colorsOf("s7.test"), new Set(["green"]));
      assert.deepEqual(await colorsOf("s8.test"), new Set(["blue"]));

      const [victim] = workersOf(teal.child.pid!);
      process.kill(victim!, "SIGKILL");
      await eventually(
        () => workersOf(teal.child.pid!).filter((p) => p !== victim).length === 2,
        "a replacement proxy worker",
      );
      assert.equal((await api(teal, "POST", "/v1/services/s7/switch", { to: "blue" })).status, 200);
      assert.equal((await api(teal, "POST", "/v1/services/s9/switch", { to: "green" })).status, 200);
      assert.deepEqual(await colorsOf("s7.test"), new Set(["blue"]));
      assert.deepEqual(await colorsOf("s9.test"), new Set(["green"]));
      assert.deepEqual(await colorsOf("s8.test"), new Set(["blue"]));
    } finally {
      await probe.close();
      await teal.stop();
      await Promise.all([blue.close(), green.close(), dir.remove()]);
    }
  });
});
