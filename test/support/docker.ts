/**
 * A real Docker engine for tests: a private dockerd (own data, exec root, socket and bridge) that
 * the test starts and stops, and the fixture app as an image built from local files (no registry).
 *
 * Each engine gets its own bridge and subnet, and runs with --iptables=false: test files run in
 * parallel, and two engines sharing docker0 and the DOCKER iptables chains would undo each other.
 * Published ports then go through docker-proxy, which is all a test on 127.0.0.1 needs.
 */

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash, randomInt } from "node:crypto";
import { once } from "node:events";
import { access, copyFile, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { eventually } from "./eventually.ts";
import { FIXTURE_APP } from "./teal-process.ts";

const run = promisify(execFile);

export interface Dockerd {
  /** unix:///…/d.sock */
  readonly host: string;
  readonly socketPath: string;
  /** Runs the docker CLI against this engine (test setup only: teal itself uses the Engine API). */
  docker(...args: string[]): Promise<string>;
  /** Removes every container, stops the engine, deletes its bridge and its directories. */
  stop(): Promise<void>;
}

export async function startDockerd(): Promise<Dockerd> {
  // Short: a unix socket path must stay under ~100 characters.
  const dir = await mkdtemp("/tmp/tdk-");
  const socketPath = join(dir, "d.sock");
  const bridge = `tdk${dir.slice(-6).replace(/[^A-Za-z0-9]/g, "x")}`;
  const subnet = await freeSubnet();
  await run("ip", ["link", "add", bridge, "type", "bridge"]);
  await run("ip", ["addr", "add", `${subnet}.1/24`, "dev", bridge]);
  await run("ip", ["link", "set", bridge, "up"]);
  const child: ChildProcess = spawn(
    "dockerd",
    [
      `--data-root=${dir}/data`,
      `--exec-root=${dir}/x`,
      `--pidfile=${dir}/d.pid`,
      `-H=unix://${socketPath}`,
      `--bridge=${bridge}`,
      "--iptables=false",
      "--ip-masq=false",
      "--log-level=error",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += d;
  });
  const exited = once(child, "exit");
  const host = `unix://${socketPath}`;
  const docker = async (...args: string[]) =>
    (await run("docker", ["-H", host, ...args], { maxBuffer: 64 * 1024 * 1024 })).stdout.trim();
  const cleanUp = async () => {
    await run("ip", ["link", "del", bridge]).catch(() => {});
    await rm(dir, { recursive: true, force: true }).catch(() => {});
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`dockerd exited: ${stderr}`);
        return access(socketPath).then(
          () => docker("version", "--format", "{{.Server.APIVersion}}").then(Boolean, () => false),
          () => false,
        );
      },
      "dockerd to answer",
      20_000,
    );
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    await cleanUp();
    throw err;
  }
  return {
    host,
    socketPath,
    docker,
    async stop() {
      const ids = (await docker("ps", "-aq").catch(() => "")).split("\n").filter(Boolean);
      if (ids.length > 0) await docker("rm", "-f", ...ids).catch(() => "");
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
      await cleanUp();
    },
  };
}

/** A 10.213.N.0/24 that no interface here uses yet. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await run("ip", ["-4", "-o", "addr"]);
  for (;;) {
    const candidate = `10.213.${randomInt(1, 255)}`;
    if (!stdout.includes(`${candidate}.`)) return candidate;
  }
}

export const APP_IMAGE = "teal-test-app";

/**
 * Imports the fixture app as `teal-test-app:<tag>` for each tag: a root file system holding
 * /usr/bin/node, the libraries `ldd` lists and test/fixtures/app.mjs, with no shell. The tarball
 * is cached in the temp directory, keyed by the node binary and the app's source.
 */
export async function buildAppImage(dockerd: Dockerd, tags: readonly string[]): Promise<void> {
  const tarball = await rootfsTarball();
  const base = `${APP_IMAGE}:${tags[0]}`;
  await dockerd.docker(
    "import",
    "-c",
    'CMD ["/usr/bin/node", "/app/app.mjs"]',
    "-c",
    "ENV HOST=0.0.0.0",
    tarball,
    base,
  );
  for (const tag of tags.slice(1)) await dockerd.docker("tag", base, `${APP_IMAGE}:${tag}`);
}

async function rootfsTarball(): Promise<string> {
  const node = "/usr/bin/node";
  const app = await readFile(FIXTURE_APP);
  const { size, mtimeMs } = await stat(node);
  const key = createHash("sha256").update(`${size}:${mtimeMs}:`).update(app).digest("hex").slice(0, 12);
  const tarball = join(tmpdir(), `teal-test-rootfs-${key}.tar`);
  if (
    await access(tarball).then(
      () => true,
      () => false,
    )
  )
    return tarball;
  const root = await mkdtemp(join(tmpdir(), "teal-rootfs-"));
  try {
    const { stdout } = await run("ldd", [node]);
    const libs = [...stdout.matchAll(/(\/\S+)/g)].map((m) => m[1]!);
    for (const file of [node, ...libs]) {
      await mkdir(join(root, dirname(file)), { recursive: true });
      await copyFile(file, join(root, file));
    }
    await mkdir(join(root, "app"));
    await mkdir(join(root, "tmp"));
    await copyFile(FIXTURE_APP, join(root, "app", "app.mjs"));
    // Written under another name first, so a parallel test never imports half a file.
    const partial = `${tarball}.${process.pid}-${randomInt(1e9)}`;
    await run("tar", ["-C", root, "-cf", partial, "."]);
    await run("mv", [partial, tarball]);
    return tarball;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
