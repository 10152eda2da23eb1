import path from "node:path";
import { startProcess, stopProcess, waitReady } from "../procs.ts";
import { canConnect, freePorts, repoRoot } from "../util.ts";
import type { CandidateFactory } from "./types.ts";

/** npm http-proxy in a small Node script, keep-alive Agent (maxSockets 256); switch = its admin endpoint. */
export const httpProxy: CandidateFactory = async ({ tmp, backends }) => {
  const [port, adminPort] = await freePorts(2);
  const script = path.join(repoRoot, "bench", "servers", "http-proxy.ts");
  const args = [port, adminPort, backends.bluePort, backends.greenPort, backends.sinkPort].map(String);
  const proc = startProcess("http-proxy", process.execPath, ["--import", "tsx", script, ...args], {
    cwd: repoRoot,
    logDir: tmp,
  });
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitReady(proc, "http-proxy", async () => (await fetch(`${admin}/health`)).ok && canConnect(port!));
  return {
    name: "http-proxy",
    url: `http://127.0.0.1:${port}`,
    pids: () => [proc.pid],
    hasSink: true,
    switchTo: async (color) => {
      const res = await fetch(`${admin}/switch?to=${color}`, { method: "POST" });
      await res.text();
      if (!res.ok) throw new Error(`http-proxy switch: HTTP ${res.status}`);
    },
    stop: () => stopProcess(proc),
  };
};
