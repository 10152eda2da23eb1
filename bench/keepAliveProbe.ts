/** One GET on a keep-alive agent's open connection, telling which color answered and on which socket. */
import http from "node:http";
import type { Socket } from "node:net";

export interface Probe {
  color: string;
  socket: Socket;
}

/** A keep-alive agent with one connection: every probe through it reuses the same open socket. */
export const oneConnectionAgent = () => new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1 });

/** One GET `${url}/` through `agent` (with `host` as the Host header if given); resolves at the response's end. */
export function probe(url: string, agent: http.Agent, host?: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    const headers = host ? { host } : undefined;
    const req = http.get(`${url}/`, { agent, timeout: 5000, headers }, (res) => {
      const socket = res.socket;
      res.resume();
      res.once("end", () => {
        if (res.statusCode !== 200) reject(new Error(`probe: HTTP ${res.statusCode}`));
        else resolve({ color: String(res.headers["x-color"] ?? ""), socket });
      });
      res.once("error", reject);
    });
    req.once("timeout", () => req.destroy(new Error("probe timeout")));
    req.once("error", reject);
  });
}
