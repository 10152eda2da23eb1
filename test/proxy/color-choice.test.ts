import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type Backend, startBackend } from "../support/backends.ts";
import { serviceSpec, startDataPlane } from "../support/data-plane.ts";
import { get, load } from "../support/http.ts";

describe("choosing a color per request", () => {
  let blue: Backend;
  let green: Backend;
  before(async () => {
    blue = await startBackend("blue");
    green = await startBackend("green");
  });
  after(async () => Promise.all([blue.close(), green.close()]));

  it("splits unpinned traffic by weight", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      { routing: { greenPercent: 30 } },
    );
    const { plane, url } = await startDataPlane([spec]);
    const r = await load(`${url}/`, { total: 2_000, connections: 16 });
    await plane.close();
    const share = (r.bodies.get("green") ?? 0) / 20;
    assert.ok(Math.abs(share - 30) <= 5, `green got ${share}%`);
  });

  it("pins a request to a color with the override header, from an allowed address", async () => {
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] });
    const { plane, url } = await startDataPlane([spec]);
    assert.equal((await get(`${url}/`, { "x-teal-color": "green" })).body, "green");
    assert.equal((await get(`${url}/`, { "x-teal-color": "blue" })).body, "blue");
    await plane.close();
  });

  it("supports an x-canary: true style header that means the non-live color", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      {
        override: { header: "x-canary", allowFrom: ["127.0.0.1/32"] },
      },
    );
    const { plane, url } = await startDataPlane([spec]);
    assert.equal((await get(`${url}/`, { "x-canary": "true" })).body, "green");
    assert.equal((await get(`${url}/`, { "x-canary": "false" })).body, "blue");
    assert.equal(
      (await get(`${url}/`, { "x-teal-color": "green" })).body,
      "blue",
      "the default header is off",
    );
    await plane.close();
  });

  it("ignores the override header from clients outside allowFrom, so outsiders cannot reach an unreleased color", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      {
        override: { header: "x-teal-color", allowFrom: ["10.0.0.0/8"] },
      },
    );
    const { plane, url } = await startDataPlane([spec]);
    for (let i = 0; i < 20; i++)
      assert.equal((await get(`${url}/`, { "x-teal-color": "green" })).body, "blue");
    await plane.close();
  });

  it("ignores the override header entirely when override is off", async () => {
    const spec = serviceSpec("web", { blue: [blue.url], green: [green.url] }, { override: false });
    const { plane, url } = await startDataPlane([spec]);
    assert.equal((await get(`${url}/`, { "x-teal-color": "green" })).body, "blue");
    await plane.close();
  });

  it("keeps each user on one color by the sticky cookie, at the configured share", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      {
        sticky: { cookie: "uid", setCookie: false },
        routing: { greenPercent: 30 },
      },
    );
    const { plane, url } = await startDataPlane([spec]);
    let greens = 0;
    for (let user = 0; user < 200; user++) {
      const seen = new Set<string>();
      for (let j = 0; j < 3; j++)
        seen.add((await get(`${url}/`, { cookie: `theme=dark; uid=user-${user}` })).body);
      assert.equal(seen.size, 1, `user-${user} saw ${[...seen]}`);
      if (seen.has("green")) greens++;
    }
    await plane.close();
    assert.ok(Math.abs(greens / 2 - 30) <= 8, `green users ${greens / 2}%`);
  });

  it("keeps each user on one color by a sticky header", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      {
        sticky: { header: "x-user-id", setCookie: false },
        routing: { greenPercent: 50 },
      },
    );
    const { plane, url } = await startDataPlane([spec]);
    for (let user = 0; user < 50; user++) {
      const a = (await get(`${url}/`, { "x-user-id": `u${user}` })).body;
      const b = (await get(`${url}/`, { "x-user-id": `u${user}` })).body;
      assert.equal(a, b);
    }
    await plane.close();
  });

  it("issues a sticky cookie to new users when asked, and honours it afterwards", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      {
        sticky: { cookie: "teal_user", setCookie: true },
        routing: { greenPercent: 50 },
      },
    );
    const { plane, url } = await startDataPlane([spec]);
    const first = await get(`${url}/`);
    const cookie = String(first.headers["set-cookie"]).split(";")[0]!;
    assert.match(cookie, /^teal_user=\w+$/);
    for (let i = 0; i < 5; i++) assert.equal((await get(`${url}/`, { cookie })).body, first.body);
    await plane.close();
  });

  it("sends allowlisted users to the new color even at 0%", async () => {
    const spec = serviceSpec(
      "web",
      { blue: [blue.url], green: [green.url] },
      {
        sticky: { cookie: "uid", setCookie: false },
        allowlist: ["alice"],
      },
    );
    const { plane, url } = await startDataPlane([spec]);
    assert.equal((await get(`${url}/`, { cookie: "uid=alice" })).body, "green");
    assert.equal((await get(`${url}/`, { cookie: "uid=bob" })).body, "blue");
    await plane.close();
  });
});
