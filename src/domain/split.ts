/**
 * Which color an unpinned request gets. Sticky keys are hashed (FNV-1a, 32 bit, as kamal-proxy
 * does) into 10,000 buckets; bucket < greenPercent*100 means green. Raising the green share only
 * ever moves users from blue to green, never back, so a canary's users stay on it as it grows.
 */

import type { Color } from "./color.ts";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

export const BUCKETS = 10_000;

export function bucketOf(key: string): number {
  return fnv1a32(key) % BUCKETS;
}

/** Color for a bucket in [0, BUCKETS) at a given green share. */
export function colorForBucket(bucket: number, greenPercent: number): Color {
  return bucket < greenPercent * (BUCKETS / 100) ? "green" : "blue";
}

/** Sticky choice: the same key always gets the same color at a given share. */
export function colorForKey(key: string, greenPercent: number): Color {
  return colorForBucket(bucketOf(key), greenPercent);
}

/** Non-sticky choice from a uniform random number in [0, 1). */
export function colorForRandom(random: number, greenPercent: number): Color {
  if (greenPercent <= 0) return "blue";
  if (greenPercent >= 100) return "green";
  return random * 100 < greenPercent ? "green" : "blue";
}
