/**
 * HAProxy's runtime API (the stats socket): one short session per command, so that every
 * command's answer is unambiguous. Commands take microseconds; no reload is ever involved.
 */

import { connect, type Socket } from "node:net";
import { splitHostPort } from "../../config/listen-address.ts";

export class RuntimeApi {
  readonly #address: string;
  readonly #timeoutMs: number;

  /** `address`: a unix socket path, or HOST:PORT for `stats socket ipv4@…`. */
  constructor(address: string, timeoutMs = 5_000) {
    this.#address = address;
    this.#timeoutMs = timeoutMs;
  }

  /** Runs one command; resolves with HAProxy's whole answer. */
  run(command: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = this.#connect();
      let out = "";
      socket.setTimeout(this.#timeoutMs, () =>
        socket.destroy(new Error(`no answer within ${this.#timeoutMs} ms to "${command}"`)),
      );
      socket.on("connect", () => socket.end(`${command}\n`));
      socket.on("data", (d: Buffer) => {
        out += d.toString();
      });
      socket.on("error", (err) => reject(new Error(`runtime API ${this.#address}: ${err.message}`)));
      socket.on("close", (hadError) => {
        if (!hadError) resolve(out);
      });
    });
  }

  /** Runs a `set …` command; any answer but the known success texts is an error. */
  async set(command: string): Promise<void> {
    const answer = (await this.run(command)).trim();
    if (answer === "" || /changed from|no need to change/.test(answer)) return;
    throw new Error(`"${command}" was refused: ${answer}`);
  }

  #connect(): Socket {
    if (this.#address.startsWith("/") || this.#address.startsWith(".")) return connect(this.#address);
    const { host, port } = splitHostPort(this.#address);
    return connect({ host, port });
  }
}
