/** `HOST:PORT` listen addresses as written in teal.yaml. */

export function splitHostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(":");
  const host = listen.slice(0, colon).replace(/^\[|\]$/g, "");
  return { host: host === "" ? "0.0.0.0" : host, port: Number(listen.slice(colon + 1)) };
}
