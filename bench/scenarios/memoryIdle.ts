import net from "node:net";

/** Open one connection, send one request, resolve once the full response arrived; keep it open. */
function openIdle(port: number, closed: Set<net.Socket>): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: "127.0.0.1", port });
    let buf = Buffer.alloc(0);
    const fail = (e: Error) => {
      s.destroy();
      reject(e);
    };
    s.setTimeout(10_000, () => fail(new Error("idle connection: response timeout")));
    s.once("error", fail);
    s.once("close", () => closed.add(s));
    s.once("connect", () => s.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n"));
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = buf.subarray(0, end).toString("latin1");
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      const complete = len
        ? buf.length >= end + 4 + Number(len[1])
        : buf.subarray(end + 4).includes("0\r\n\r\n");
      if (!complete) return;
      s.off("data", onData);
      s.setTimeout(0);
      s.removeAllListeners("error");
      s.on("error", () => {}); // a server closing an idle connection later is counted via "close"
      if (!/^HTTP\/1\.1 2/.test(head)) return fail(new Error(`idle connection: ${head.split("\r\n")[0]}`));
      resolve(s);
    };
    s.on("data", onData);
  });
}

export interface IdleSet {
  sockets: net.Socket[];
  closed: Set<net.Socket>;
  errors: number;
  firstError: string;
  close: () => void;
}

/** Open `n` idle keep-alive connections (in batches of 100) to 127.0.0.1:port. */
export async function openIdleConnections(port: number, n: number): Promise<IdleSet> {
  const closed = new Set<net.Socket>();
  const sockets: net.Socket[] = [];
  let errors = 0;
  let firstError = "";
  for (let i = 0; i < n; i += 100) {
    const batch = Array.from({ length: Math.min(100, n - i) }, () => openIdle(port, closed));
    for (const r of await Promise.allSettled(batch)) {
      if (r.status === "fulfilled") sockets.push(r.value);
      else {
        errors++;
        firstError ||= String(r.reason);
      }
    }
  }
  const close = () => {
    for (const s of sockets) s.destroy();
  };
  return { sockets, closed, errors, firstError, close };
}
