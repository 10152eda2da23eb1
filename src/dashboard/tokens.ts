/**
 * The page's two tokens. The view token arrives in the URL fragment (never sent to the server),
 * moves to sessionStorage and leaves the address bar. The admin token is asked for by each
 * action and kept for the tab only when the user ticks "remember".
 */

const VIEW = "teal.viewToken";
const ADMIN = "teal.adminToken";

/** Takes `#view=…` out of the address bar into this tab's storage; returns the view token. */
export function adoptViewToken(): string | null {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("view");
  if (given) {
    sessionStorage.setItem(VIEW, given);
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(VIEW);
}

export function setViewToken(token: string): void {
  sessionStorage.setItem(VIEW, token);
}

export function forgetViewToken(): void {
  sessionStorage.removeItem(VIEW);
}

export function rememberedAdminToken(): string | null {
  return sessionStorage.getItem(ADMIN);
}

export function rememberAdminToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(ADMIN);
  else sessionStorage.setItem(ADMIN, token);
}
