/** Parses HAProxy's `show servers state <backend>` and `show stat` answers. */

/** One server slot as HAProxy reports it. */
export interface ServerState {
  readonly backend: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  /** Admin state as teal sets it: maint wins over drain. */
  readonly state: "ready" | "drain" | "maint";
}

const FORCED_MAINT = 0x01;
const FORCED_DRAIN = 0x08;

export function parseServersState(text: string): ServerState[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  if (lines[0]?.trim() === "1") lines.shift();
  return lines.map((line) => {
    const f = line.trim().split(/\s+/);
    const admin = Number(f[6]);
    return {
      backend: f[1]!,
      name: f[3]!,
      host: f[4]!,
      port: Number(f[18]),
      weight: Number(f[7]),
      state: admin & FORCED_MAINT ? "maint" : admin & FORCED_DRAIN ? "drain" : "ready",
    };
  });
}

/** One server's row of `show stat`, with the fields teal reads. */
export interface ServerStat {
  readonly backend: string;
  readonly name: string;
  readonly current: number;
  readonly byClass: readonly number[];
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly clientAborted: number;
  readonly up: boolean;
}

export function parseStat(csv: string): ServerStat[] {
  const lines = csv.split("\n").filter((l) => l.trim() !== "");
  const header = lines.shift()?.replace(/^# /, "").split(",") ?? [];
  const at = (name: string) => header.indexOf(name);
  const col = { px: at("pxname"), sv: at("svname"), type: at("type") };
  return lines
    .map((l) => l.split(","))
    .filter((f) => f[col.type] === "2")
    .map((f) => {
      const n = (name: string) => Number(f[at(name)] || 0);
      return {
        backend: f[col.px]!,
        name: f[col.sv]!,
        current: n("scur"),
        // Connection and response errors are answered 502/503 by HAProxy: they count as 5xx.
        byClass: [
          0,
          n("hrsp_1xx"),
          n("hrsp_2xx"),
          n("hrsp_3xx"),
          n("hrsp_4xx"),
          n("hrsp_5xx") + n("econ") + n("eresp"),
        ],
        bytesIn: n("bin"),
        bytesOut: n("bout"),
        clientAborted: n("cli_abrt"),
        up: !String(f[at("status")]).startsWith("DOWN"),
      };
    });
}
