/** Writes a file so that readers see the old or the new content, never a torn one. */

import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";

export async function writeFileAtomic(path: string, data: string, mode = 0o600): Promise<void> {
  // Unique per write: two writers of one file (services sharing a state file) must not collide.
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(tmp, "w", mode);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
