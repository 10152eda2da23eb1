/**
 * The plain listener answers ACME HTTP-01 tokens teal set, before routing, on both engines;
 * any other path under /.well-known/acme-challenge/ is routed to the service as before.
 */

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { get as httpGet } from "../support/http.ts";

for (const engine of ["fast", "node-http"] as const) {
  describe(`ACME HTTP-01 on the plain listener (${engine} engine)`, () => {
    let backend: Backend;
    let proxy: Awaited<ReturnType<typeof startDataPlane>>;

    before(async () => {
      backend = await startBackend("blue");
      proxy = await startDataPlane(
        [
          serviceSpec(
            "app",
            { blue: [backend.url], green: [] },
            { routes: [{ host: "app.test", path: "/", stripPrefix: false }] },
          ),
        ],
        { engine },
      );
    });

    after(async () => {
      await proxy.plane.close(0);
      await backend.close();
    });

    const get = async (path: string, host = "app.test") => {
      const reply = await httpGet(`${proxy.url}${path}`, { host });
      return { status: reply.status, type: reply.headers["content-type"], body: reply.body };
    };

    it("answers a token teal set with its key authorization, for any host, until it is removed", async () => {
      proxy.plane.setChallenge("tok-1", "tok-1.thumbprint");
      assert.deepEqual(await get("/.well-known/acme-challenge/tok-1"), {
        status: 200,
        type: "text/plain",
        body: "tok-1.thumbprint",
      });
      // The CA asks by the host it validates; a host no route serves is answered too.
      assert.equal(
        (await get("/.well-known/acme-challenge/tok-1", "elsewhere.test")).body,
        "tok-1.thumbprint",
      );
      proxy.plane.setChallenge("tok-1", undefined);
      assert.equal((await get("/.well-known/acme-challenge/tok-1")).body, "blue");
    });

    it("routes other tokens and paths to the service as before", async () => {
      proxy.plane.setChallenge("tok-2", "tok-2.thumbprint");
      assert.equal((await get("/.well-known/acme-challenge/other")).body, "blue");
      assert.equal((await get("/")).body, "blue");
      assert.equal((await get("/.well-known/acme-challenge/tok-2")).body, "tok-2.thumbprint");
      proxy.plane.setChallenge("tok-2", undefined);
    });
  });
}
