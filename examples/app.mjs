#!/usr/bin/env node
// A tiny service like the Flask app of the common blue-green tutorials: it answers with its
// color and version, and /health says it is up. Usage: PORT=9001 TEAL_COLOR=blue TEAL_VERSION=v1 node examples/app.mjs
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 9001);
const color = process.env.TEAL_COLOR ?? process.env.DEPLOYMENT_COLOR ?? "blue";
const version = process.env.TEAL_VERSION ?? "v1";

const server = createServer((req, res) => {
  const body =
    req.url === "/health"
      ? JSON.stringify({ status: "ok", color, version })
      : JSON.stringify({ message: `hello from ${color}`, color, version, path: req.url });
  res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () =>
  console.log(`example app ${version} (${color}) listening on 127.0.0.1:${port}`),
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
