import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { colorForKey, colorForRandom, fnv1a32 } from "../../src/domain/split.ts";

describe("traffic split", () => {
  it("hashes with FNV-1a 32-bit", () => {
    assert.equal(fnv1a32(""), 0x811c9dc5);
    assert.equal(fnv1a32("a"), 0xe40c292c);
    assert.equal(fnv1a32("foobar"), 0xbf9cf968);
  });

  it("puts 10,000 user keys at 30% green within ±2 points", () => {
    let green = 0;
    for (let i = 0; i < 10_000; i++) if (colorForKey(`user-${i}`, 30) === "green") green++;
    assert.ok(Math.abs(green / 100 - 30) <= 2, `got ${green / 100}%`);
  });

  for (const percent of [1, 10, 50, 90]) {
    it(`keeps ${percent}% within ±2 points for random-looking keys`, () => {
      let green = 0;
      for (let i = 0; i < 10_000; i++)
        if (colorForKey(`${i * 7919}:${(i * 104_729) % 65_536}`, percent) === "green") green++;
      assert.ok(Math.abs(green / 100 - percent) <= 2, `got ${green / 100}%`);
    });
  }

  it("always gives the same key the same color at a given share", () => {
    for (let i = 0; i < 1_000; i++) {
      const key = `session-${i}`;
      const first = colorForKey(key, 30);
      for (let j = 0; j < 5; j++) assert.equal(colorForKey(key, 30), first);
    }
  });

  it("only moves users from blue to green as the green share grows", () => {
    for (let i = 0; i < 2_000; i++) {
      const key = `u${i}`;
      let wasGreen = false;
      for (let p = 0; p <= 100; p += 5) {
        const isGreen = colorForKey(key, p) === "green";
        assert.ok(!wasGreen || isGreen, `${key} went back to blue at ${p}%`);
        wasGreen = isGreen;
      }
    }
  });

  it("sends everything to one color at 0% and 100%", () => {
    assert.equal(colorForKey("x", 0), "blue");
    assert.equal(colorForKey("x", 100), "green");
    assert.equal(colorForRandom(0.999, 0), "blue");
    assert.equal(colorForRandom(0, 100), "green");
  });
});
