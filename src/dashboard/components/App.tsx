/** The page: header, one card per service, the confirmation dialog and the notices. */

import { useEffect, useMemo, useState } from "preact/hooks";
import { type ActionSpec, stillOffered } from "../actions.ts";
import { type LiveState, LiveStore } from "../live-store.ts";
import { applyTheme, effectiveTheme, NEXT, savedTheme, type Theme } from "../theme.ts";
import { adoptViewToken, forgetViewToken, setViewToken } from "../tokens.ts";
import { ActionDialog } from "./ActionDialog.tsx";
import { CertificatesPanel } from "./CertificatesPanel.tsx";
import { type FleetNodeView, NodesPanel } from "./NodesPanel.tsx";
import { ServiceCard } from "./ServiceCard.tsx";
import { TokenGate } from "./TokenGate.tsx";

const CONNECTION_TEXT: Record<LiveState["connection"], string> = {
  connecting: "connecting…",
  live: "live",
  reconnecting: "reconnecting…",
  refused: "token refused",
};

export function App() {
  const [token, setToken] = useState<string | null>(() => adoptViewToken());
  const store = useMemo(() => new LiveStore(), []);
  const [live, setLive] = useState(store.state);
  const [theme, setTheme] = useState<Theme>(savedTheme);
  const [action, setAction] = useState<ActionSpec | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [sending, setSending] = useState(false);

  useEffect(() => store.subscribe(setLive), [store]);
  useEffect(() => {
    if (action && !sending && live.status && !stillOffered(action, live.status.services)) {
      setAction(null);
      setNotice(
        `${action.service} changed while you were confirming "${action.label}": look again before you act`,
      );
    }
  }, [action, sending, live.status]);
  useEffect(() => {
    if (token) store.start(token);
    return () => store.stop();
  }, [store, token]);

  if (!token || live.connection === "refused") {
    return (
      <TokenGate
        problem={live.connection === "refused" ? `The server refused the token: ${live.problem}` : null}
        onToken={(t) => {
          setViewToken(t);
          setToken(t);
          if (t === token) store.start(t); // the same token again: the effect would not run
        }}
      />
    );
  }
  // On a fleet (etcd) the status also lists the nodes and the leader.
  const status = live.status as
    | (LiveState["status"] & { nodes?: FleetNodeView[]; leader?: { node: string; admin?: string } })
    | null;
  const chartTheme = effectiveTheme(theme);
  return (
    <>
      <header class="top">
        <h1>teal</h1>
        <span class={`conn conn-${live.connection}`} role="status" data-testid="connection">
          {CONNECTION_TEXT[live.connection]}
          {live.problem ? `: ${live.problem}` : ""}
        </span>
        {status && <span class="muted proxy">proxy {status.proxy}</span>}
        <button
          type="button"
          class="theme"
          onClick={() => {
            // Before the re-render, so that the charts read the new theme's colors.
            applyTheme(NEXT[theme]);
            setTheme(NEXT[theme]);
          }}
          aria-label={`theme: ${theme}; change`}
        >
          {theme === "auto" ? "◐ auto" : theme === "light" ? "☀ light" : "☾ dark"}
        </button>
        <button
          type="button"
          onClick={() => {
            forgetViewToken();
            store.stop();
            setToken(null);
          }}
        >
          Sign out
        </button>
      </header>
      <p class="notice" aria-live="polite" data-testid="notice">
        {notice}
      </p>
      <main>
        {!status && <p class="muted">waiting for the server…</p>}
        {status?.nodes && <NodesPanel nodes={status.nodes} leader={status.leader} />}
        {status?.services.length === 0 && <p>No services are configured.</p>}
        {status?.services.map((s) => (
          <ServiceCard
            key={s.name}
            service={s}
            samples={live.samples}
            markers={live.markers}
            token={token}
            theme={chartTheme}
            onAction={(a) => {
              setNotice(null);
              setAction(a);
            }}
          />
        ))}
        {status?.tls && <CertificatesPanel certificates={status.tls.certificates} />}
      </main>
      {action && (
        <ActionDialog
          action={action}
          onSending={setSending}
          onClose={(done) => {
            setAction(null);
            if (done) setNotice(done);
          }}
        />
      )}
    </>
  );
}
