/** A long-running command (`teal server`, `teal proxy`) runs until SIGINT or SIGTERM. */

import type { Logger } from "../log/logger.ts";

/** Resolves at the first SIGINT or SIGTERM, logging that in-flight requests drain now. */
export function untilStopped(log: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, "shutting down: draining in-flight requests");
      resolve();
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
