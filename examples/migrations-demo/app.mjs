#!/usr/bin/env node
// The migrations demo's app: a list of items in PostgreSQL. Version v1 knows only `title`;
// version v2 (any TEAL_VERSION but v1) also reads and writes `description`. Each runs on the
// schema teal gives it: node-postgres reads PGOPTIONS (-c search_path=teal_<migration>,public) by
// itself, so the SQL below names no schema. The connection string comes from APP_DATABASE_URL,
// which teal passes on from its own environment.
//   GET /items          the last 20 items
//   GET /items/<id>     one item (404 if there is none)
//   POST /items?title=x[&description=y]   adds one (v2's default description: "written by v2")
import { createServer } from "node:http";
import pg from "pg";

const port = Number(process.env.PORT ?? 9001);
const version = process.env.TEAL_VERSION ?? "v1";
const v2 = version !== "v1";
const columns = v2 ? "id, title, description" : "id, title";
const db = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL, max: 4 });
// A connection the database closes (a restart, a kill) is dropped from the pool, not fatal.
db.on("error", () => {});

async function answer(req, url) {
  if (url.pathname === "/health") {
    await db.query("SELECT 1");
    return [200, { status: "ok", version, schema: process.env.TEAL_DB_SCHEMA ?? "public" }];
  }
  if (url.pathname === "/items" && req.method === "POST") {
    const title = url.searchParams.get("title") ?? "untitled";
    const { rows } = v2
      ? await db.query(`INSERT INTO items (title, description) VALUES ($1, $2) RETURNING ${columns}`, [
          title,
          url.searchParams.get("description") ?? `written by ${version}`,
        ])
      : await db.query(`INSERT INTO items (title) VALUES ($1) RETURNING ${columns}`, [title]);
    return [200, { version, item: rows[0] }];
  }
  const one = /^\/items\/(\d+)$/.exec(url.pathname);
  if (one) {
    const { rows } = await db.query(`SELECT ${columns} FROM items WHERE id = $1`, [Number(one[1])]);
    return rows[0] ? [200, { version, item: rows[0] }] : [404, { version, error: "no such item" }];
  }
  const { rows } = await db.query(`SELECT ${columns} FROM items ORDER BY id DESC LIMIT 20`);
  return [200, { version, items: rows }];
}

const server = createServer(async (req, res) => {
  let status = 500;
  let body;
  try {
    [status, body] = await answer(req, new URL(req.url ?? "/", "http://app"));
  } catch (err) {
    body = { version, error: err.message };
  }
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
});
server.listen(port, "127.0.0.1", () => console.log(`migrations demo ${version} on 127.0.0.1:${port}`));
process.on("SIGTERM", () => server.close(() => db.end().then(() => process.exit(0))));
