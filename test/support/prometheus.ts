/** A real Prometheus for tests: scrapes one target every second, on a port it picks itself. */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { tempDir } from "./teal-process.ts";

const PROMETHEUS_BIN = "/usr/bin/prometheus";

export interface RunningPrometheus {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts Prometheus scraping `target` (host:port, at metricsPath); resolves once it is ready. */
export async function startPrometheus(target: string, metricsPath = "/metrics"): Promise<RunningPrometheus> {
  await access(PROMETHEUS_BIN).catch(() => {
    throw new Error(
      `Prometheus is not installed (${PROMETHEUS_BIN} missing): run scripts/install-test-deps.sh ` +
        "or apt-get install -y prometheus",
    );
  });
  const dir = await tempDir("teal-prometheus-");
  const config = join(dir.path, "prometheus.yml");
  await writeFile(
    config,
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: target
    metrics_path: ${metricsPath}
    static_configs: [{ targets: ["${target}"] }]
`,
  );
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir.path, "data")}`,
      "--web.listen-address=127.0.0.1:0",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  const stop = async () => {
    await stopChild(child);
    await dir.remove();
  };
  try {
    return { url: await readyAddress(child), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Prometheus logs `msg="Listening on" address=…` and `Server is ready…` on stderr, in either order
 * (2.42 logged "ready" first on a busy machine: waiting for "ready" after the address hung forever).
 */
export function readyAddress(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let address: string | undefined;
    let ready = false;
    let log = "";
    createInterface({ input: child.stderr! }).on("line", (line) => {
      log += `${line}\n`;
      address ??= /msg="Listening on" address=(\S+)/.exec(line)?.[1];
      ready ||= line.includes("Server is ready to receive web requests");
      if (ready && address) resolve(`http://${address}`);
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`prometheus exited with ${code} before ready:\n${log}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGTERM");
  await exited;
}
