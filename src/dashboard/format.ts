/** How numbers read on the page. */

export function formatPercent(share: number | null): string {
  if (share === null) return "–";
  const p = share * 100;
  return `${p === 0 ? "0" : p < 1 ? p.toFixed(2) : p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "–";
  return ms < 10
    ? `${ms.toFixed(1)} ms`
    : ms < 10_000
      ? `${Math.round(ms)} ms`
      : `${(ms / 1000).toFixed(1)} s`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m ${String(s % 60).padStart(2, "0")}s` : `${Math.floor(m / 60)}h ${m % 60}m`;
}

export function formatTime(iso: string | number): string {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A check value by its metric: error rates as percent, latencies in ms, ratios as ×. */
export function formatValue(metric: string, value: number, threshold = ""): string {
  if (/^min(Requests|Samples)/i.test(threshold)) return String(value);
  if (/ratio/i.test(threshold)) return `${Math.round(value * 100) / 100}×`;
  if (/error/i.test(metric)) return formatPercent(value);
  if (/^p\d+|latency/i.test(metric)) return formatMs(value);
  return String(Math.round(value * 1000) / 1000);
}
