/**
 * A real ACME server for tests: Debian's `pebble` on free loopback ports, its own HTTPS
 * certificate from test/support/certs.ts (pebble ships none), names resolved by a DNS answerer
 * the test controls, and HTTP-01 validation sent to the port the test names (teal's plain
 * listener), TLS-ALPN-01 validation to the TLS port it names. Validation stays real: pebble
 * fetches the key authorization from that port, or shakes hands for the challenge certificate.
 * PEBBLE_VA_NOSLEEP only removes pebble's random pause before it validates.
 */

import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { open, writeFile } from "node:fs/promises";
import { get } from "node:https";
import { join } from "node:path";
import { createPki, type TestPki } from "./certs.ts";
import { type DnsAnswerer, startDnsAnswerer } from "./dns-answerer.ts";
import { eventually } from "./eventually.ts";
import { freePort } from "./routers.ts";

export interface Pebble {
  /** https://localhost:PORT/dir */
  readonly directory: string;
  /** The CA file that makes pebble's own HTTPS listener trusted (proxy.tls.acme.caFile). */
  readonly caFile: string;
  /** Names pebble resolves (to 127.0.0.1 unless given); every other name is NXDOMAIN to it. */
  readonly dns: DnsAnswerer;
  /** The root that signs what pebble issues (new on every start), from its management API. */
  issuingRoot(): Promise<string>;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** The port pebble's HTTP-01 validation connects to on the resolved address. */
  readonly httpPort: number;
  /** The port pebble's TLS-ALPN-01 validation connects to; default: a free port nothing listens on. */
  readonly tlsPort?: number;
  readonly hosts: readonly string[];
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  const pki: TestPki = await createPki();
  const served = await pki.leaf("pebble", ["localhost"]);
  const dns = await startDnsAnswerer(Object.fromEntries(options.hosts.map((h) => [h, "127.0.0.1"])));
  const [acmePort, managementPort] = [await freePort(), await freePort()];
  const config = join(pki.dir, "pebble-config.json");
  await writeFile(
    config,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: served.cert,
        privateKey: served.key,
        httpPort: options.httpPort,
        tlsPort: options.tlsPort ?? (await freePort()),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const caFile = join(pki.dir, "root.pem");
  const log = await open(join(pki.dir, "pebble.log"), "a");
  let child: ChildProcess;
  try {
    child = spawn("pebble", ["-config", config, "-dnsserver", dns.address], {
      detached: true,
      stdio: ["ignore", log.fd, log.fd],
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0" },
    });
  } finally {
    await log.close();
  }
  const managed = (path: string) => fetchText(`https://localhost:${managementPort}${path}`, pki.root);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, "exit");
      process.kill(-(child.pid as number), "SIGKILL");
      await exited;
    }
    await dns.close();
    await pki.remove();
  };
  const directory = `https://localhost:${acmePort}/dir`;
  try {
    await eventually(
      () =>
        fetchText(directory, pki.root).then(
          () => true,
          () => false,
        ),
      `pebble to serve ${directory} (log in ${pki.dir}/pebble.log)`,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { directory, caFile, dns, issuingRoot: () => managed("/roots/0"), stop };
}

/** GET over HTTPS trusting only `ca`. */
export function fetchText(url: string, ca: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    }).on("error", reject);
  });
}
