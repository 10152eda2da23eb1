/**
 * The latency `compare` judge on simulated seconds, many times over: how often it fails versions
 * identical to stable, and how often it catches slower ones, with the host's stalls in the data.
 * No processes, no clock: the same figures every run. `npx tsx bench/simulate-analysis.ts`
 *
 * Each second: 400 requests, 20% to the canary; an app answering in 10 ms (x factor for the
 * canary), plus exponential noise (mean 2 ms) and a stall of 50-150 ms for 1% of requests, either
 * spread evenly or "clustered" (a quarter of the seconds hold a 100 ms stall hitting every request
 * in it). 8 seconds compared, tolerance 0.1.
 */
import { judge } from "../src/domain/analysis.ts";
import { bucketIndex, emptyCounts } from "../src/domain/latency-histogram.ts";
import { type Slice, sharedSample } from "../src/domain/slices.ts";

const RUNS = 300;

function traffic(latencies: readonly number[]) {
  const latencyBuckets = emptyCounts();
  for (const ms of latencies) latencyBuckets[bucketIndex(ms)]! += 1;
  return { byClass: [0, 0, latencies.length, 0, 0, 0], latencyBuckets };
}

/** mulberry32: a seeded uniform stream. */
function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function seconds(factor: number, seed: number, clustered: boolean): Slice[] {
  const next = uniform(seed);
  return Array.from({ length: 8 }, (_, i) => {
    const stallAt = clustered && next() < 0.25 ? next() : -1;
    const latency = (f: number) => {
      const at = next();
      const stalled = clustered ? Math.abs(at - stallAt) < 0.05 : next() < 0.01;
      return 10 * f - 2 * Math.log(1 - next()) + (stalled ? 50 + 100 * next() : 0);
    };
    return {
      startMs: i * 1000,
      endMs: (i + 1) * 1000,
      candidate: traffic(Array.from({ length: 80 }, () => latency(factor))),
      stable: traffic(Array.from({ length: 320 }, () => latency(1))),
    };
  });
}

for (const clustered of [false, true]) {
  for (const confidence of [0.95, 0.99]) {
    for (const metric of ["p50", "p99"] as const) {
      const row = [1, 1.3, 2].map((factor) => {
        let fails = 0;
        for (let run = 1; run <= RUNS; run++) {
          const s = sharedSample(
            seconds(factor, run * 7919, clustered),
            metric,
            false,
            { promoted: false, warmingUp: false },
            0.1,
          );
          const m = { value: s.candidate.value, sampleSize: s.candidate.requests, shared: s };
          const j = judge(metric, m, {
            compare: { confidence, tolerance: 0.1 },
            minRequests: 20,
            minSlices: 3,
          });
          if (j.verdict === "fail") fails++;
        }
        return `x${factor} ${fails}/${RUNS}`;
      });
      console.log(
        `stalls ${clustered ? "clustered" : "spread"}  confidence ${confidence}  ${metric}: failed ${row.join(", ")}`,
      );
    }
  }
}
