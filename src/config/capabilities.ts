/**
 * What each traffic router can do, as data, and the check that refuses a service config asking a
 * router for something it cannot do. Pure: no I/O, used by the config schema.
 */

import { isIP } from "node:net";
import type { RouterConfig } from "./router-schema.ts";

export type RouterKind = "teal" | "nginx" | "haproxy";

export interface RouterCapabilities {
  /** Weighted canary steps (a green share between 0 and 100). */
  readonly weights: boolean;
  /** Routing by the override header: `all` values (blue, green, canary, stable…), `colors` (blue/green). */
  readonly headerOverride: "all" | "colors" | false;
  /** The same user key (cookie or header) always gets the same color at a given share. */
  readonly sticky: boolean;
  /** Handing out a sticky cookie to clients without one. */
  readonly stickySetCookie: boolean;
  /** Allowlisted user keys always reach the new color. */
  readonly allowlist: boolean;
  /** Holding requests while a service is paused. */
  readonly pause: boolean;
  /** Answering 503 while in maintenance. */
  readonly maintenance: boolean;
  /** Reporting when the old color's in-flight requests have finished after a switch. */
  readonly drainReport: boolean;
  /** Per-color response counts by status class (errorRate checks). */
  readonly errorMetrics: boolean;
  /** Per-color latency histograms (p50/p95/p99 checks). */
  readonly latencyMetrics: boolean;
  /** How `apply` proves traffic moved before it resolves. */
  readonly verification: string;
}

export const CAPABILITIES: Readonly<Record<RouterKind, RouterCapabilities>> = {
  teal: {
    weights: true,
    headerOverride: "all",
    sticky: true,
    stickySetCookie: true,
    allowlist: true,
    pause: true,
    maintenance: true,
    drainReport: true,
    errorMetrics: true,
    latencyMetrics: true,
    verification: "in-process: every proxy process acknowledges the generation",
  },
  nginx: {
    weights: true,
    headerOverride: "all",
    sticky: true,
    stickySetCookie: false,
    allowlist: false,
    pause: false,
    maintenance: true,
    drainReport: true,
    errorMetrics: true,
    latencyMetrics: true,
    verification: "probe through nginx on new connections until it serves the new generation",
  },
  haproxy: {
    weights: true,
    headerOverride: "colors",
    sticky: false,
    stickySetCookie: false,
    allowlist: false,
    pause: false,
    maintenance: true,
    drainReport: true,
    errorMetrics: true,
    latencyMetrics: false,
    verification: "read back every server's address, weight and state over the runtime API",
  },
};

export function routerKind(router: RouterConfig): RouterKind {
  return router === "teal" ? "teal" : router.type;
}

/** The parts of a service config that a router may not support. */
export interface RoutedServiceConfig {
  readonly router: RouterConfig;
  readonly strategy: object;
  readonly override: false | { readonly header: string };
  readonly sticky?:
    | {
        readonly setCookie: boolean;
        readonly cookie?: string | undefined;
        readonly header?: string | undefined;
      }
    | undefined;
  /** Static endpoints (http:// URLs), only set for runtime static. */
  readonly blue?: readonly string[];
  readonly green?: readonly string[];
  readonly allowlist: readonly string[];
  readonly analysis: { readonly checks: readonly { readonly name: string; readonly metric?: string }[] };
}

export interface CapabilityIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Every way the service config asks its router for more than it can do; empty when it fits. */
export function capabilityIssues(svc: RoutedServiceConfig): CapabilityIssue[] {
  const kind = routerKind(svc.router);
  const can = CAPABILITIES[kind];
  const issues: CapabilityIssue[] = [];
  const refuse = (path: (string | number)[], what: string, fix: string) =>
    issues.push({ path, message: `the ${kind} router cannot ${what}; ${fix}, or use router: teal` });
  if (svc.override !== false) {
    const backends = svc.router !== "teal" && svc.router.type === "haproxy" && svc.router.overrideBackends;
    if (kind === "haproxy" && !backends) {
      refuse(
        ["override"],
        "route by the override header without router.overrideBackends (a backend per color)",
        "set override: false or add router.overrideBackends and the use_backend rule from the README",
      );
    }
  }
  if (svc.sticky !== undefined && !can.sticky) {
    refuse(["sticky"], "keep users on one color by cookie or header", "remove sticky");
  } else if (svc.sticky?.setCookie && !can.stickySetCookie) {
    refuse(
      ["sticky", "setCookie"],
      "hand out sticky cookies",
      "set setCookie: false and have your app set the cookie",
    );
  }
  if (svc.allowlist.length > 0 && !can.allowlist) {
    refuse(
      ["allowlist"],
      "send allowlisted users to the new color",
      "remove allowlist (use the override header)",
    );
  }
  const strategy = svc.strategy as { canary?: unknown; preset?: string };
  const usesWeights = strategy.canary !== undefined || (strategy.preset ?? "AllAtOnce") !== "AllAtOnce";
  if (usesWeights && !can.weights) refuse(["strategy"], "split traffic by weight", "use blueGreen");
  svc.analysis.checks.forEach((check, i) => {
    if (check.metric === undefined) return;
    const latency = check.metric !== "errorRate";
    if (latency ? !can.latencyMetrics : !can.errorMetrics) {
      refuse(
        ["analysis", "checks", i, "metric"],
        `measure ${check.metric} per color (check "${check.name}")`,
        latency ? "use metric errorRate, a prometheus or a web check" : "use a prometheus or a web check",
      );
    }
  });
  if (kind === "nginx") issues.push(...nginxNameIssues(svc));
  if (kind === "haproxy") issues.push(...haproxyEndpointIssues(svc));
  return issues;
}

/** Names nginx reads through a variable ($http_…, $cookie_…): only what the variable can spell. */
const NGINX_HEADER = /^[A-Za-z0-9-]+$/;
const NGINX_COOKIE = /^[A-Za-z0-9_]+$/;

function nginxNameIssues(svc: RoutedServiceConfig): CapabilityIssue[] {
  const issues: CapabilityIssue[] = [];
  const header = (path: (string | number)[], name: string | undefined) => {
    if (name === undefined || NGINX_HEADER.test(name)) return;
    issues.push({
      path,
      message: `the nginx router reads this header through a $http_ variable, which cannot spell "${name}": use a header name of letters, digits and - only (e.g. x-teal-color), or use router: teal`,
    });
  };
  if (svc.override !== false) header(["override", "header"], svc.override.header);
  header(["sticky", "header"], svc.sticky?.header);
  const cookie = svc.sticky?.cookie;
  if (cookie !== undefined && !NGINX_COOKIE.test(cookie)) {
    issues.push({
      path: ["sticky", "cookie"],
      message: `the nginx router reads this cookie through a $cookie_ variable, which cannot spell "${cookie}": use a cookie name of letters, digits and _ only (e.g. teal_user), or use router: teal`,
    });
  }
  return issues;
}

/** HAProxy's runtime API sets server addresses, not names: static endpoints must be IP literals. */
function haproxyEndpointIssues(svc: RoutedServiceConfig): CapabilityIssue[] {
  const issues: CapabilityIssue[] = [];
  for (const color of ["blue", "green"] as const) {
    (svc[color] ?? []).forEach((url, i) => {
      let host: string;
      try {
        host = new URL(url).hostname;
      } catch {
        return; // the URL check reports it
      }
      const ip = isIP(host) === 4 || (/^\[.+\]$/.test(host) && isIP(host.slice(1, -1)) === 6);
      if (!ip) {
        issues.push({
          path: [color, i],
          message: `the haproxy router sets server addresses through its runtime API, which takes an IP address, not the host name "${host}": write the IP, e.g. http://10.0.0.5:9001 or http://[::1]:9001, or use router: teal`,
        });
      }
    });
  }
  return issues;
}
