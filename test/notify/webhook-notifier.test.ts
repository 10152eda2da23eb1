/** Webhook notifications against real HTTP receivers; backoff runs on a manual clock. */

import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { after, describe, it } from "node:test";
import { type WebhookConfig, webhookSchema } from "../../src/config/schema.ts";
import type { Timer } from "../../src/domain/clock.ts";
import { type NotificationPayload, WebhookNotifier } from "../../src/notify/webhook-notifier.ts";
import { type Backend, startBackend } from "../support/backends.ts";
import { ManualClock } from "../support/manual-clock.ts";

const backends: Backend[] = [];
const notifiers: WebhookNotifier[] = [];
after(async () => {
  for (const n of notifiers) n.close();
  await Promise.all(backends.map((b) => b.close()));
});

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/**
 * An HTTP receiver that records each request; `status(n)` answers the n-th request (from 1),
 * "hang" never answers.
 */
async function receiver(status: (n: number) => number | "hang" = () => 200) {
  const got: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const backend = await startBackend("webhook-receiver", (req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      for (const w of waiters.filter((w) => got.length >= w.count)) w.resolve();
      const answer = status(got.length);
      if (answer !== "hang") res.writeHead(answer).end();
    });
  });
  backends.push(backend);
  return {
    url: `${backend.url}/notify`,
    got,
    bodies: () => got.map((r) => JSON.parse(r.body) as unknown),
    /** Resolves once count requests have arrived. */
    received: (count: number) =>
      new Promise<void>((resolve) => {
        if (got.length >= count) resolve();
        else waiters.push({ count, resolve });
      }),
  };
}

/** A manual clock that also says when timers are set and for how long. */
class WatchedClock extends ManualClock {
  readonly delaysMs: number[] = [];
  #waiters: { count: number; resolve: () => void }[] = [];

  override setTimeout(fn: () => void, ms: number): Timer {
    const timer = super.setTimeout(fn, ms);
    this.delaysMs.push(ms);
    for (const w of this.#waiters.filter((w) => this.delaysMs.length >= w.count)) w.resolve();
    return timer;
  }

  /** Resolves once count timers have been set in all. */
  timersSet(count: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.delaysMs.length >= count) resolve();
      else this.#waiters.push({ count, resolve });
    });
  }
}

const webhook = (input: object): WebhookConfig => webhookSchema.parse(input);
function notifier(...args: ConstructorParameters<typeof WebhookNotifier>): WebhookNotifier {
  const n = new WebhookNotifier(...args);
  notifiers.push(n);
  return n;
}

let seq = 0;
function payload(over: Partial<NotificationPayload> = {}): NotificationPayload {
  return {
    event: "deployment.started",
    service: "web",
    deployment: 7,
    version: "v2",
    color: "green",
    at: new Date(1_700_000_000_000 + seq++).toISOString(),
    message: "deploying v2 to green",
    ...over,
  };
}

describe("webhook notifier", () => {
  it("POSTs the event itself as JSON, with the webhook's headers", async () => {
    const r = await receiver();
    const n = notifier([webhook({ url: r.url, headers: { "X-Token": "w1" } })]);
    const event = payload({ event: "analysis.failed", data: { check: { name: "errors", value: 0.21 } } });
    n.notify(event);
    await n.idle();
    assert.deepEqual(r.bodies(), [event]);
    assert.equal(r.got[0]?.headers["content-type"], "application/json");
    assert.equal(r.got[0]?.headers["x-token"], "w1");
  });

  it("POSTs one readable Slack line for the slack format", async () => {
    const r = await receiver();
    const n = notifier([webhook({ url: r.url, format: "slack" })]);
    n.notify(
      payload({
        event: "deployment.rolled_back",
        message: 'v2 rolled back: analysis "errors" failed:\nerrorRate 0.21 > max 0.05',
      }),
    );
    n.notify(payload({ event: "step.reached", message: "step 1/3: weight 10%" }));
    await n.idle();
    assert.deepEqual(r.bodies(), [
      { text: 'teal: web #7 v2 rolled back: analysis "errors" failed: errorRate 0.21 &gt; max 0.05' },
      { text: "teal: web #7 v2: step 1/3: weight 10%" },
    ]);
  });

  it("sends a webhook only the events it asks for; one without a list gets all", async () => {
    const [picky, all] = [await receiver(), await receiver()];
    const n = notifier([
      webhook({ url: picky.url, events: ["deployment.rolled_back", "deployment.succeeded"] }),
      webhook({ url: all.url }),
    ]);
    const events = (["deployment.started", "deployment.rolled_back", "step.reached"] as const).map((event) =>
      payload({ event }),
    );
    for (const e of events) n.notify(e);
    await n.idle();
    assert.deepEqual(picky.bodies(), [events[1]]);
    assert.deepEqual(all.bodies(), events);
  });

  it("delivers to each webhook in event order", async () => {
    const r = await receiver();
    const n = notifier([webhook({ url: r.url })]);
    const events = Array.from({ length: 20 }, (_, i) => payload({ message: `event ${i}` }));
    for (const e of events) n.notify(e);
    await n.idle();
    assert.deepEqual(r.bodies(), events);
  });

  it("keeps later events behind one that is waiting to be retried", async () => {
    const clock = new WatchedClock();
    const r = await receiver((n) => (n === 1 ? 500 : 200));
    const n = notifier([webhook({ url: r.url })], { clock });
    const [first, second] = [payload({ message: "first" }), payload({ message: "second" })];
    n.notify(first);
    n.notify(second);
    await clock.timersSet(1);
    assert.deepEqual(r.bodies(), [first]);
    await clock.advance(1_000);
    await n.idle();
    assert.deepEqual(r.bodies(), [first, first, second]);
  });

  it("retries with doubling backoff on the clock until the receiver accepts", async () => {
    const clock = new WatchedClock();
    const r = await receiver((n) => (n <= 3 ? 503 : 200));
    const failures: string[] = [];
    const n = notifier([webhook({ url: r.url })], {
      clock,
      onDeliveryFailed: (_u, _e, reason) => failures.push(reason),
    });
    n.notify(payload());
    await clock.timersSet(1);
    await clock.advance(999);
    assert.equal(r.got.length, 1, "not retried before the backoff is over");
    await clock.advance(1);
    await clock.timersSet(2);
    await clock.advance(2_000);
    await clock.timersSet(3);
    await clock.advance(4_000);
    await n.idle();
    assert.equal(r.got.length, 4);
    assert.deepEqual(clock.delaysMs, [1_000, 2_000, 4_000]);
    assert.equal(new Set(r.got.map((g) => g.body)).size, 1, "every attempt sends the same event");
    assert.deepEqual(failures, []);
  });

  it("gives up after maxAttempts and reports the delivery as failed", async () => {
    const clock = new WatchedClock();
    const r = await receiver(() => 503);
    let failed!: (f: [string, NotificationPayload, string]) => void;
    const reported = new Promise<[string, NotificationPayload, string]>((resolve) => (failed = resolve));
    const n = notifier([webhook({ url: r.url, maxAttempts: 3 })], {
      clock,
      backoffFirstMs: 50,
      onDeliveryFailed: (...f) => failed(f),
    });
    const event = payload({ event: "deployment.failed" });
    n.notify(event);
    await clock.timersSet(1);
    await clock.advance(50);
    await clock.timersSet(2);
    await clock.advance(100);
    assert.deepEqual(await reported, [r.url, event, "gave up after 3 attempts: status 503"]);
    await n.idle();
    assert.equal(r.got.length, 3);
    assert.deepEqual(clock.delaysMs, [50, 100]);
  });

  it("counts a receiver that cannot be reached as a failed attempt", async () => {
    const gone = await startBackend("gone");
    await gone.close();
    const failures: string[] = [];
    const n = notifier([webhook({ url: gone.url, maxAttempts: 1 })], {
      onDeliveryFailed: (url, _e, reason) => failures.push(`${url}: ${reason}`),
    });
    n.notify(payload());
    await n.idle();
    assert.deepEqual(failures, [`${gone.url}: gave up after 1 attempt: connection refused`]);
  });

  it("returns from notify() at once even when the receiver hangs, and close() ends the wait", async () => {
    const r = await receiver(() => "hang");
    const failures: string[] = [];
    const n = notifier([webhook({ url: r.url })], {
      onDeliveryFailed: (_u, _e, reason) => failures.push(reason),
    });
    assert.equal(n.notify(payload()), undefined);
    assert.equal(r.got.length, 0, "notify() does not wait for the delivery");
    n.notify(payload({ message: "queued behind the hanging one" }));
    await r.received(1);
    n.close();
    await n.idle();
    assert.equal(r.got.length, 1);
    assert.deepEqual(failures, []);
  });

  it("reports an event that cannot be encoded instead of throwing from notify()", async () => {
    const r = await receiver();
    const failures: string[] = [];
    const n = notifier([webhook({ url: r.url })], {
      onDeliveryFailed: (_u, _e, reason) => failures.push(reason),
    });
    n.notify(payload({ data: { bytes: 10n } }));
    n.notify(payload({ message: "fine" }));
    await n.idle();
    assert.deepEqual(failures, ["could not encode the event: Do not know how to serialize a BigInt"]);
    assert.equal(r.got.length, 1);
  });

  it("close() cancels a pending retry", async () => {
    const clock = new WatchedClock();
    const r = await receiver(() => 500);
    const n = notifier([webhook({ url: r.url })], { clock });
    n.notify(payload());
    await clock.timersSet(1);
    assert.equal(clock.pendingCount, 1);
    n.close();
    await n.idle();
    assert.equal(clock.pendingCount, 0);
    n.notify(payload({ message: "after close" }));
    await n.idle();
    assert.equal(r.got.length, 1);
  });
});
