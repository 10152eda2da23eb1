/**
 * `teal dashboard`: prints the dashboard's address with the read-only view token in the URL
 * fragment, which browsers never send to the server (so it is in no request line and no log).
 */

import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { TealError } from "../../domain/errors.ts";
import { writeFileAtomic } from "../../fs/atomic-file.ts";
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
  if (opts.open) openInBrowser(await linkFile(dataDir.path, url));
  return 0;
}

/**
 * A browser's command line is readable by every local user (ps): it gets a file in the data
 * directory (0600 in a 0700 directory) that forwards to the link, never the token itself.
 */
async function linkFile(dir: string, url: string): Promise<string> {
  const file = join(dir, "dashboard-link.html");
  const html = `<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>teal</title><script>location.replace(${JSON.stringify(url)})</script><a href="${url.replace(/"/g, "&quot;")}">open the teal dashboard</a>\n`;
  await writeFileAtomic(file, html, 0o600);
  return pathToFileURL(file).href;
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
