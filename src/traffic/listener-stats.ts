/** Counters of the proxy's listener itself (not of one service): refused connections, client timeouts. */

export interface ListenerStats {
  /** Connections the kernel handed over but teal could not accept (at the file-descriptor limit). */
  readonly acceptErrors: number;
  /** Clients cut for sending their request head too slowly (408). */
  readonly headTimeouts: number;
  /** Clients whose request body stalled (408). */
  readonly bodyTimeouts: number;
  /** Clients that read nothing of a response waiting on them, cut. */
  readonly sendTimeouts: number;
}

export const NO_LISTENER_STATS: ListenerStats = {
  acceptErrors: 0,
  headTimeouts: 0,
  bodyTimeouts: 0,
  sendTimeouts: 0,
};

/** Several processes' counters, summed. */
export function sumListenerStats(parts: readonly ListenerStats[]): ListenerStats {
  return parts.reduce(
    (a, b) => ({
      acceptErrors: a.acceptErrors + b.acceptErrors,
      headTimeouts: a.headTimeouts + b.headTimeouts,
      bodyTimeouts: a.bodyTimeouts + b.bodyTimeouts,
      sendTimeouts: a.sendTimeouts + b.sendTimeouts,
    }),
    NO_LISTENER_STATS,
  );
}
