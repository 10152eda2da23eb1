/** The store only reads the time (lease deadlines): any clock of the controller's will do. */

import type { Clock as ControllerClock } from "../domain/clock.ts";

export type Clock = Pick<ControllerClock, "now">;
export { systemClock } from "../domain/clock.ts";
