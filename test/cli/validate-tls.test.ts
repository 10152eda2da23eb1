/**
 * `teal validate` reads proxy.tls's certificate files through the real CLI: a file it cannot
 * read, a key of another certificate, an expired certificate, a `hosts` entry the certificate
 * does not name and a route host no certificate (file or ACME host) serves each exit 1 naming
 * the field and the file; a good certificate passes, with a warning when it expires within 14 days.
 */

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createPki, type Leaf, type TestPki } from "../support/certs.ts";
import { runCli, tempDir } from "../support/teal-process.ts";

const run = promisify(execFile);

/** A self-signed certificate valid only in January 2020 (openssl ca sets both dates). */
async function expiredLeaf(dir: string, host: string): Promise<Leaf> {
  const p = (f: string) => join(dir, f);
  await writeFile(p("index.txt"), "");
  await writeFile(p("serial"), "01\n");
  await writeFile(
    p("ca.cnf"),
    `[ca]\ndefault_ca = d\n[d]\ndatabase = ${p("index.txt")}\nnew_certs_dir = ${dir}\nserial = ${p("serial")}\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n`,
  );
  await writeFile(p("old.ext"), `subjectAltName=DNS:${host}\n`);
  await run("openssl", [
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    p("old.key"),
    "-out",
    p("old.csr"),
    "-subj",
    `/CN=${host}`,
  ]);
  await run("openssl", [
    "ca",
    "-batch",
    "-selfsign",
    "-config",
    p("ca.cnf"),
    "-keyfile",
    p("old.key"),
    "-in",
    p("old.csr"),
    "-out",
    p("old.pem"),
    "-startdate",
    "20200101000000Z",
    "-enddate",
    "20200201000000Z",
    "-extfile",
    p("old.ext"),
  ]);
  return { cert: p("old.pem"), key: p("old.key") };
}

describe("teal validate with proxy.tls", () => {
  let pki: TestPki;
  let dir: { path: string; remove: () => Promise<void> };
  let app: Leaf;
  let other: Leaf;
  let old: Leaf;
  before(async () => {
    pki = await createPki();
    dir = await tempDir();
    app = await pki.leaf("app", ["app.example.com", "*.apps.example.com"]);
    other = await pki.leaf("other", ["other.example.com"]);
    old = await expiredLeaf(dir.path, "old.example.com");
  });
  after(async () => {
    await pki.remove();
    await dir.remove();
  });

  async function validate(tls: string, routes: string, json = false) {
    const path = join(dir.path, "teal.yaml");
    await writeFile(
      path,
      `proxy:\n  tls:\n${tls}\nservices:\n  web:\n    routes: ${routes}\n    blue: [http://127.0.0.1:9001]\n`,
    );
    const r = await runCli(["validate", "--config", path, ...(json ? ["--json"] : [])]);
    assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    return r;
  }

  it("passes good certificate files, warning of one that expires within 14 days", async () => {
    const r = await validate(
      `    certificates: [{ cert: ${app.cert}, key: ${app.key} }]`,
      "[{ host: app.example.com }, { host: x.apps.example.com }]",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /is valid/);
    // The test PKI's certificates are valid for 2 days.
    assert.match(
      r.stderr,
      /warning: proxy\.tls\.certificates\[0\]\.cert: the certificate in .*app\.pem expires on .*, in less than 14 days: renew it/,
    );
  });

  it("a certificate file it cannot read, or a key of another certificate: exit 1 naming the field and the file", async () => {
    const missing = await validate(
      `    certificates: [{ cert: ${app.cert}, key: ${join(dir.path, "nope.key")} }]`,
      "[{ host: app.example.com }]",
    );
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /error: proxy\.tls\.certificates\[0\]\.key: cannot read .*nope\.key \(ENOENT\): check the path/,
    );
    const wrongKey = await validate(
      `    certificates: [{ cert: ${app.cert}, key: ${other.key} }]`,
      "[{ host: app.example.com }]",
    );
    assert.equal(wrongKey.code, 1);
    assert.match(
      wrongKey.stderr,
      /error: proxy\.tls\.certificates\[0\]\.key: .*other\.key is not the key of the certificate in .*app\.pem/,
    );
  });

  it("an expired certificate, a hosts entry it does not name, a route host no certificate serves: exit 1, each named (--json too)", async () => {
    const tls = [
      "    certificates:",
      `      - { cert: ${app.cert}, key: ${app.key}, hosts: [app.example.com, www.example.com] }`,
      `      - { cert: ${old.cert}, key: ${old.key} }`,
      "    acme: { directory: https://acme.example.net/directory, email: ops@example.com, hosts: [acme.example.com] }",
    ].join("\n");
    // acme.example.com is served by ACME: not a problem.
    const routes = "[{ host: app.example.com }, { host: shop.example.com }, { host: acme.example.com }]";
    const human = await validate(tls, routes);
    assert.equal(human.code, 1);
    assert.match(
      human.stderr,
      /error: proxy\.tls\.certificates\[1\]\.cert: the certificate in .*old\.pem expired on 2020-02-01T00:00:00\.000Z: renew it/,
    );
    assert.match(
      human.stderr,
      /error: proxy\.tls\.certificates\[0\]\.hosts: www\.example\.com is not among the names of the certificate in .*app\.pem \(app\.example\.com, \*\.apps\.example\.com\)/,
    );
    assert.match(
      human.stderr,
      /error: services\.web\.routes\[1\]\.host: no certificate in proxy\.tls\.certificates or proxy\.tls\.acme\.hosts serves shop\.example\.com: HTTPS clients of it would get the default certificate \(.*app\.pem\)/,
    );
    assert.doesNotMatch(human.stderr, /routes\[[02]\]/);
    assert.match(human.stdout, /is not valid: 3 problems above/);

    const json = await validate(tls, routes, true);
    assert.equal(json.code, 1);
    const body = JSON.parse(json.stdout) as { ok: boolean; problems: { path: string }[] };
    assert.equal(body.ok, false);
    assert.deepEqual(body.problems.map((p) => p.path).sort(), [
      "proxy.tls.certificates[0].hosts",
      "proxy.tls.certificates[1].cert",
      "services.web.routes[1].host",
    ]);
  });
});
