// http-proxy candidate (run as its own process):
//   node --import tsx http-proxy.ts PROXYPORT ADMINPORT BLUEPORT GREENPORT SINKPORT
// Admin: POST /switch?to=blue|green flips the target variable; GET /health.
import http from "node:http";
import httpProxy from "http-proxy";

const [proxyPort, adminPort, bluePort, greenPort, sinkPort] = process.argv.slice(2).map(Number);
const targets: Record<string, string> = {
  blue: `http://127.0.0.1:${bluePort}`,
  green: `http://127.0.0.1:${greenPort}`,
};
const sink = `http://127.0.0.1:${sinkPort}`;
let live = "blue";

const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
const proxy = httpProxy.createProxyServer({ agent, xfwd: false });
proxy.on("error", (_err, _req, res) => {
  if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502);
  res.end();
});

const server = http.createServer((req, res) => {
  const target = req.url?.startsWith("/sink") ? sink : targets[live];
  proxy.web(req, res, { target });
});
server.keepAliveTimeout = 120_000;
server.requestTimeout = 0;
server.listen(proxyPort, "127.0.0.1");

const admin = http.createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://admin");
  if (req.method === "POST" && url.pathname === "/switch") {
    const to = url.searchParams.get("to") ?? "";
    if (!(to in targets)) return void res.writeHead(400).end("bad color");
    live = to;
    return void res.writeHead(200).end(JSON.stringify({ live }));
  }
  if (url.pathname === "/health") return void res.writeHead(200).end("ok");
  res.writeHead(404).end();
});
admin.listen(adminPort, "127.0.0.1");
for (const sig of ["SIGTERM", "SIGINT"] as const) process.on(sig, () => process.exit(0));
