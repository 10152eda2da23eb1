/**
 * Test certificates made with the real `openssl` in a temp dir: a root CA, an intermediate, and
 * leaf certificates signed by the intermediate whose file holds the leaf then the intermediate
 * (as a real chain file does). Clients trust the root only, so a handshake verifies only when
 * teal serves the chain.
 */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Leaf {
  readonly cert: string;
  readonly key: string;
}

export interface TestPki {
  readonly dir: string;
  /** The root CA's PEM, for clients' `ca`. */
  readonly root: Buffer;
  /** A key and a certificate chain for these DNS names, in files named after `name`. */
  leaf(name: string, hosts: readonly string[]): Promise<Leaf>;
  remove(): Promise<void>;
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

export async function createPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), "teal-pki-"));
  const p = (f: string) => join(dir, f);
  await run("openssl", [
    "req",
    "-x509",
    ...EC,
    "-keyout",
    p("root.key"),
    "-out",
    p("root.pem"),
    "-days",
    "2",
    "-subj",
    "/CN=teal test root",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  await run("openssl", [
    "req",
    ...EC,
    "-keyout",
    p("mid.key"),
    "-out",
    p("mid.csr"),
    "-subj",
    "/CN=teal test intermediate",
  ]);
  await writeFile(
    p("mid.ext"),
    "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n",
  );
  await run("openssl", [
    "x509",
    "-req",
    "-in",
    p("mid.csr"),
    "-CA",
    p("root.pem"),
    "-CAkey",
    p("root.key"),
    "-CAcreateserial",
    "-days",
    "2",
    "-extfile",
    p("mid.ext"),
    "-out",
    p("mid.pem"),
  ]);
  const mid = await readFile(p("mid.pem"));
  return {
    dir,
    root: await readFile(p("root.pem")),
    async leaf(name, hosts) {
      await run("openssl", [
        "req",
        ...EC,
        "-keyout",
        p(`${name}.key`),
        "-out",
        p(`${name}.csr`),
        "-subj",
        `/CN=${hosts[0]}`,
      ]);
      const san = hosts.map((h) => `DNS:${h}`).join(",");
      await writeFile(p(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
      await run("openssl", [
        "x509",
        "-req",
        "-in",
        p(`${name}.csr`),
        "-CA",
        p("mid.pem"),
        "-CAkey",
        p("mid.key"),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        p(`${name}.ext`),
        "-out",
        p(`${name}.leaf.pem`),
      ]);
      await writeFile(p(`${name}.pem`), Buffer.concat([await readFile(p(`${name}.leaf.pem`)), mid]));
      return { cert: p(`${name}.pem`), key: p(`${name}.key`) };
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
