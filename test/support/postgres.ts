/**
 * A real PostgreSQL 15 cluster for tests: initdb in a temp dir, started on a free loopback port,
 * stopped and removed at the end. One cluster per test file, a fresh database per test.
 *
 * PostgreSQL refuses to run as root, so when the tests run as root the cluster's files belong to
 * the `postgres` user and initdb/pg_ctl run through `runuser`.
 */

import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";

const run = promisify(execFile);
const BIN = "/usr/lib/postgresql/15/bin";

export interface PostgresCluster {
  readonly port: number;
  /** A new, empty database; its connection URL (user postgres, trust auth on loopback). */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown) and removes its files. */
  stop(): Promise<void>;
}

let databaseCounter = 0;

export async function startPostgres(): Promise<PostgresCluster> {
  const dir = await mkdtemp(join(tmpdir(), "teal-pg-"));
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await postgresIds() : undefined;
  if (owner) await chown(dir, owner.uid, owner.gid);
  await chmod(dir, 0o700);
  const as = (cmd: string, args: string[]) =>
    asRoot ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);

  await as(join(BIN, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
  const port = await freePort();
  const options = [
    "-c listen_addresses=127.0.0.1",
    `-c port=${port}`,
    `-c unix_socket_directories=${dir}`,
    "-c fsync=off",
    "-c max_connections=50",
  ].join(" ");
  // -w waits until the server accepts connections; the log keeps pg_ctl's pipes free of the daemon.
  await as(join(BIN, "pg_ctl"), [
    "-D",
    data,
    "-l",
    join(dir, "log"),
    "-w",
    "-t",
    "60",
    "-o",
    options,
    "start",
  ]);

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    port,
    async createDatabase() {
      const name = `t${process.pid}_${++databaseCounter}`;
      const client = new pg.Client(adminUrl);
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await as(join(BIN, "pg_ctl"), ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run("id", ["-u", "postgres"]);
  const { stdout: g } = await run("id", ["-g", "postgres"]);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}

/** A port the OS just handed out; PostgreSQL binds it a moment later (tests accept that race). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface WriterReport {
  readonly writes: number;
  readonly failures: number;
  /** Every write's latency, sorted ascending. */
  readonly latenciesMs: readonly number[];
}

/**
 * The old version at work: one connection that inserts into and updates `events (id, kind, n)`
 * without pause (updates spread over ids 1..rows), timing each write, until `stop()`.
 */
export async function startEventsWriter(
  url: string,
  rows: number,
): Promise<{ stop(): Promise<WriterReport> }> {
  const writer = new pg.Client(url);
  // A server stopped under a failing test must fail that test, not crash the process.
  writer.on("error", () => {});
  await writer.connect();
  const latenciesMs: number[] = [];
  let failures = 0;
  let stopping = false;
  const loop = (async () => {
    for (let i = 0; !stopping; i++) {
      const began = performance.now();
      try {
        if (i % 2 === 0) await writer.query("INSERT INTO events (kind, n) VALUES ('live', $1)", [i]);
        else await writer.query("UPDATE events SET n = n + 1 WHERE id = $1", [1 + ((i * 7919) % rows)]);
      } catch {
        failures++;
      }
      latenciesMs.push(performance.now() - began);
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      await writer.end();
      latenciesMs.sort((a, b) => a - b);
      return { writes: latenciesMs.length, failures, latenciesMs };
    },
  };
}

/** `events` with `rows` rows: the table the backfill tests and the bench migrate. */
export async function createEvents(url: string, rows: number): Promise<void> {
  const c = new pg.Client(url);
  await c.connect();
  try {
    await c.query("CREATE TABLE events (id bigserial PRIMARY KEY, kind text NOT NULL, n int NOT NULL)");
    await c.query(`INSERT INTO events (kind, n) SELECT 'k' || (i % 7), i FROM generate_series(1, ${rows}) i`);
    await c.query("VACUUM ANALYZE events");
  } finally {
    await c.end();
  }
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}
