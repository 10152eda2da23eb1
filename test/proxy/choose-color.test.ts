/**
 * The color choice, called directly on a service built from its spec: the precedence override
 * header > allowlist > sticky key > weights, without a socket.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { RoutingState } from "../../src/domain/routing.ts";
import { chooseColor, overrideColor, readCookie } from "../../src/proxy/choose-color.ts";
import { EndpointRegistry } from "../../src/proxy/endpoint-registry.ts";
import { ServiceTarget } from "../../src/proxy/service-target.ts";
import type { ServiceSpec } from "../../src/traffic/spec.ts";
import { serviceSpec, testEngine, testSettings } from "../support/data-plane.ts";

const endpoints = { blue: ["http://127.0.0.1:1"], green: ["http://127.0.0.1:2"] };
const inside = "127.0.0.1";
const outside = "203.0.113.9";

function service(routing: Partial<RoutingState>, extra: Partial<Omit<ServiceSpec, "routing">> = {}) {
  return new ServiceTarget(
    serviceSpec("web", endpoints, { ...extra, routing }),
    new EndpointRegistry(testSettings, testEngine()),
    () => {},
  );
}

/** Everything on: override header, sticky cookie and header, and one allowlisted user. */
const full = (routing: Partial<RoutingState>) =>
  service(routing, {
    sticky: { cookie: "teal_user", header: "x-user", setCookie: false },
    allowlist: ["tester"],
  });

/** A sticky key that lands on the given color at the given share. */
function keyOn(color: "blue" | "green", greenPercent: number, svc = full({ greenPercent })): string {
  for (let i = 0; ; i++) {
    const key = `user-${i}`;
    if (key !== "tester" && chooseColor(svc, { "x-user": key }, outside).color === color) return key;
  }
}

describe("the color choice's precedence", () => {
  it("takes the override header first, over an allowlisted user and a sticky key", () => {
    const svc = full({ live: "blue", greenPercent: 50 });
    const blueKey = keyOn("blue", 50, svc);
    const choice = chooseColor(
      svc,
      { "x-teal-color": "green", "x-user": blueKey, cookie: "teal_user=tester" },
      inside,
    );
    assert.deepEqual(choice, { color: "green", reason: "override", newStickyKey: undefined });
    const stable = chooseColor(svc, { "x-teal-color": "stable", "x-user": "tester" }, inside);
    assert.deepEqual([stable.color, stable.reason], ["blue", "override"]);
  });

  it("ignores an override from outside allowFrom, or one it cannot read, and goes on down the list", () => {
    const svc = full({ live: "blue", greenPercent: 0 });
    const fromOutside = chooseColor(svc, { "x-teal-color": "green", "x-user": "tester" }, outside);
    assert.deepEqual([fromOutside.color, fromOutside.reason], ["green", "allowlist"]);
    const unknownClient = chooseColor(svc, { "x-teal-color": "green" }, undefined);
    assert.deepEqual([unknownClient.color, unknownClient.reason], ["blue", "weight"]);
    const unreadable = chooseColor(svc, { "x-teal-color": "purple" }, inside);
    assert.deepEqual([unreadable.color, unreadable.reason], ["blue", "weight"]);
    const off = service({ greenPercent: 0 }, { override: false });
    assert.equal(chooseColor(off, { "x-teal-color": "green" }, inside).reason, "weight");
  });

  it("sends an allowlisted user to the color that is not live, even at 0% and over their sticky bucket", () => {
    assert.deepEqual(chooseColor(full({ live: "blue", greenPercent: 0 }), { "x-user": "tester" }, outside), {
      color: "green",
      reason: "allowlist",
      newStickyKey: undefined,
    });
    const onGreen = full({ live: "green", greenPercent: 100 });
    assert.deepEqual(
      [chooseColor(onGreen, { cookie: "a=1; teal_user=tester" }, outside).color],
      ["blue"],
      "the new color is blue once green is live",
    );
  });

  it("keeps a sticky user on the color of their bucket, the header before the cookie", () => {
    const svc = full({ greenPercent: 30 });
    const green = keyOn("green", 30, svc);
    const blue = keyOn("blue", 30, svc);
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(chooseColor(svc, { "x-user": green }, outside), {
        color: "green",
        reason: "sticky",
        newStickyKey: undefined,
      });
    }
    const both = chooseColor(svc, { "x-user": blue, cookie: `teal_user=${green}` }, outside);
    assert.deepEqual([both.color, both.reason], ["blue", "sticky"], "the header wins over the cookie");
    const byCookie = chooseColor(svc, { "x-user": "", cookie: `teal_user=${green}` }, outside);
    assert.deepEqual([byCookie.color, byCookie.reason], ["green", "sticky"], "an empty header is no key");
  });

  it("hands a new user a sticky key when set to, and draws by weight otherwise", () => {
    const issuing = service({ greenPercent: 50 }, { sticky: { cookie: "teal_user", setCookie: true } });
    const fresh = chooseColor(issuing, {}, outside);
    assert.equal(fresh.reason, "sticky");
    assert.match(fresh.newStickyKey ?? "", /^[a-z0-9]{8,}$/);
    const again = chooseColor(issuing, { cookie: `teal_user=${fresh.newStickyKey}` }, outside);
    assert.deepEqual([again.color, again.newStickyKey], [fresh.color, undefined], "the key keeps its color");

    assert.deepEqual(chooseColor(service({ greenPercent: 0 }), {}, outside), {
      color: "blue",
      reason: "weight",
      newStickyKey: undefined,
    });
    assert.equal(chooseColor(service({ live: "green", greenPercent: 100 }), {}, outside).color, "green");
    const half = service({ greenPercent: 50 });
    const greens = Array.from({ length: 4_000 }, () => chooseColor(half, {}, outside)).filter(
      (c) => c.color === "green",
    ).length;
    assert.ok(greens > 1_700 && greens < 2_300, `${greens} of 4000 on green at 50%`);
  });

  it("reads override values and cookies as documented", () => {
    assert.deepEqual(
      ["blue", "GREEN", " canary ", "true", "1", "new", "stable", "live", "false", "0", "maybe"].map((v) =>
        overrideColor(v, "blue"),
      ),
      ["blue", "green", "green", "green", "green", "green", "blue", "blue", "blue", "blue", undefined],
    );
    assert.equal(readCookie("a=1; teal_user=k1 ; b=2", "teal_user"), "k1");
    assert.equal(readCookie("teal_user=", "teal_user"), undefined);
    assert.equal(readCookie("xteal_user=k; other", "teal_user"), undefined);
    assert.equal(readCookie(undefined, "teal_user"), undefined);
  });
});
