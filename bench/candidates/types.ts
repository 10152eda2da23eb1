import type { BenchOptions } from "../args.ts";
import type { Backends } from "../backends.ts";

export type Color = "blue" | "green";

export interface CandidateContext {
  tmp: string;
  backends: Backends;
  opts: BenchOptions;
}

export interface Candidate {
  name: string;
  /** Base URL that load goes to, e.g. http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  /** Flip the live color through the candidate's own mechanism; resolves when the call returns. */
  switchTo?: (color: Color) => Promise<void>;
  /** Root process ids (children are found via /proc) for RSS; empty if not measurable. */
  pids: () => number[];
  /** Whether `${url}/sink/...` routes to the sink backend. */
  hasSink: boolean;
  stop: () => Promise<void>;
}

export type CandidateFactory = (ctx: CandidateContext) => Promise<Candidate>;
