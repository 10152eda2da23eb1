import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { CAPABILITIES } from "../../src/config/capabilities.ts";
import type { DataPlanePort } from "../../src/control/data-plane-port.ts";
import { isTealError } from "../../src/domain/errors.ts";
import { createLogger } from "../../src/log/logger.ts";
import { RoutedDataPlane } from "../../src/routers/routed-data-plane.ts";
import type { Router } from "../../src/routers/router.ts";
import { OwnProxy } from "../../src/routers/teal/own-proxy.ts";
import { TealRouter } from "../../src/routers/teal/teal-router.ts";
import { NO_LISTENER_STATS } from "../../src/traffic/listener-stats.ts";
import type { DataPlaneSpec, ServiceSpec } from "../../src/traffic/spec.ts";
import type { ServiceRuntimeStatus } from "../../src/traffic/status.ts";
import { ClusterDataPlane } from "../../src/workers/cluster-data-plane.ts";
import { serviceSpec, testSettings } from "../support/data-plane.ts";

/** teal's own DataPlanePort, faked: it records every apply and status read. */
function recordingProxy(fail: () => Error | undefined = () => undefined) {
  const applies: DataPlaneSpec[] = [];
  let reads = 0;
  const port: DataPlanePort = {
    apply: async (spec) => {
      const err = fail();
      if (err) throw err;
      applies.push(spec);
    },
    status: async () => {
      reads++;
      return (applies.at(-1)?.services ?? []).map((s) => view(s.name));
    },
    listenerStats: async () => NO_LISTENER_STATS,
    drained: async () => undefined,
    listen: async () => "127.0.0.1:0",
    close: async () => {},
  };
  return { port, applies, reads: () => reads };
}

function view(service: string): ServiceRuntimeStatus {
  const zero = {
    byClass: [0, 0, 0, 0, 0, 0],
    clientAborted: 0,
    inFlight: 0,
    bytesIn: 0,
    bytesOut: 0,
    latencyBuckets: [],
  };
  return { service, generation: 1, held: 0, drains: [], endpoints: [], stats: { blue: zero, green: zero } };
}

const spec = (name: string, greenPercent = 0): ServiceSpec =>
  serviceSpec(
    name,
    { blue: ["http://127.0.0.1:9001"], green: ["http://127.0.0.1:9002"] },
    { routing: { live: greenPercent === 100 ? "green" : "blue", greenPercent } },
  );

/** Services a, b, c on teal's proxy (and, when given, "edge" on another router). */
function plane(port: DataPlanePort, extra: [string, Router][] = []) {
  const own = new OwnProxy(port);
  const routers = new Map<string, Router>([
    ...["a", "b", "c"].map((n) => [n, new TealRouter(n, own)] as [string, Router]),
    ...extra,
  ]);
  return new RoutedDataPlane(own, routers);
}

describe("teal's own proxy shared by its services (OwnProxy)", () => {
  it("puts a push of three services in force with ONE apply to the proxy, every object kept", async () => {
    const proxy = recordingProxy();
    const routed = plane(proxy.port);
    const [a, b, c] = [spec("a"), spec("b"), spec("c")];
    await routed.apply({ generation: 1, services: [a, b, c] });
    assert.equal(proxy.applies.length, 1);
    assert.equal(proxy.applies[0]!.generation, 1);
    assert.deepEqual(proxy.applies[0]!.services, [a, b, c]);

    // A command on b: one more apply, with a and c the very objects the proxy already has.
    const b2 = spec("b", 100);
    await routed.apply({ generation: 2, services: [a, b2, c] });
    assert.equal(proxy.applies.length, 2);
    const second = proxy.applies[1]!;
    assert.equal(second.generation, 2);
    assert.ok(second.services[0] === a && second.services[1] === b2 && second.services[2] === c);
  });

  it("does not touch the proxy for a push that changed only a service on another router", async () => {
    const proxy = recordingProxy();
    const edgeApplies: number[] = [];
    const edge: Router = {
      kind: "nginx",
      capabilities: CAPABILITIES.nginx,
      start: async () => {},
      apply: async (_spec, generation) => {
        edgeApplies.push(generation);
      },
      status: async () => view("edge"),
      close: async () => {},
    };
    const routed = plane(proxy.port, [["edge", edge]]);
    const services = [spec("a"), spec("b"), spec("c")];
    await routed.apply({ generation: 1, services: [...services, spec("edge")] });
    await routed.apply({ generation: 2, services: [...services, spec("edge", 100)] });
    assert.equal(proxy.applies.length, 1, "the proxy's services did not change");
    assert.deepEqual(edgeApplies, [1, 2]);
  });

  it("fails every service of a swap the proxy did not confirm with one ROUTER_FAILED, and retries it on the next push", async () => {
    let failing = true;
    const proxy = recordingProxy(() => (failing ? new Error("proxy worker 4242 did not answer") : undefined));
    const routed = plane(proxy.port);
    const services = [spec("a"), spec("b"), spec("c")];
    await assert.rejects(routed.apply({ generation: 1, services }), (err) => {
      assert.ok(isTealError(err, "ROUTER_FAILED"), String(err));
      assert.equal(
        (err as Error).message,
        "teal's proxy did not confirm generation 1: proxy worker 4242 did not answer",
        "said once, not once per service",
      );
      return true;
    });
    failing = false;
    await routed.apply({ generation: 2, services });
    assert.equal(proxy.applies.length, 1);
    assert.deepEqual(proxy.applies[0]!.services, services);
  });

  it("refuses a spec the proxy could not serve before it joins the push: the other services go on", async () => {
    const proxy = recordingProxy();
    const routed = plane(proxy.port);
    const bad = { ...spec("b"), endpoints: { blue: ["http://127.0.0.1:99999"], green: [] } };
    await assert.rejects(routed.apply({ generation: 1, services: [spec("a"), bad, spec("c")] }), (err) => {
      assert.ok(isTealError(err, "ROUTER_FAILED"));
      assert.match(
        (err as Error).message,
        /teal router of b: endpoint "http:\/\/127\.0\.0\.1:99999" is not a plain http:\/\/ URL/,
      );
      return true;
    });
    assert.deepEqual(
      proxy.applies.map((s) => s.services.map((x) => x.name)),
      [["a", "c"]],
    );
  });

  it("reads the proxy's status once for all of its services", async () => {
    const proxy = recordingProxy();
    const routed = plane(proxy.port);
    await routed.apply({ generation: 1, services: [spec("a"), spec("b"), spec("c")] });
    const views = await routed.status();
    assert.deepEqual(
      views.map((v) => v.service),
      ["a", "b", "c"],
    );
    assert.equal(proxy.reads(), 1);
    await routed.status();
    assert.equal(proxy.reads(), 2, "a later read is a fresh one");
  });
});

describe("teal's own proxy with no service of its own", () => {
  it("still listens with two proxy workers (every service on another router) and answers 404", {
    timeout: 30_000,
  }, async () => {
    const proxy = new ClusterDataPlane(
      { ...testSettings, accessLog: false },
      2,
      createLogger({ level: "silent" }),
    );
    const edge: Router = {
      kind: "nginx",
      capabilities: CAPABILITIES.nginx,
      start: async () => {},
      apply: async () => {},
      status: async () => view("edge"),
      close: async () => {},
    };
    const routed = new RoutedDataPlane(new OwnProxy(proxy), new Map([["edge", edge]]));
    try {
      await routed.apply({ generation: 1, services: [spec("edge")] });
      const address = await routed.listen();
      const res = await request(`http://${address}/`);
      assert.equal(res.statusCode, 404);
      await res.body.text();
    } finally {
      await routed.close();
    }
  });
});
