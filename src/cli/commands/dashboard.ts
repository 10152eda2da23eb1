/**
 * `teal dashboard`: prints the dashboard's address with the read-only view token in the URL
 * fragment, which browsers never send to the server (so it is in no request line and no log).
 */

import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { TealError } from "../../domain/errors.ts";
import { type GlobalOptions, resolveConfig, resolveDataDir } from "../context.ts";
import { emit } from "../output.ts";

export interface DashboardOptions extends GlobalOptions {
  readonly open?: boolean;
}

export async function dashboardCommand(opts: DashboardOptions): Promise<number> {
  const { config } = await resolveConfig(opts, false);
  const dataDir = resolveDataDir(opts, config);
  const info = await dataDir.readServerInfo();
  const admin = opts.admin ?? process.env.TEAL_ADMIN ?? info?.admin;
  if (admin === undefined) {
    throw new TealError(
      "SERVER_UNREACHABLE",
      `no teal server is running on data dir ${dataDir.path}: start one with 'teal server', or pass --admin URL`,
    );
  }
  const viewToken = await readFile(dataDir.viewTokenPath, "utf8").then(
    (t) => t.trim(),
    () => {
      throw new TealError(
        "NOT_FOUND",
        `no view token at ${dataDir.viewTokenPath}: start 'teal server' once with this data dir to create it`,
      );
    },
  );
  const base = (admin.startsWith("http") ? admin : `http://${admin}`).replace(/\/$/, "");
  const url = `${base}/#view=${encodeURIComponent(viewToken)}`;
  emit(opts.json, { url }, () =>
    [
      url,
      "Anyone with this link can watch (read-only); actions ask for the admin token.",
      "The token is after '#': browsers do not send it to the server.",
    ].join("\n"),
  );
  if (opts.open) openInBrowser(url);
  return 0;
}

function openInBrowser(url: string): void {
  const [cmd, ...args] =
    process.platform === "darwin"
      ? ["open", url]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", "", url]
        : ["xdg-open", url];
  const child = spawn(cmd!, args, { stdio: "ignore", detached: true });
  child.on("error", () =>
    process.stderr.write(`could not start a browser (${cmd} is missing): open the address above by hand\n`),
  );
  child.unref();
}
