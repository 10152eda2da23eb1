/**
 * A real etcd cluster for tests (Debian etcd-server 3.4, the `etcd` binary): 1 or 3 members on
 * free loopback ports, data in a temp dir. A test can find the leader, kill a member with SIGKILL
 * and start it again on its data; stop() kills every member's process group and removes the data.
 *
 * Each member runs in its own process group (detached) with its output in a file, so no pipe or
 * lock of the test runner stays open in a daemon (STACK.md's note on fds).
 */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./eventually.ts";
import { freePort } from "./routers.ts";

export interface EtcdMember {
  readonly name: string;
  /** http://127.0.0.1:PORT, what clients dial. */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The running process, or undefined while the member is killed. */
  readonly child: ChildProcess | undefined;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Every member's client URL, for a client's endpoint list. */
  readonly endpoints: readonly string[];
  /** The member that currently leads (asked of a running member through the gRPC gateway). */
  leader(): Promise<EtcdMember>;
  /** SIGKILL to the member's process group; resolves once it has exited. */
  kill(member: EtcdMember): Promise<void>;
  /** Starts a killed member again on its data and waits until it is healthy. */
  restart(member: EtcdMember): Promise<void>;
  /** Waits until every running member reports itself healthy (it has a leader). */
  healthy(): Promise<void>;
  /** Kills every member and removes the data directory. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Timings chosen so that etcd's minimum lease TTL is 1 s: etcd raises any TTL below
 * ceil(1.5 x election ticks x heartbeat), which is 2 s with its defaults (100 ms / 1000 ms);
 * 100 ms / 700 ms gives 7 ticks, floor(10.5) x 100 ms = 1 s. Re-election after a killed leader
 * then takes about a second.
 */
const HEARTBEAT_MS = 100;
const ELECTION_MS = 700;

interface MemberState {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child: ChildProcess | undefined;
}

export async function startEtcd(options: { readonly members: 1 | 3 } = { members: 3 }): Promise<EtcdCluster> {
  const root = await mkdtemp(join(tmpdir(), "teal-etcd-"));
  const members: MemberState[] = [];
  for (let i = 0; i < options.members; i++) {
    const [client, peer] = [await freePort(), await freePort()];
    members.push({
      name: `m${i}`,
      clientUrl: `http://127.0.0.1:${client}`,
      peerUrl: `http://127.0.0.1:${peer}`,
      dataDir: join(root, `m${i}`),
      child: undefined,
    });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(",");
  const token = `teal-test-${process.pid}-${Date.now()}`;

  const launch = async (member: MemberState, state: "new" | "existing"): Promise<void> => {
    const log = await open(join(root, `${member.name}.log`), "a");
    try {
      member.child = spawn(
        "etcd",
        [
          `--name=${member.name}`,
          `--data-dir=${member.dataDir}`,
          `--listen-client-urls=${member.clientUrl}`,
          `--advertise-client-urls=${member.clientUrl}`,
          `--listen-peer-urls=${member.peerUrl}`,
          `--initial-advertise-peer-urls=${member.peerUrl}`,
          `--initial-cluster=${initialCluster}`,
          `--initial-cluster-state=${state}`,
          `--initial-cluster-token=${token}`,
          `--heartbeat-interval=${HEARTBEAT_MS}`,
          `--election-timeout=${ELECTION_MS}`,
          "--logger=zap",
          "--log-outputs=stderr",
        ],
        { detached: true, stdio: ["ignore", log.fd, log.fd] },
      );
    } finally {
      // The child has its own copy of the descriptor.
      await log.close();
    }
  };

  const memberHealthy = async (member: MemberState): Promise<boolean> => {
    try {
      const response = await fetch(`${member.clientUrl}/health`, { signal: AbortSignal.timeout(1_000) });
      const body = (await response.json()) as { health?: string };
      return response.ok && body.health === "true";
    } catch {
      return false;
    }
  };

  const healthy = async (): Promise<void> => {
    const running = members.filter((m) => m.child !== undefined);
    await eventually(
      async () => (await Promise.all(running.map(memberHealthy))).every(Boolean),
      `etcd members ${running.map((m) => m.name).join(", ")} to be healthy (logs in ${root})`,
      20_000,
    );
  };

  const kill = async (member: EtcdMember): Promise<void> => {
    const state = members.find((m) => m.name === member.name);
    const child = state?.child;
    if (!state || !child) return;
    state.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    try {
      process.kill(-(child.pid as number), "SIGKILL");
    } catch {
      child.kill("SIGKILL");
    }
    await exited;
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    async leader() {
      return eventually(
        async () => {
          for (const member of members.filter((m) => m.child !== undefined)) {
            try {
              const response = await fetch(`${member.clientUrl}/v3/maintenance/status`, {
                method: "POST",
                body: "{}",
                signal: AbortSignal.timeout(1_000),
              });
              const status = (await response.json()) as { header?: { member_id?: string }; leader?: string };
              if (!status.leader || status.leader === "0") continue;
              if (status.header?.member_id === status.leader) return member;
            } catch {}
          }
          return undefined;
        },
        "an etcd leader",
        20_000,
      );
    },
    kill,
    async restart(member) {
      const state = members.find((m) => m.name === member.name);
      if (!state || state.child) return;
      await launch(state, "existing");
      await healthy();
    },
    healthy,
    async stop() {
      for (const member of members) await kill(member);
      await rm(root, { recursive: true, force: true });
    },
  };

  try {
    for (const member of members) await launch(member, "new");
    await healthy();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
