// Sink backend for the memory scenario (run as its own process: `node --import tsx sink.ts PORT`).
//   PUT/POST /sink/...            -> discards the body, answers 200 with the byte count
//   GET /sink/download?bytes=N    -> streams N zero bytes with backpressure
import http from "node:http";

const port = Number(process.argv[2]);
const CHUNK = Buffer.alloc(64 * 1024);
const MAX_BYTES = 64 * 1024 ** 3;

function download(res: http.ServerResponse, total: number): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(total) });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      const ok = res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n));
      if (!ok) return void res.once("drain", pump);
    }
    res.end();
  };
  res.once("close", () => {
    left = 0;
  });
  pump();
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://sink");
  if (req.method === "GET" && url.pathname.endsWith("/download")) {
    const n = Math.min(Math.max(Number(url.searchParams.get("bytes") ?? 0), 0), MAX_BYTES);
    return download(res, Math.floor(n));
  }
  let bytes = 0;
  req.on("data", (d: Buffer) => {
    bytes += d.length;
  });
  req.on("end", () => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end(String(bytes));
  });
  req.on("error", () => res.destroy());
});
server.keepAliveTimeout = 120_000;
server.requestTimeout = 0;
server.listen(port, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));
