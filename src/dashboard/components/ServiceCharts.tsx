/** Requests/s, error rate and p50/p99 of both colors of one service, over the last minutes. */

import { useMemo } from "preact/hooks";
import type uPlot from "uplot";
import type { LiveMarker, LiveSample } from "../../api/live/live-types.ts";
import type { Color } from "../../domain/color.ts";
import { formatMs, formatPercent } from "../format.ts";
import { Chart, type SeriesSpec } from "./Chart.tsx";

const BLUE = "#2563eb";
const GREEN = "#16a34a";

const RATE: SeriesSpec[] = [
  { label: "blue", color: BLUE },
  { label: "green", color: GREEN },
];
const LATENCY: SeriesSpec[] = [
  { label: "blue p50", color: BLUE },
  { label: "blue p99", color: BLUE, dash: [6, 4] },
  { label: "green p50", color: GREEN },
  { label: "green p99", color: GREEN, dash: [6, 4] },
];

export function ServiceCharts(props: {
  service: string;
  samples: readonly LiveSample[];
  markers: readonly LiveMarker[];
  theme: string;
}) {
  const { service, samples, theme } = props;
  const markers = useMemo(() => props.markers.filter((m) => m.service === service), [props.markers, service]);
  const series = useMemo(() => {
    const x = samples.map((s) => s.at / 1000);
    const pick = (c: Color, f: (p: NonNullable<LiveSample["services"][string]>[Color]) => number | null) =>
      samples.map((s) => {
        const p = s.services[service]?.[c];
        return p ? f(p) : null;
      });
    const errors = (c: Color) => pick(c, (p) => (p.errorRate === null ? null : p.errorRate * 100));
    return {
      rps: [x, pick("blue", (p) => p.rps), pick("green", (p) => p.rps)] as uPlot.AlignedData,
      errors: [x, errors("blue"), errors("green")] as uPlot.AlignedData,
      latency: [
        x,
        pick("blue", (p) => p.p50Ms),
        pick("blue", (p) => p.p99Ms),
        pick("green", (p) => p.p50Ms),
        pick("green", (p) => p.p99Ms),
      ] as uPlot.AlignedData,
    };
  }, [samples, service]);
  const last = samples.at(-1)?.services[service];
  const now = (c: Color) =>
    last
      ? `${c} ${last[c].rps} requests/s, ${formatPercent(last[c].errorRate)} errors, p50 ${formatMs(last[c].p50Ms)}, p99 ${formatMs(last[c].p99Ms)}`
      : "no data yet";
  const summary = `latest second: ${now("blue")}; ${now("green")}`;
  return (
    <section class="charts" aria-label={`${service} traffic, last minutes`}>
      <Chart
        title="Requests/s"
        unit=""
        series={RATE}
        data={series.rps}
        markers={markers}
        summary={summary}
        testId={`chart-rps-${service}`}
        theme={theme}
      />
      <Chart
        title="Error rate (5xx)"
        unit="%"
        series={RATE}
        data={series.errors}
        markers={markers}
        summary={summary}
        testId={`chart-errors-${service}`}
        theme={theme}
      />
      <Chart
        title="Latency p50 / p99"
        unit=" ms"
        series={LATENCY}
        data={series.latency}
        markers={markers}
        summary={summary}
        testId={`chart-latency-${service}`}
        theme={theme}
      />
      <p
        class="last-sample"
        data-testid={`last-sample-${service}`}
        data-green-rps={last?.green.rps ?? 0}
        data-blue-rps={last?.blue.rps ?? 0}
      >
        {summary}
      </p>
      {markers.length > 0 && (
        <p class="last-sample" data-testid={`markers-${service}`}>
          marked on the charts:{" "}
          {markers
            .slice(-5)
            .map((m) => `${new Date(m.at).toLocaleTimeString()} ${m.kind}: ${m.text}`)
            .join(" · ")}
        </p>
      )}
    </section>
  );
}
