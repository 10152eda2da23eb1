/**
 * A hand-made HTTP/2 client over a real TLS socket (ALPN h2), for tests that send what no proper
 * client would: floods, oversized frames, hostile HPACK. It writes frames as given and records
 * the frames the server sends (RFC 9113 section 4: a 9-byte header, then the payload).
 */

import { once } from "node:events";
import { connect, type TLSSocket } from "node:tls";

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 } as const;
export const ERROR = {
  PROTOCOL: 1,
  FRAME_SIZE: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly stream: number;
  readonly payload: Buffer;
}

export class RawH2 {
  readonly socket: TLSSocket;
  readonly frames: Frame[] = [];
  #pending: Buffer = Buffer.alloc(0);
  /** Resolves once the server has closed the connection (or it broke). */
  readonly closed: Promise<void>;

  private constructor(socket: TLSSocket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => this.#read(chunk));
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
  }

  /** Connects, checks h2 was chosen, and sends the preface and an empty SETTINGS. */
  static async connect(port: number, ca: Buffer, servername: string): Promise<RawH2> {
    const socket = connect({ host: "127.0.0.1", port, ca, servername, ALPNProtocols: ["h2"] });
    await once(socket, "secureConnect");
    if (socket.alpnProtocol !== "h2") throw new Error(`ALPN chose ${socket.alpnProtocol}, not h2`);
    const client = new RawH2(socket);
    socket.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    client.send(FRAME.SETTINGS, 0, 0, Buffer.alloc(0));
    return client;
  }

  static frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
    const head = Buffer.alloc(9);
    head.writeUIntBE(payload.length, 0, 3);
    head[3] = type;
    head[4] = flags;
    head.writeUInt32BE(stream, 5);
    return Buffer.concat([head, payload]);
  }

  /** False when the socket is no longer writable. */
  send(type: number, flags: number, stream: number, payload: Buffer): boolean {
    if (this.socket.destroyed || !this.socket.writable) return false;
    this.socket.write(RawH2.frame(type, flags, stream, payload));
    return true;
  }

  /** A GET's HEADERS frame for stream `stream` (HPACK literals, no Huffman). */
  static headersFrame(
    stream: number,
    authority: string,
    path: string,
    endStream = true,
    extra = Buffer.alloc(0),
  ): Buffer {
    const block = Buffer.concat([extra, Buffer.from([0x82, 0x87]), literal(4, path), literal(1, authority)]);
    return RawH2.frame(FRAME.HEADERS, FLAG.END_HEADERS | (endStream ? FLAG.END_STREAM : 0), stream, block);
  }

  static rstFrame(stream: number, code: number): Buffer {
    const payload = Buffer.alloc(4);
    payload.writeUInt32BE(code);
    return RawH2.frame(FRAME.RST_STREAM, 0, stream, payload);
  }

  /** The server's GOAWAY error code, once the connection has closed; undefined without a GOAWAY. */
  async goawayCode(): Promise<number | undefined> {
    await this.closed;
    const goaway = this.frames.find((f) => f.type === FRAME.GOAWAY);
    return goaway?.payload.readUInt32BE(4);
  }

  /** RST_STREAM codes the server sent, by stream. */
  resets(): Map<number, number> {
    const out = new Map<number, number>();
    for (const f of this.frames)
      if (f.type === FRAME.RST_STREAM) out.set(f.stream, f.payload.readUInt32BE(0));
    return out;
  }

  #read(chunk: Buffer): void {
    let buf = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) break;
      this.frames.push({
        type: buf[3]!,
        flags: buf[4]!,
        stream: buf.readUInt32BE(5) & 0x7fffffff,
        payload: buf.subarray(9, 9 + length),
      });
      buf = buf.subarray(9 + length);
    }
    this.#pending = buf;
  }
}

/** An HPACK literal without indexing, the name from the static table's entry `index`. */
function literal(index: number, value: string): Buffer {
  const v = Buffer.from(value);
  if (v.length > 126) throw new Error("value too long for this test encoder");
  return Buffer.concat([Buffer.from([index, v.length]), v]);
}

/** An HPACK literal without indexing with a literal name. */
export function literalField(name: string, value: string): Buffer {
  const n = Buffer.from(name);
  const v = Buffer.from(value);
  if (n.length > 126 || v.length > 126) throw new Error("too long for this test encoder");
  return Buffer.concat([Buffer.from([0, n.length]), n, Buffer.from([v.length]), v]);
}
