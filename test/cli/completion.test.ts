/**
 * `teal completion bash`: the script, sourced in a real bash, completes commands, each command's
 * options and file names the way `complete -F` calls it (COMP_WORDS/COMP_CWORD).
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { runCli, tempDir } from "../support/teal-process.ts";

const exec = promisify(execFile);

describe("teal completion", () => {
  let dir: { path: string; remove: () => Promise<void> };
  let script: string;
  before(async () => {
    dir = await tempDir();
    const r = await runCli(["completion", "bash"]);
    assert.equal(r.code, 0, r.stderr);
    script = join(dir.path, "teal.bash");
    await writeFile(script, r.stdout);
    await writeFile(join(dir.path, "teal.yaml"), "");
  });
  after(() => dir.remove());

  /** The candidates bash offers for the command line `words` with the cursor on the last word. */
  async function complete(...words: string[]): Promise<string[]> {
    const line = words.map((w) => `'${w}'`).join(" ");
    const { stdout } = await exec("bash", [
      "-c",
      `source "$1"; cd "$2"; COMP_WORDS=(${line}); COMP_CWORD=${words.length - 1}; _teal; printf '%s\\n' "\${COMPREPLY[@]}"`,
      "bash",
      script,
      dir.path,
    ]);
    return stdout.split("\n").filter((l) => l !== "");
  }

  it("completes command names, then the command's own and the global options", async () => {
    assert.deepEqual(await complete("teal", "de"), ["deploy"]);
    const commands = await complete("teal", "");
    for (const c of ["server", "deploy", "switch", "status", "completion"])
      assert.ok(commands.includes(c), c);
    assert.deepEqual(await complete("teal", "server", "--ack"), ["--ack-timeout"]);
    const deployOptions = await complete("teal", "--data-dir", "/tmp", "deploy", "web", "--");
    for (const o of ["--version", "--strategy", "--no-wait", "--config", "--json"])
      assert.ok(deployOptions.includes(o), o);
    assert.ok(!deployOptions.includes("--ack-timeout"));
  });

  it("completes file names after --config, nothing after an option that takes another value", async () => {
    assert.deepEqual(await complete("teal", "--config", "teal.y"), ["teal.yaml"]);
    assert.deepEqual(await complete("teal", "switch", "web", "--to", ""), []);
  });

  it("prints a zsh script, and refuses another shell with a usage error", async () => {
    const zsh = await runCli(["completion", "zsh"]);
    assert.equal(zsh.code, 0);
    assert.match(zsh.stdout, /^#compdef teal/);
    assert.match(zsh.stdout, /'deploy:start a version on the idle color/);
    const fish = await runCli(["completion", "fish"]);
    assert.equal(fish.code, 2);
    assert.match(fish.stderr, /unknown shell "fish"; use one of bash, zsh/);
    assert.doesNotMatch(fish.stderr, /at .*\.ts:/);
  });
});
