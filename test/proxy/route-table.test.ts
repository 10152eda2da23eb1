/** The route table, called directly: host precedence, segment-boundary prefixes and prefix stripping. */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RouteConfig } from "../../src/config/schema.ts";
import { EndpointRegistry } from "../../src/proxy/endpoint-registry.ts";
import { normalizeHost, RouteTable } from "../../src/proxy/route-table.ts";
import { ServiceTarget } from "../../src/proxy/service-target.ts";
import { serviceSpec, testEngine, testSettings } from "../support/data-plane.ts";

const target = (name: string) =>
  new ServiceTarget(
    serviceSpec(name, { blue: [], green: [] }),
    new EndpointRegistry(testSettings, testEngine()),
    () => {},
  );

const route = (path: string, host?: string, stripPrefix = false): RouteConfig => ({
  path,
  stripPrefix,
  ...(host !== undefined && { host }),
});

function table(services: Record<string, RouteConfig[]>) {
  return new RouteTable(Object.entries(services).map(([name, routes]) => ({ target: target(name), routes })));
}

const where = (t: RouteTable, host: string | undefined, path: string) => {
  const m = t.match(host, path);
  return m ? `${m.service.name}${m.strip ? ` -${m.strip}` : ""}` : "none";
};

describe("the route table", () => {
  it("prefers an exact host, then the longest wildcard, then routes for any host", () => {
    const t = table({
      exact: [route("/", "api.example.com")],
      deep: [route("/", "*.eu.example.com")],
      wide: [route("/", "*.example.com")],
      fallback: [route("/")],
    });
    assert.equal(where(t, "api.example.com", "/x"), "exact");
    assert.equal(where(t, "shop.eu.example.com", "/x"), "deep");
    assert.equal(where(t, "shop.example.com", "/x"), "wide");
    assert.equal(where(t, "example.com", "/x"), "fallback", "a wildcard needs a label before its suffix");
    assert.equal(where(t, undefined, "/x"), "fallback");
  });

  it("matches a path prefix only at a segment boundary, and falls through to the next host rule", () => {
    const t = table({ api: [route("/api/", "app.test")], site: [route("/")] });
    assert.equal(where(t, "app.test", "/api"), "api");
    assert.equal(where(t, "app.test", "/api/users"), "api");
    assert.equal(where(t, "app.test", "/api?q=1"), "api");
    assert.equal(where(t, "app.test", "/apix"), "site");
    const none = table({ api: [route("/api")] });
    assert.equal(where(none, "app.test", "/other"), "none");
  });

  it("strips a prefix only when asked, and never the root", () => {
    const t = table({ api: [route("/api", undefined, true)], root: [route("/", "root.test", true)] });
    assert.equal(where(t, "x.test", "/api/users"), "api -/api");
    assert.equal(where(t, "root.test", "/users"), "root");
  });

  it("reads the Host header without its port, case or trailing dot", () => {
    assert.deepEqual(
      ["API.Example.com:8443", "app.test.", "[::1]:8080", "[::1]", "localhost"].map(normalizeHost),
      ["api.example.com", "app.test", "[::1]", "[::1]", "localhost"],
    );
    const t = table({ exact: [route("/", "api.example.com")] });
    assert.equal(where(t, "API.example.com.:443", "/"), "exact");
  });
});
