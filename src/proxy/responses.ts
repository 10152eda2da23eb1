/** Answers the proxy gives itself (no upstream involved), each with a clear body and a stable code. */

import type { ProxyResponse as ClientResponse } from "./engine.ts";

export type ProxyErrorCode =
  | "no_route"
  | "no_endpoints"
  | "maintenance"
  | "paused_too_long"
  | "upstream_unreachable"
  | "upstream_connect_timeout"
  | "upstream_timeout"
  | "upstream_closed"
  | "upstream_bad_response"
  | "upstream_queue_full"
  | "upstream_queue_timeout"
  | "client_request_limit"
  | "drain_deadline"
  | "internal_error";

const REASONS: Record<number, string> = {
  404: "Not Found",
  429: "Too Many Requests",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * Writes a proxy-generated response. HTML for browsers, JSON for clients that ask for it, plain
 * text otherwise. Does nothing more than cut the connection if a response already started.
 */
export function sendProxyError(
  res: ClientResponse,
  status: number,
  code: ProxyErrorCode,
  message: string,
  extraHeaders: Record<string, string> = {},
): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const accept = res.req.headers.accept ?? "";
  let type = "text/plain; charset=utf-8";
  let body = `${status} ${REASONS[status] ?? ""}: ${message}\n`;
  if (accept.includes("application/json")) {
    type = "application/json";
    body = JSON.stringify({ error: { code, message } });
  } else if (accept.includes("text/html")) {
    type = "text/html; charset=utf-8";
    body = `<!doctype html><html><head><meta charset="utf-8"><title>${status} ${REASONS[status] ?? ""}</title></head><body style="font-family:system-ui;margin:3rem"><h1>${status} ${REASONS[status] ?? ""}</h1><p>${escapeHtml(message)}</p></body></html>\n`;
  }
  const headers = ["content-type", type, "content-length", String(Buffer.byteLength(body))];
  headers.push("cache-control", "no-store", "x-teal-error", code);
  for (const [name, value] of Object.entries(extraHeaders)) headers.push(name, value);
  res.writeHead(status, undefined, headers);
  res.end(Buffer.from(body));
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
