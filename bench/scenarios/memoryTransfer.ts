import http from "node:http";
import { toMb, treeRssBytes } from "../rss.ts";

export interface TransferResult {
  bytes: number;
  seconds: number;
  peakRssBytes: number;
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** Sample the RSS of the process tree every 100 ms while `work` runs; return the peak. */
export async function withRssPeak<T>(pids: number[], work: () => Promise<T>): Promise<[T, number]> {
  let peak = treeRssBytes(pids);
  const timer = setInterval(() => {
    peak = Math.max(peak, treeRssBytes(pids));
  }, 100);
  try {
    const r = await work();
    peak = Math.max(peak, treeRssBytes(pids));
    return [r, peak];
  } finally {
    clearInterval(timer);
  }
}

/** Streamed upload of `total` bytes (a repeated 64 KiB buffer, honouring backpressure). */
function upload(url: string, total: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}/sink/upload`, {
      method: "PUT",
      agent: false,
      headers: { "content-type": "application/octet-stream", "content-length": String(total) },
    });
    const timer = setTimeout(() => req.destroy(new Error("upload timeout")), timeoutMs);
    req.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => {
        body += d;
      });
      res.once("end", () => {
        clearTimeout(timer);
        if (res.statusCode !== 200)
          reject(new Error(`upload: HTTP ${res.statusCode} ${body.slice(0, 200).trim()}`));
        else if (Number(body) !== total) reject(new Error(`upload: sink counted ${body} of ${total} bytes`));
        else resolve(total);
      });
    });
    let left = total;
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, CHUNK.length);
        left -= n;
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n)))
          return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

/** Streamed download of `total` bytes from the sink, counted and discarded. */
function download(url: string, total: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${url}/sink/download?bytes=${total}`, { agent: false }, (res) => {
      let bytes = 0;
      res.on("data", (d: Buffer) => {
        bytes += d.length;
      });
      res.once("error", reject);
      res.once("end", () => {
        clearTimeout(timer);
        if (res.statusCode !== 200) reject(new Error(`download: HTTP ${res.statusCode}`));
        else if (bytes !== total) reject(new Error(`download: got ${bytes} of ${total} bytes`));
        else resolve(bytes);
      });
    });
    const timer = setTimeout(() => req.destroy(new Error("download timeout")), timeoutMs);
    req.once("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function transfer(
  kind: "upload" | "download",
  url: string,
  pids: number[],
  total: number,
): Promise<TransferResult> {
  const timeoutMs = Math.max(60_000, (total / (5 * 1024 * 1024)) * 1000); // bounded: >= 5 MiB/s or fail
  const t0 = performance.now();
  const [bytes, peak] = await withRssPeak(pids, () =>
    kind === "upload" ? upload(url, total, timeoutMs) : download(url, total, timeoutMs),
  );
  return { bytes, seconds: (performance.now() - t0) / 1000, peakRssBytes: peak };
}

export const mibPerSec = (r: TransferResult) => toMb(r.bytes) / r.seconds;
