/** Runs `teal proxy` (a data-plane-only fleet node) as a child process, like startTeal does the server. */

import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { writeFile } from "node:fs/promises";
import { Agent, get, request } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { CLI_ARGS } from "../support/teal-process.ts";

export interface ProxyNode {
  readonly proxyUrl: string;
  readonly adminUrl: string;
  readonly logs: Record<string, unknown>[];
  /** What the node wrote to stderr so far (a crash's report). */
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `teal proxy --config <dir>/teal.yaml ARGS…`; resolves once it logs "teal proxy listening". */
export async function startProxyNode(
  configYaml: string,
  dir: string,
  args: readonly string[],
): Promise<ProxyNode> {
  const configPath = join(dir, "teal.yaml");
  await writeFile(configPath, configYaml);
  const child = spawn(process.execPath, [...CLI_ARGS, "proxy", "--config", configPath, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TEAL_LOG_FORMAT: "json" },
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = once(child, "exit");
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "teal proxy listening") resolve(entry);
      } catch {}
    });
    exited.then(([code]) => reject(new Error(`teal proxy exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    proxyUrl: `http://${ready.proxy}`,
    adminUrl: String(ready.admin),
    logs,
    stderr: () => stderr,
    async stop() {
      child.kill("SIGTERM");
      const [code] = await exited;
      return code as number | null;
    },
  };
}

/** One request on a fresh connection: the body (here, which color answered). */
export function answer(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

/** `etcdctl get --prefix` as a map of key to value, the way an operator would read it. */
export async function etcdctlGet(
  endpoints: readonly string[],
  prefix: string,
): Promise<Record<string, string>> {
  const { stdout } = await promisify(execFile)(
    "etcdctl",
    [`--endpoints=${endpoints.join(",")}`, "get", "--prefix", prefix, "-w", "json"],
    { env: { ...process.env, ETCDCTL_API: "3" } },
  );
  const body = JSON.parse(stdout) as { kvs?: Array<{ key: string; value: string }> };
  const decode = (b64: string) => Buffer.from(b64, "base64").toString();
  return Object.fromEntries((body.kvs ?? []).map((kv) => [decode(kv.key), decode(kv.value)]));
}

/** Two keep-alive clients per proxy, each sending requests back to back until stopped. */
export function keepAliveLoad(urls: readonly string[]): {
  stop(): Promise<{ ok: number; failed: string[] }>;
} {
  const agent = new Agent({ keepAlive: true, maxSockets: 2 * urls.length });
  let running = true;
  let ok = 0;
  const failed: string[] = [];
  const one = (url: string) =>
    new Promise<void>((resolve) => {
      request(url, { agent }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200) ok++;
          else failed.push(`${url}: ${res.statusCode}`);
          resolve();
        });
      })
        .on("error", (err) => {
          failed.push(`${url}: ${err.message}`);
          resolve();
        })
        .end();
    });
  const loops = urls.flatMap((url) =>
    [1, 2].map(async () => {
      while (running) await one(url);
    }),
  );
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return { ok, failed };
    },
  };
}

/** Runs `step` under keepAliveLoad(urls) and stops the load however the step ends (a failed assertion too). */
export async function underLoad<T>(
  urls: readonly string[],
  step: () => Promise<T>,
): Promise<{ value: T; ok: number; failed: string[] }> {
  const load = keepAliveLoad(urls);
  let value: T;
  try {
    value = await step();
  } catch (err) {
    await load.stop();
    throw err;
  }
  return { value, ...(await load.stop()) };
}
