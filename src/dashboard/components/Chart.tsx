/** One uPlot time chart, with vertical lines at switches, split moves and rollbacks. */

import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import type { LiveMarker, MarkerKind } from "../../api/live/live-types.ts";

export interface SeriesSpec {
  readonly label: string;
  readonly color: string;
  readonly dash?: number[];
}

export interface ChartProps {
  readonly title: string;
  readonly unit: string;
  readonly series: readonly SeriesSpec[];
  /** [x in seconds, ...one array per series]. */
  readonly data: uPlot.AlignedData;
  readonly markers: readonly LiveMarker[];
  /** What a screen reader hears instead of the drawing. */
  readonly summary: string;
  readonly testId: string;
  /** Changes when the theme does, so that axes are redrawn in the new colors. */
  readonly theme: string;
}

const MARKER_STYLE: Record<MarkerKind, { color: string; dash: number[]; glyph: string }> = {
  switch: { color: "#8b5cf6", dash: [], glyph: "⇄" },
  weight: { color: "#94a3b8", dash: [3, 3], glyph: "%" },
  rollback: { color: "#dc2626", dash: [], glyph: "↺" },
  deploy: { color: "#94a3b8", dash: [1, 3], glyph: "▶" },
  finish: { color: "#64748b", dash: [1, 3], glyph: "■" },
};

export function Chart(props: ChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const markers = useRef(props.markers);
  markers.current = props.markers;

  useEffect(() => {
    const el = host.current!;
    const css = getComputedStyle(document.documentElement);
    const muted = css.getPropertyValue("--muted").trim() || "#64748b";
    const grid = css.getPropertyValue("--grid").trim() || "#e2e8f0";
    const axis = { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 150,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        // At least the last minute, so that a fresh page does not zoom into milliseconds.
        x: { time: true, range: (_u, min, max) => [Math.min(min, max - 60), max] },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [axis, { ...axis, size: 64, values: (_u, ticks) => ticks.map((t) => `${fmt(t)}${props.unit}`) }],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          dash: s.dash ?? [],
          points: { show: false },
          spanGaps: true,
        })),
      ],
      hooks: { draw: [(u: uPlot) => drawMarkers(u, markers.current)] },
    };
    const chart = new uPlot(opts, props.data, el);
    plot.current = chart;
    const resize = new ResizeObserver(() =>
      chart.setSize({ width: Math.max(200, el.clientWidth), height: 150 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [props.theme, props.series.length]);

  useEffect(() => {
    plot.current?.setData(props.data);
  }, [props.data]);

  const points = props.data[0].length;
  return (
    <figure class="chart" data-testid={props.testId} data-points={points} data-markers={props.markers.length}>
      <figcaption>{props.title}</figcaption>
      <div ref={host} role="img" aria-label={`${props.title}: ${props.summary}`} />
    </figure>
  );
}

function fmt(n: number): string {
  return n >= 1000 ? `${Math.round(n / 100) / 10}k` : String(Math.round(n * 100) / 100);
}

function drawMarkers(u: uPlot, markers: readonly LiveMarker[]): void {
  const { ctx, bbox } = u;
  const min = u.scales.x?.min ?? 0;
  const max = u.scales.x?.max ?? 0;
  ctx.save();
  ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
  for (const m of markers) {
    const x = m.at / 1000;
    if (x < min || x > max) continue;
    const style = MARKER_STYLE[m.kind];
    const px = Math.round(u.valToPos(x, "x", true));
    ctx.strokeStyle = style.color;
    ctx.fillStyle = style.color;
    ctx.lineWidth = 1.5 * devicePixelRatio;
    ctx.setLineDash(style.dash.map((d) => d * devicePixelRatio));
    ctx.beginPath();
    ctx.moveTo(px, bbox.top);
    ctx.lineTo(px, bbox.top + bbox.height);
    ctx.stroke();
    ctx.fillText(style.glyph, px + 3 * devicePixelRatio, bbox.top + 12 * devicePixelRatio);
  }
  ctx.restore();
}
