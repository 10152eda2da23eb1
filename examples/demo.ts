/**
 * `npm run demo`: a blue-green switch you can watch. Starts the example app as v1 (blue) and v2
 * (green), teal in front of them, a keep-alive load loop through teal, switches blue -> green
 * -> blue -> green through the CLI while the load runs, and prints what the clients saw.
 */

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createColors } from "picocolors";
import { Agent, request } from "undici";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = join(root, "bin/teal.js");
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), "teal-demo-"));
const pc = createColors(process.stdout.isTTY === true && !("NO_COLOR" in process.env));
const say = (text: string) => console.log(`${pc.bold("==>")} ${text}`);

async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

async function startUntil(cmd: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<string> {
  const child = spawn(process.execPath, cmd, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    if (ready.test(line)) return line;
  }
  throw new Error(`${cmd.join(" ")} exited early`);
}

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [bin, ...args, "--data-dir", dir], { encoding: "utf8" }).trim();
}

async function main(): Promise<void> {
  const [bluePort, greenPort, proxyPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const app = join(root, "examples/app.mjs");
  await startUntil([app], { PORT: String(bluePort), TEAL_COLOR: "blue", TEAL_VERSION: "v1" }, /listening/);
  await startUntil([app], { PORT: String(greenPort), TEAL_COLOR: "green", TEAL_VERSION: "v2" }, /listening/);
  say(`example app v1 on blue (:${bluePort}), v2 on green (:${greenPort})`);
  const config = join(dir, "teal.yaml");
  writeFileSync(
    config,
    `proxy: { listen: "127.0.0.1:${proxyPort}", accessLog: false }\nadmin: { listen: "127.0.0.1:0" }\nservices:\n  hello:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:${bluePort}]\n    green: [http://127.0.0.1:${greenPort}]\n`,
  );
  await startUntil(
    [bin, "server", "--config", config, "--data-dir", dir],
    { TEAL_LOG_FORMAT: "json" },
    /teal listening/,
  );
  say(`teal proxy on http://127.0.0.1:${proxyPort}\n${cli("status")}`);

  const agent = new Agent({ connections: 20 });
  const seen = new Map<string, number>();
  let failed = 0;
  let running = true;
  const worker = async () => {
    while (running) {
      try {
        const res = await request(`http://127.0.0.1:${proxyPort}/`, { dispatcher: agent });
        const body = (await res.body.json()) as { version: string; color: string };
        const key = res.statusCode === 200 ? `${body.version} (${body.color})` : `HTTP ${res.statusCode}`;
        if (res.statusCode !== 200) failed++;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      } catch {
        failed++;
      }
    }
  };
  say("load loop: 20 keep-alive clients");
  const load = Promise.all(Array.from({ length: 20 }, worker));
  for (const to of ["green", "blue", "green"]) {
    await new Promise((r) => setTimeout(r, 1500));
    say(`teal switch hello --to ${to}\n${cli("switch", "hello", "--to", to)}`);
  }
  await new Promise((r) => setTimeout(r, 1500));
  running = false;
  await load;
  await agent.close();
  const total = [...seen.values()].reduce((a, b) => a + b, 0) + failed;
  say(`what the clients saw: ${[...seen].map(([k, n]) => `${n} × ${k}`).join(", ")}`);
  say(failed === 0 ? pc.green(`${total} requests, 0 failed`) : pc.red(`${total} requests, ${failed} failed`));
  process.exitCode = failed === 0 ? 0 : 1;
}

try {
  await main();
} finally {
  for (const child of children.reverse()) child.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, "exit") : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
