/**
 * `teal validate`'s checks of proxy.tls: the certificate files read the way the proxy reads them
 * (Certificates: the file exists, parses, the key is the certificate's, it names a host), then
 * what only shows once clients connect: a certificate expired or not yet valid, a `hosts` entry
 * the certificate does not cover (clients would reject it), a route host no certificate file and
 * no proxy.tls.acme host serves (its clients would get the default certificate, for another name).
 */

import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import type { TealConfig } from "../../config/schema.ts";
import { TealError } from "../../domain/errors.ts";
import { Certificates, dnsNames } from "../../proxy/tls/certificates.ts";

export interface TlsFinding {
  readonly path: string;
  readonly message: string;
}

/** Certificates expiring within this many days get a warning: renew them. */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

/** Problems (exit 1) and warnings of proxy.tls at `now`; none when there is no proxy.tls. */
export function tlsFindings(
  config: TealConfig,
  now: Date,
): { problems: TlsFinding[]; warnings: TlsFinding[] } {
  const problems: TlsFinding[] = [];
  const warnings: TlsFinding[] = [];
  const tls = config.proxy.tls;
  if (tls === undefined) return { problems, warnings };
  try {
    new Certificates(tls);
  } catch (err) {
    if (!(err instanceof TealError)) throw err;
    // The message starts with the field: "proxy.tls.certificates[0].key: /etc/… is not …".
    const at = err.message.indexOf(": ");
    problems.push({ path: err.message.slice(0, at), message: err.message.slice(at + 2) });
    return { problems, warnings };
  }
  // ACME's hosts are served once their certificates are ordered (teal server does that).
  const served: string[] = [...(tls.acme?.hosts ?? [])];
  tls.certificates.forEach((files, i) => {
    const field = `proxy.tls.certificates[${i}]`;
    const leaf = new X509Certificate(readFileSync(files.cert));
    const notBefore = Date.parse(leaf.validFrom);
    const notAfter = Date.parse(leaf.validTo);
    if (now.getTime() > notAfter) {
      problems.push({
        path: `${field}.cert`,
        message: `the certificate in ${files.cert} expired on ${new Date(notAfter).toISOString()}: renew it`,
      });
    } else if (now.getTime() < notBefore) {
      problems.push({
        path: `${field}.cert`,
        message: `the certificate in ${files.cert} is not valid before ${new Date(notBefore).toISOString()}: check this machine's clock or the certificate`,
      });
    } else if (notAfter - now.getTime() < EXPIRY_WARNING_DAYS * DAY_MS) {
      warnings.push({
        path: `${field}.cert`,
        message: `the certificate in ${files.cert} expires on ${new Date(notAfter).toISOString()}, in less than ${EXPIRY_WARNING_DAYS} days: renew it`,
      });
    }
    const names = dnsNames(leaf);
    for (const host of files.hosts ?? []) {
      if (!covers(names, host)) {
        problems.push({
          path: `${field}.hosts`,
          message: `${host} is not among the names of the certificate in ${files.cert} (${names.join(", ") || "none"}): clients would reject it; use a certificate for ${host} or remove it from hosts`,
        });
      }
    }
    served.push(...(files.hosts ?? names));
  });
  const first = tls.certificates[0];
  const fallback =
    first === undefined
      ? "HTTPS clients of it would be refused (no default certificate)"
      : `HTTPS clients of it would get the default certificate (${first.cert}), for other names`;
  for (const [service, svc] of Object.entries(config.services)) {
    svc.routes.forEach((route, i) => {
      if (route.host === undefined || covers(served, route.host)) return;
      problems.push({
        path: `services.${service}.routes[${i}].host`,
        message: `no certificate in proxy.tls.certificates or proxy.tls.acme.hosts serves ${route.host}: ${fallback}; add a certificate for it or list it in acme.hosts`,
      });
    });
  }
  return { problems, warnings };
}

/** Whether a certificate for `names` covers `host`: exactly, or by a one-label wildcard. */
function covers(names: readonly string[], host: string): boolean {
  const h = host.toLowerCase();
  return names.some((n) => {
    const name = n.toLowerCase();
    if (name === h) return true;
    if (!name.startsWith("*.") || h.startsWith("*.")) return false;
    const suffix = name.slice(1);
    return h.endsWith(suffix) && !h.slice(0, -suffix.length).includes(".");
  });
}
