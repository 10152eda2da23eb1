import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { get } from "../support/http.ts";

describe("routing by host and path", () => {
  const backends: Backend[] = [];
  let url = "";
  let close: () => Promise<void>;

  before(async () => {
    const [shop, api, wild, fallback] = await Promise.all(
      ["shop", "api", "wild", "fallback"].map((n) =>
        startBackend(n, (req, res, name) => res.end(`${name} ${req.url}`)),
      ),
    );
    backends.push(shop!, api!, wild!, fallback!);
    const started = await startDataPlane([
      serviceSpec(
        "shop",
        { blue: [shop!.url], green: [] },
        { routes: [{ host: "shop.example.com", path: "/", stripPrefix: false }] },
      ),
      serviceSpec(
        "api",
        { blue: [api!.url], green: [] },
        { routes: [{ host: "shop.example.com", path: "/api", stripPrefix: true }] },
      ),
      serviceSpec(
        "wild",
        { blue: [wild!.url], green: [] },
        { routes: [{ host: "*.example.com", path: "/", stripPrefix: false }] },
      ),
      serviceSpec(
        "fallback",
        { blue: [fallback!.url], green: [] },
        { routes: [{ host: "other.test", path: "/docs", stripPrefix: false }] },
      ),
    ]);
    url = started.url;
    close = () => started.plane.close();
  });
  after(async () => {
    await close();
    await Promise.all(backends.map((b) => b.close()));
  });

  it("routes an exact host to its service", async () => {
    assert.equal((await get(`${url}/cart`, { host: "shop.example.com" })).body, "shop /cart");
  });

  it("matches the host case-insensitively and ignores the port", async () => {
    assert.equal((await get(`${url}/x`, { host: "SHOP.Example.com:8443" })).body, "shop /x");
  });

  it("sends the longest matching path prefix to its service and strips the prefix when asked", async () => {
    assert.equal(
      (await get(`${url}/api/orders?id=7`, { host: "shop.example.com" })).body,
      "api /orders?id=7",
    );
    assert.equal((await get(`${url}/api`, { host: "shop.example.com" })).body, "api /");
    assert.equal((await get(`${url}/api?q=1`, { host: "shop.example.com" })).body, "api /?q=1");
  });

  it("matches a path prefix only at a segment boundary", async () => {
    assert.equal((await get(`${url}/apiary`, { host: "shop.example.com" })).body, "shop /apiary");
  });

  it("routes any subdomain to a wildcard host, but not the bare domain", async () => {
    assert.equal((await get(`${url}/`, { host: "eu.example.com" })).body, "wild /");
    assert.equal((await get(`${url}/`, { host: "a.b.example.com" })).body, "wild /");
    assert.equal((await get(`${url}/`, { host: "example.com" })).status, 404);
  });

  it("answers an unknown host with 404 and a body that names the host", async () => {
    const r = await get(`${url}/x`, { host: "nobody.test" });
    assert.equal(r.status, 404);
    assert.match(r.body, /no service is configured for host "nobody.test"/);
    assert.equal(r.headers["x-teal-error"], "no_route");
  });

  it("answers a known host with no matching path with 404", async () => {
    assert.equal((await get(`${url}/elsewhere`, { host: "other.test" })).status, 404);
    assert.equal((await get(`${url}/docs/a`, { host: "other.test" })).body, "fallback /docs/a");
  });
});
