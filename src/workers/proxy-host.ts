/**
 * What the composition root needs of the proxy it hosts itself (in this process or as workers)
 * beyond the control plane's port: the listening sockets, to hand to a teal that takes over.
 */

import type { DataPlanePort } from "../control/data-plane-port.ts";
import type { ListenSockets } from "../proxy/data-plane.ts";

export interface ProxyHost extends DataPlanePort {
  /** The listening sockets' descriptors once listening. */
  listeningSockets(): ListenSockets | undefined;
  /**
   * A new teal accepts on the listening sockets now: stop accepting, finish the requests in
   * flight (idle keep-alive connections close after their next response or time out), and leave
   * the sockets open in the other process.
   */
  handOff(graceMs?: number): Promise<void>;
}
