/**
 * The TLS listener's certificates, one row per host, live from the status stream (its `tls`
 * section): where each comes from (a file or ACME), subject, issuer, expiry and days left, and for
 * ACME the order's state and last error. Close expiry and failed orders stand out.
 */

import type { TlsCertificateView } from "../../proxy/tls/certificate-views.ts";

/** Fewer days left than this is a warning: renewals normally happen 30 days before. */
const WARN_DAYS = 14;

const STATE_PILL: Record<NonNullable<TlsCertificateView["state"]>, string> = {
  issued: "pill-good",
  ordering: "pill-neutral",
  waiting: "pill-neutral",
  missing: "pill-warn",
  failed: "pill-bad",
};

export function CertificatesPanel(props: { certificates: readonly TlsCertificateView[] }) {
  return (
    <section class="service certificates" aria-label="TLS certificates" data-testid="certificates">
      <h2>Certificates</h2>
      {props.certificates.length === 0 && <p class="muted">no certificate yet</p>}
      <ul class="cert-list">
        {props.certificates.map((c) => (
          <CertificateRow key={`${c.source} ${c.host}`} certificate={c} />
        ))}
      </ul>
    </section>
  );
}

function CertificateRow({ certificate: c }: { certificate: TlsCertificateView }) {
  return (
    <li class="cert" data-testid={`cert-${c.host}`} data-source={c.source} data-state={c.state ?? undefined}>
      <div class="cert-head">
        <strong>{c.host}</strong>
        <span class="tag">{c.source === "acme" ? "ACME" : "file"}</span>
        {c.state !== null && <span class={`pill ${STATE_PILL[c.state]}`}>{c.state}</span>}
        <Expiry certificate={c} />
      </div>
      {c.subject !== null && (
        <div class="meta">
          subject {c.subject} · issuer {c.issuer}
        </div>
      )}
      {c.file !== null && <div class="meta muted">{c.file}</div>}
      {c.lastError !== null && <p class="error">last order failed: {c.lastError}</p>}
      {c.problem !== null && <p class="error">{c.problem}</p>}
    </li>
  );
}

function Expiry({ certificate: c }: { certificate: TlsCertificateView }) {
  if (c.notAfter === null || c.daysLeft === null) return <span class="muted">none served yet</span>;
  const days = c.daysLeft;
  const kind = days < 0 ? "pill-bad" : days < WARN_DAYS ? "pill-warn" : "pill-good";
  const left = days < 0 ? "expired" : days === 1 ? "1 day left" : `${days} days left`;
  return (
    <span class={`pill ${kind}`} title={c.notAfter}>
      expires {c.notAfter.slice(0, 10)} ({left})
    </span>
  );
}
