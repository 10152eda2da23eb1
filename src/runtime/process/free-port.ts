/** Asks the kernel for a free TCP port on 127.0.0.1. */

import { createServer } from "node:net";

/**
 * A port that was free a moment ago. Another process may take it before the instance binds it;
 * the instance then fails to listen and its health check says so.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no port assigned"))));
    });
  });
}
