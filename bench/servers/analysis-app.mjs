#!/usr/bin/env node
// The app of the bench's analysis scenario: one version of a service, whose behaviour comes from
// its environment (teal passes a deployment's env to its instances):
//   BENCH_DELAY_MS=n        every answer (not /health) waits n ms on a timer: real waiting, not CPU
//   BENCH_ERROR_SHARE=x     that share of answers (not /health) is a 500, spread evenly (0.05 = 1 in 20)
//   BENCH_ERRORS_ON_SIGNAL=1  the errors start only once POST /__bench/start-errors arrives (the
//                           bench sends it when it sees the version promoted to all traffic)
//   BENCH_BAD=all           every answer counts as bad (a slower version: its first answer is the first bad one)
//   BENCH_MARK_FILE=path    the wall-clock ms of the first bad answer is written there, once
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";

const port = Number(process.env.PORT ?? 9001);
const color = process.env.TEAL_COLOR ?? "blue";
const version = process.env.TEAL_VERSION ?? "v1";
const delayMs = Number(process.env.BENCH_DELAY_MS ?? 0);
const errorShare = Number(process.env.BENCH_ERROR_SHARE ?? 0);
const allBad = process.env.BENCH_BAD === "all";
const markFile = process.env.BENCH_MARK_FILE;
let erring = process.env.BENCH_ERRORS_ON_SIGNAL !== "1";
let served = 0;
let marked = false;

function markBad() {
  if (marked || !markFile) return;
  marked = true;
  writeFileSync(markFile, String(Date.now()));
}

/** Evenly spread: answer n is an error when it crosses the next multiple of 1/share. */
function isError() {
  if (!erring || errorShare <= 0) return false;
  served++;
  return Math.floor(served * errorShare) > Math.floor((served - 1) * errorShare);
}

const server = createServer((req, res) => {
  if (req.url === "/health") {
    const body = JSON.stringify({ status: "ok", color, version });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (req.method === "POST" && req.url === "/__bench/start-errors") {
    erring = true;
    res.writeHead(204);
    res.end();
    return;
  }
  const answer = () => {
    const error = isError();
    if (error || allBad) markBad();
    const body = JSON.stringify({ color, version });
    res.writeHead(error ? 500 : 200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    });
    res.end(body);
  };
  if (delayMs > 0) setTimeout(answer, delayMs);
  else answer();
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () =>
  console.log(`analysis app ${version} (${color}) on 127.0.0.1:${port}`),
);
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
