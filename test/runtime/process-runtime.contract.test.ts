/** Runs the runtime contract against the process runtime: real child processes. */

import { join } from "node:path";
import { ProcessRuntime } from "../../src/runtime/process/process-runtime.ts";
import type { LaunchSpec } from "../../src/runtime/runtime.ts";
import { runRuntimeContract } from "../contracts/runtime.cases.ts";
import { FIXTURE_APP, tempDir } from "../support/teal-process.ts";

runRuntimeContract("process", async () => {
  const dir = await tempDir("teal-process-contract-");
  const spec = (index: number, command: readonly string[]): LaunchSpec => ({
    service: "web",
    color: "blue",
    version: "v1",
    deploymentSeq: 3,
    index,
    command,
    cwd: dir.path,
    env: {},
  });
  return {
    harness: {
      // An adopted instance is not teal's child: its exit is seen by watching /proc.
      runtime: () => new ProcessRuntime({ logDir: join(dir.path, "logs"), exitPollMs: 50 }),
      app: (index) => spec(index, [process.execPath, FIXTURE_APP]),
      node: (index, source) => spec(index, [process.execPath, "-e", source]),
    },
    tearDown: () => dir.remove(),
  };
});
