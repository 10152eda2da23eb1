import net from "node:net";

/**
 * Send commands to HAProxy's runtime API (stats socket) in one non-interactive session:
 * commands separated by ";", the reply read until HAProxy closes the connection.
 */
export function haproxyRaw(socketPath: string, commands: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    let out = "";
    s.setTimeout(timeoutMs, () => s.destroy(new Error("haproxy runtime API: timeout")));
    s.on("connect", () => s.end(`${commands.join(";")}\n`));
    s.on("data", (d: Buffer) => {
      out += d.toString();
    });
    s.on("error", reject);
    s.on("close", (hadError) => {
      if (!hadError) resolve(out);
    });
  });
}

/** Like haproxyRaw for commands that answer nothing on success ("set server ..."): any text is an error. */
export async function haproxySet(socketPath: string, commands: string[]): Promise<void> {
  const text = (await haproxyRaw(socketPath, commands)).trim();
  if (text) throw new Error(`haproxy runtime API: ${text}`);
}
