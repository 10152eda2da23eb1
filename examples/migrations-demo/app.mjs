#!/usr/bin/env node
// The migrations demo's app: a list of items in PostgreSQL. Version v1 knows only `title`;
// version v2 (TEAL_VERSION=v2) also reads and writes `description`. Each runs on the schema teal
// gives it: node-postgres reads PGOPTIONS (-c search_path=teal_<migration>,public) by itself.
//   GET /items          the last 20 items
//   POST /items?title=x[&description=y]   adds one
import { createServer } from "node:http";
import pg from "pg";

const port = Number(process.env.PORT ?? 9001);
const version = process.env.TEAL_VERSION ?? "v1";
const v2 = version !== "v1";
const db = new pg.Pool({ connectionString: process.env.APP_DATABASE_URL, max: 4 });

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? "/", "http://app");
  try {
    let body;
    if (url.pathname === "/health") {
      await db.query("SELECT 1");
      body = { status: "ok", version, schema: process.env.TEAL_DB_SCHEMA ?? "public" };
    } else if (url.pathname === "/items" && req.method === "POST") {
      const title = url.searchParams.get("title") ?? "untitled";
      const { rows } = v2
        ? await db.query("INSERT INTO items (title, description) VALUES ($1, $2) RETURNING *", [
            title,
            url.searchParams.get("description") ?? `written by ${version}`,
          ])
        : await db.query("INSERT INTO items (title) VALUES ($1) RETURNING id, title", [title]);
      body = { version, item: rows[0] };
    } else {
      const columns = v2 ? "id, title, description" : "id, title";
      const { rows } = await db.query(`SELECT ${columns} FROM items ORDER BY id DESC LIMIT 20`);
      body = { version, items: rows };
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  } catch (err) {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ version, error: err.message }));
  }
});
server.listen(port, "127.0.0.1", () => console.log(`migrations demo ${version} on 127.0.0.1:${port}`));
process.on("SIGTERM", () => server.close(() => db.end().then(() => process.exit(0))));
