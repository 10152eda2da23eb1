import type { CandidateFactory } from "./types.ts";

/** Load straight to the blue backend: the upper limit. */
export const direct: CandidateFactory = async ({ backends }) => ({
  name: "direct",
  url: `http://127.0.0.1:${backends.bluePort}`,
  pids: () => [],
  hasSink: false,
  stop: async () => {},
});
