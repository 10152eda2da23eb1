/** The traffic split as a bar: blue on the left, green on the right. */

import type { ServiceStatusView } from "../../api/status-view.ts";

export function SplitBar(props: { service: ServiceStatusView }) {
  const { blue, green } = props.service.weights;
  return (
    <div class="split" data-testid={`split-${props.service.name}`} data-green={green}>
      <div class="split-bar" aria-hidden="true">
        <span class="split-blue" style={{ width: `${blue}%` }} />
        <span class="split-green" style={{ width: `${green}%` }} />
      </div>
      <p class="split-text">
        <span>traffic: blue {blue}%</span>
        <span>green {green}%</span>
      </p>
    </div>
  );
}
