/** Deployment notifications to webhooks: in order per webhook, retried with backoff, never in the way. */

import type { NotificationEvent, WebhookConfig } from "../config/schema.ts";
import { type Clock, sleep, systemClock } from "../domain/clock.ts";
import { requestOnce } from "../health/request-once.ts";

export interface NotificationPayload {
  readonly event: NotificationEvent;
  readonly service: string;
  /** The deployment's sequence number. */
  readonly deployment: number;
  readonly version: string;
  readonly color: string;
  /** When it happened, ISO 8601. */
  readonly at: string;
  /** One line for people: "v2 rolled back: analysis "errors" failed: errorRate 0.21 > max 0.05". */
  readonly message: string;
  readonly data?: Record<string, unknown>;
}

export interface WebhookNotifierOptions {
  /** Backoff between attempts runs on this clock. Default: the system clock. */
  readonly clock?: Clock;
  /** Called once per delivery that is given up on (attempts used up, unencodable, or dropped). */
  readonly onDeliveryFailed?: (url: string, event: NotificationPayload, reason: string) => void;
  /** The delay after the first failed attempt; it doubles after each further one. Default 1000. */
  readonly backoffFirstMs?: number;
}

/** Waiting deliveries per webhook beyond this are dropped, oldest first: a dead receiver must not hold memory. */
const MAX_QUEUED = 1_000;
/** Doubling stops here, so a high maxAttempts means more tries, not days between them. */
const MAX_BACKOFF_MS = 600_000;
/** Receivers' answers are not used; read at most this much of them. */
const MAX_REPLY_BYTES = 4_096;

interface Delivery {
  readonly payload: NotificationPayload;
  readonly body: string;
}

interface Lane {
  readonly webhook: WebhookConfig;
  /** Deliveries not yet started, oldest first; the one being delivered is no longer here. */
  readonly queue: Delivery[];
  running: Promise<void> | undefined;
}

/**
 * Sends each notification to every webhook that wants its event. Each webhook has its own queue,
 * delivered one at a time so that it sees events in order; a slow or dead webhook holds up only
 * itself. Failed attempts (transport error or non-2xx) are retried after backoffFirstMs, doubling,
 * up to the webhook's maxAttempts.
 */
export class WebhookNotifier {
  readonly #lanes: Lane[];
  readonly #clock: Clock;
  readonly #backoffFirstMs: number;
  readonly #onDeliveryFailed: NonNullable<WebhookNotifierOptions["onDeliveryFailed"]>;
  readonly #closed = new AbortController();

  constructor(webhooks: readonly WebhookConfig[], options: WebhookNotifierOptions = {}) {
    this.#lanes = webhooks.map((webhook) => ({ webhook, queue: [], running: undefined }));
    this.#clock = options.clock ?? systemClock;
    this.#backoffFirstMs = options.backoffFirstMs ?? 1_000;
    this.#onDeliveryFailed = options.onDeliveryFailed ?? (() => {});
  }

  /** Queues the notification for every matching webhook and returns at once; never throws. Ignored after close(). */
  notify(payload: NotificationPayload): void {
    if (this.#closed.signal.aborted) return;
    for (const lane of this.#lanes) {
      const { events } = lane.webhook;
      if (events !== undefined && !events.includes(payload.event)) continue;
      let body: string;
      try {
        body = encode(lane.webhook.format, payload);
      } catch (err) {
        this.#giveUp(lane, payload, `could not encode the event: ${(err as Error).message}`);
        continue;
      }
      lane.queue.push({ payload, body });
      if (lane.queue.length > MAX_QUEUED) {
        this.#giveUp(lane, lane.queue.shift()!.payload, `dropped: more than ${MAX_QUEUED} events waiting`);
      }
      this.#wake(lane);
    }
  }

  /** Resolves when nothing is queued, in flight or waiting to retry. */
  async idle(): Promise<void> {
    for (;;) {
      const busy = this.#lanes.flatMap((lane) => lane.running ?? []);
      if (busy.length === 0) return;
      await Promise.all(busy);
    }
  }

  /** Drops queued deliveries, cancels retries and aborts requests in flight; nothing is reported as failed. */
  close(): void {
    this.#closed.abort();
    for (const lane of this.#lanes) lane.queue.length = 0;
  }

  /** Starts the lane's delivery loop unless it runs; an event queued as the loop ends starts it again. */
  #wake(lane: Lane): void {
    if (lane.running !== undefined) return;
    const done = () => {
      lane.running = undefined;
      if (lane.queue.length > 0) this.#wake(lane);
    };
    lane.running = this.#drain(lane).then(done, done);
  }

  async #drain(lane: Lane): Promise<void> {
    for (let next = lane.queue.shift(); next !== undefined; next = lane.queue.shift()) {
      await this.#deliver(lane, next);
    }
  }

  async #deliver(lane: Lane, delivery: Delivery): Promise<void> {
    const { url, headers, timeoutMs, maxAttempts } = lane.webhook;
    const signal = this.#closed.signal;
    for (let attempt = 1; ; attempt++) {
      const result = await requestOnce(url, {
        method: "POST",
        headers: requestHeaders(headers, delivery.body),
        body: delivery.body,
        timeoutMs,
        maxBodyBytes: MAX_REPLY_BYTES,
        signal,
      });
      if (signal.aborted) return;
      const status = result.ok ? result.reply.status : 0;
      if (status >= 200 && status < 300) return;
      const reason = result.ok ? `status ${status}` : result.reason;
      if (attempt >= maxAttempts) {
        const tries = attempt === 1 ? "1 attempt" : `${attempt} attempts`;
        return this.#giveUp(lane, delivery.payload, `gave up after ${tries}: ${reason}`);
      }
      const backoffMs = Math.min(this.#backoffFirstMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      try {
        await sleep(this.#clock, backoffMs, signal);
      } catch {
        return; // closed
      }
    }
  }

  #giveUp(lane: Lane, payload: NotificationPayload, reason: string): void {
    try {
      this.#onDeliveryFailed(lane.webhook.url, payload, reason);
    } catch {
      // A failing reporter must not break notify() or the delivery loop.
    }
  }
}

function encode(format: WebhookConfig["format"], payload: NotificationPayload): string {
  return JSON.stringify(format === "slack" ? { text: slackText(payload) } : payload);
}

/** One line: "teal: web #7 v2 rolled back: analysis "errors" failed: errorRate 0.21 > max 0.05". */
function slackText(p: NotificationPayload): string {
  const message = p.message.replace(/\s+/g, " ").trim();
  const what = message.startsWith(`${p.version} `) ? message : `${p.version}: ${message}`;
  // Slack reads &, < and > as markup; everything else is sent as is.
  const text = `teal: ${p.service} #${p.deployment} ${what}`;
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

/** The webhook's own headers over ours, whatever their case; the length is always ours. */
function requestHeaders(configured: Readonly<Record<string, string>>, body: string): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "teal" };
  for (const [name, value] of Object.entries(configured)) headers[name.toLowerCase()] = value;
  headers["content-length"] = String(Buffer.byteLength(body));
  return headers;
}
