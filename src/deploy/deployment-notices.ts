/** Webhook notifications about deployments, one notifier per service, never blocking a deployment. */

import type { NotificationEvent, TealConfig } from "../config/schema.ts";
import type { Clock } from "../domain/clock.ts";
import type { Deployment } from "../domain/deployment.ts";
import type { Logger } from "../log/logger.ts";
import { WebhookNotifier } from "../notify/webhook-notifier.ts";

export class DeploymentNotices {
  readonly #notifiers = new Map<string, WebhookNotifier>();
  readonly #clock: Clock;

  constructor(config: TealConfig, clock: Clock, log: Logger) {
    this.#clock = clock;
    for (const [name, svc] of Object.entries(config.services)) {
      const notifier = new WebhookNotifier(svc.notifications.webhooks, {
        clock,
        onDeliveryFailed: (url, event, reason) =>
          log.warn({ service: name, url, event: event.event, reason }, "webhook delivery failed; giving up"),
      });
      this.#notifiers.set(name, notifier);
    }
  }

  notify(event: NotificationEvent, d: Deployment, message: string, data?: Record<string, unknown>): void {
    this.#notifiers.get(d.service)?.notify({
      event,
      service: d.service,
      deployment: d.seq,
      version: d.version,
      color: d.color,
      at: new Date(this.#clock.now()).toISOString(),
      message,
      ...(data ? { data } : {}),
    });
  }

  /** How a deployment ended (a rollback was already told by the rollout, with its reason). */
  outcome(d: Deployment | undefined): void {
    if (d?.outcome === "succeeded")
      this.notify("deployment.succeeded", d, `${d.version} is live on ${d.color}`);
    if (d?.outcome === "failed") this.notify("deployment.failed", d, d.reason ?? "failed");
  }

  close(): void {
    for (const n of this.#notifiers.values()) n.close();
  }
}
