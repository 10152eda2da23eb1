import assert from "node:assert/strict";
import { chmod, mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { rotateIfOver } from "../../src/runtime/log-files.ts";
import { deploy, finished } from "../support/deployments.ts";
import { processServiceConfig, runCli, startTeal, tempDir } from "../support/teal-process.ts";

// The usual umask: a file is created 0644 and a directory 0755 unless teal asks for less.
process.umask(0o022);

const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

describe("the data directory's permissions", () => {
  it("makes an existing data directory and what teal keeps in it private, says so in the log, and keeps the token", async () => {
    const dir = await tempDir();
    await chmod(dir.path, 0o755);
    await writeFile(join(dir.path, "admin.token"), "kept-token\n", { mode: 0o644 });
    await writeFile(join(dir.path, "teal.db"), "", { mode: 0o644 });
    await mkdir(join(dir.path, "logs", "web"), { recursive: true, mode: 0o755 });
    await writeFile(join(dir.path, "logs", "web", "blue-0.log"), "old output\n", { mode: 0o644 });
    await writeFile(join(dir.path, "logs", "web", "blue-0.log.1"), "older output\n");
    await chmod(join(dir.path, "logs", "web", "blue-0.log.1"), 0o664);
    const teal = await startTeal(processServiceConfig(), dir.path);
    try {
      assert.equal(teal.token, "kept-token");
      const modes = Object.fromEntries(
        await Promise.all(
          [
            ".",
            "admin.token",
            "view.token",
            "teal.db",
            "teal.db-wal",
            "teal.db-shm",
            "server.json",
            "logs",
            "logs/web",
            "logs/web/blue-0.log",
            "logs/web/blue-0.log.1",
          ].map(async (f) => [f, await modeOf(join(dir.path, f))]),
        ),
      );
      assert.deepEqual(modes, {
        ".": "700",
        "admin.token": "600",
        "view.token": "600",
        "teal.db": "600",
        "teal.db-wal": "600",
        "teal.db-shm": "600",
        "server.json": "600",
        logs: "700",
        "logs/web": "700",
        "logs/web/blue-0.log": "600",
        "logs/web/blue-0.log.1": "600",
      });
      const said = teal.logs.find((l) => String(l.msg).startsWith("made the data directory private"));
      assert.ok(said, "a log line says what was tightened");
      assert.equal(said.level, 40);
      assert.deepEqual(
        [...(said.tightened as string[])].sort(),
        [
          ". 0755",
          "teal.db 0644",
          "admin.token 0644",
          "logs 0755",
          "logs/web 0755",
          "logs/web/blue-0.log 0644",
          "logs/web/blue-0.log.1 0664",
        ].sort(),
      );
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("creates the database, its WAL, the tokens and the instances' logs 0600 in 0700 directories", async () => {
    const dir = await tempDir();
    const teal = await startTeal(processServiceConfig(), dir.path);
    try {
      const seq = await deploy(teal, "v1", { SECRET: "s3cret" });
      assert.equal((await finished(teal, seq)).outcome, "succeeded");
      const logs = join(dir.path, "logs", "web");
      assert.equal(await modeOf(join(dir.path, "logs")), "700");
      assert.equal(await modeOf(logs), "700");
      const names = await readdir(logs);
      assert.deepEqual(names, ["blue-0.log"]);
      const log = join(logs, "blue-0.log");
      assert.match(await readFile(log, "utf8"), /teal/);
      assert.equal(await modeOf(log), "600");
      for (const f of ["teal.db", "teal.db-wal", "teal.db-shm", "admin.token", "view.token", "server.json"]) {
        assert.equal(await modeOf(join(dir.path, f)), "600", f);
      }
      assert.ok(!teal.logs.some((l) => String(l.msg).startsWith("made the data directory private")));
      // A rotated log keeps the mode of the log it was copied from.
      await writeFile(log, "x".repeat(100), { flag: "a" });
      assert.equal(await rotateIfOver(log, 10), true);
      assert.equal(await modeOf(`${log}.1`), "600");
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("refuses a shared directory such as /tmp as its data directory, exit code 2", async () => {
    const dir = await tempDir();
    const shared = join(dir.path, "shared");
    await mkdir(shared);
    await chmod(shared, 0o1777);
    const config = join(dir.path, "teal.yaml");
    await writeFile(config, "proxy: { listen: 127.0.0.1:0, workers: 1 }\nadmin: { listen: 127.0.0.1:0 }\n");
    const r = await runCli(["server", "--config", config, "--data-dir", shared]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /is shared with other users \(mode 1777\).*use a directory of its own/);
    assert.equal(await modeOf(shared), "777");
    await dir.remove();
  });
});

describe("start-up warnings", () => {
  it("warns in the log when admin.listen is not a loopback address: the token would cross the network in clear", async () => {
    const dir = await tempDir();
    const teal = await startTeal(
      "proxy: { listen: 127.0.0.1:0, workers: 1 }\nadmin: { listen: 0.0.0.0:0 }\nservices:\n  web:\n    routes: [{ path: / }]\n    blue: [http://127.0.0.1:9]\n",
      dir.path,
    );
    try {
      const warning = teal.logs.find((l) => l.field === "admin.listen");
      assert.ok(warning, JSON.stringify(teal.logs));
      assert.equal(warning.level, 40);
      assert.match(String(warning.msg), /^admin\.listen: 0\.0\.0\.0:0 is not a loopback address/);
      assert.match(String(warning.msg), /admin token.*crosses the network in clear text/);
      // It still serves (reached here through loopback only).
      const port = new URL(teal.adminUrl).port;
      assert.equal((await fetch(`http://127.0.0.1:${port}/v1/health`)).status, 200);
    } finally {
      await teal.stop();
      await dir.remove();
    }
  });

  it("teal validate warns about a config without services, and refuses a YAML alias bomb with CONFIG_INVALID, exit code 2", async () => {
    const dir = await tempDir();
    const empty = join(dir.path, "empty.yaml");
    await writeFile(empty, "proxy: { workers: 1 }\n");
    const ok = await runCli(["validate", "--config", empty]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /warning: services: no services are configured/);
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n";
    for (const [prev, name] of ["ab", "bc", "cd", "de", "ef", "fg", "gh", "hi"]) {
      bomb += `${name}: &${name} [${Array(9).fill(`*${prev}`).join(", ")}]\n`;
    }
    const bombFile = join(dir.path, "bomb.yaml");
    await writeFile(bombFile, bomb);
    for (const command of ["validate", "server"]) {
      const r = await runCli([command, "--config", bombFile, "--data-dir", join(dir.path, "data")]);
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.match(r.stderr, /YAML aliases expand too far.*\[CONFIG_INVALID\]/);
      assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/);
    }
    await dir.remove();
  });
});
