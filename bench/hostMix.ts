/** A wrk Lua script that sends each request with a Host picked at random from a list. */
import { writeFile } from "node:fs/promises";

/**
 * Write the script to `file`. The requests are formatted once in init() (one per host), so the
 * per-request cost in wrk is one random pick, the same for every candidate and host count.
 */
export async function writeHostMix(file: string, hosts: string[], path = "/"): Promise<string> {
  const list = hosts.map((h) => JSON.stringify(h)).join(",\n  ");
  await writeFile(
    file,
    `local hosts = {
  ${list}
}
local reqs = {}
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  for i, h in ipairs(hosts) do
    reqs[i] = wrk.format("GET", ${JSON.stringify(path)}, { ["Host"] = h, ["Connection"] = "keep-alive" })
  end
end
function request()
  return reqs[math.random(#reqs)]
end
`,
  );
  return file;
}
