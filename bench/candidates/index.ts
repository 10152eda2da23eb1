import type { CandidateName } from "../args.ts";
import { direct } from "./direct.ts";
import { haproxy } from "./haproxy.ts";
import { httpProxy } from "./httpProxy.ts";
import { nginx } from "./nginx.ts";
import { teal, tealNodeHttp } from "./teal.ts";
import { tealHaproxy, tealNginx } from "./tealRouted.ts";
import type { CandidateFactory } from "./types.ts";

export const FACTORIES: Record<CandidateName, CandidateFactory> = {
  direct,
  teal,
  "teal-node-http": tealNodeHttp,
  nginx,
  haproxy,
  "http-proxy": httpProxy,
  "teal-nginx": tealNginx,
  "teal-haproxy": tealHaproxy,
};
