/**
 * `npm run demo`: a blue-green deployment you can watch. Starts `teal server` with the example
 * app as a managed service, deploys v1 (it lands on blue), starts a keep-alive load loop through
 * teal, deploys v2 to green with the CLI while the load runs, and prints what the clients saw.
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
// The sources through tsx, never a possibly stale dist/ build.
const teal = ["--import", "tsx", join(root, "src/cli/main.ts")];
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
  return execFileSync(process.execPath, [...teal, ...args, "--data-dir", dir], { encoding: "utf8" }).trim();
}

function cliLive(...args: string[]): Promise<number> {
  const child = spawn(process.execPath, [...teal, ...args, "--data-dir", dir], { stdio: "inherit" });
  return once(child, "exit").then(([code]) => code as number);
}

async function main(): Promise<void> {
  const proxyPort = await freePort();
  const app = join(root, "examples/app.mjs");
  const config = join(dir, "teal.yaml");
  writeFileSync(
    config,
    `proxy: { listen: "127.0.0.1:${proxyPort}", accessLog: false }
admin: { listen: "127.0.0.1:0" }
services:
  hello:
    routes: [{ path: / }]
    runtime: { type: process, command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(app)}] }
    health: { intervalMs: 200, versionField: version }
    deployment: { scaleDownDelayMs: 30000 }
`,
  );
  await startUntil(
    [...teal, "server", "--config", config, "--data-dir", dir],
    { TEAL_LOG_FORMAT: "json" },
    /teal listening/,
  );
  say(`teal server: proxy on http://127.0.0.1:${proxyPort}, the example app as service "hello"`);
  say("teal deploy hello --version v1");
  if ((await cliLive("deploy", "hello", "--version", "v1")) !== 0) throw new Error("deploying v1 failed");

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
  say("load loop: 20 keep-alive clients through teal");
  const load = Promise.all(Array.from({ length: 20 }, worker));
  await new Promise((r) => setTimeout(r, 1000));
  say("teal deploy hello --version v2   (while the load runs)");
  const deployed = await cliLive("deploy", "hello", "--version", "v2");
  await new Promise((r) => setTimeout(r, 1000));
  running = false;
  await load;
  await agent.close();
  say(`teal status\n${cli("status")}`);
  const total = [...seen.values()].reduce((a, b) => a + b, 0) + failed;
  say(`what the clients saw: ${[...seen].map(([k, n]) => `${n} × ${k}`).join(", ")}`);
  say(failed === 0 ? pc.green(`${total} requests, 0 failed`) : pc.red(`${total} requests, ${failed} failed`));
  say("teal rollback hello would switch back to v1 at once: blue stays warm for 30 s");
  process.exitCode = failed === 0 && deployed === 0 ? 0 : 1;
}

try {
  await main();
} finally {
  for (const child of children.reverse()) child.kill("SIGTERM");
  await Promise.all(children.map((c) => (c.exitCode === null ? once(c, "exit") : undefined)));
  rmSync(dir, { recursive: true, force: true });
}
