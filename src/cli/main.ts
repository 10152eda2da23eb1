#!/usr/bin/env node
/** The `teal` command line. Every command but `server` and `validate` talks to the admin API. */

import { Command, CommanderError } from "commander";
import { dashboardCommand } from "./commands/dashboard.ts";
import { deployCommand, rollbackCommand } from "./commands/deploy.ts";
import { historyCommand } from "./commands/history.ts";
import { logsCommand } from "./commands/logs.ts";
import type { MigrateAction, MigrateFlags } from "./commands/migrate.ts";
import { abortCommand, promoteCommand, rolloutPauseCommand } from "./commands/rollout.ts";
import { maintenanceCommand, simpleCommand, splitCommand, switchCommand } from "./commands/routing.ts";
import { statusCommand } from "./commands/status.ts";
import type { GlobalOptions } from "./context.ts";
import { EXIT, report } from "./output.ts";

const VERSION = "0.1.0";
// server, proxy, validate and migrate are imported when they run: they load the proxy, the store
// drivers (etcd's gRPC client), PostgreSQL's client and the config schema, which the commands that
// talk to the admin API never use; those start in about half the time without them.

const program = new Command("teal")
  .description("Zero-downtime blue-green and canary deployments for self-hosted services")
  .option("-c, --config <file>", "config file (default: ./teal.yaml, or $TEAL_CONFIG)")
  .option("-d, --data-dir <dir>", "state directory (default: config dataDir, $TEAL_DATA_DIR or ./.teal)")
  .option("--admin <url>", "admin API of a running server (default: from <data-dir>/server.json)")
  .option("--token <token>", "admin token (default: $TEAL_TOKEN or <data-dir>/admin.token)")
  .option("--json", "print machine-readable JSON")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride();

const globals = (cmd: Command): GlobalOptions => cmd.optsWithGlobals();
let exitCode: number = EXIT.ok;
const run =
  (fn: (...args: never[]) => Promise<number>) =>
  async (...args: unknown[]) => {
    exitCode = await (fn as (...a: unknown[]) => Promise<number>)(...args);
  };

program
  .command("server")
  .description("run the proxy, the controller and the admin API")
  .option(
    "--store <url>",
    "where state lives: sqlite (in the data directory) or etcd://HOST:PORT[,HOST:PORT...]",
    "sqlite",
  )
  .option("--store-prefix <prefix>", "etcd only: the key prefix teal writes under (default: /teal)")
  .option("--node <name>", "etcd only: this server's name in the fleet (publishes the revision it serves)")
  .option(
    "--lease-ttl <seconds>",
    "etcd only: how long the node stays listed, and a dead leader keeps the lead, after it stops answering (default: 5)",
  )
  .option(
    "--ack-timeout <seconds>",
    "etcd only: how long a switch waits for every node to serve it (default: 5)",
  )
  .option(
    "--takeover",
    "take over from the teal server running on the same data dir: it hands its listening sockets to a new server run by this command, finishes its in-flight requests and exits",
  )
  .addHelpText(
    "after",
    "\nSIGHUP does the same with the running server's own command line (systemctl reload).",
  )
  .action(
    run(async (_o: unknown, cmd: Command) =>
      (await import("./commands/server.ts")).serverCommand(globals(cmd)),
    ),
  );
program
  .command("proxy")
  .description("run only the proxy, following the routing on a shared etcd store (a fleet node)")
  .option("--store <url>", "the fleet's store: etcd://HOST:PORT[,HOST:PORT...]")
  .option("--store-prefix <prefix>", "the key prefix teal writes under (default: /teal)")
  .option("--node <name>", "this node's name in the fleet, unique, e.g. edge-1")
  .option("--lease-ttl <seconds>", "how long the node stays listed after it stops answering (default: 5)")
  .action(
    run(async (_o: unknown, cmd: Command) =>
      (await import("./commands/proxy.ts")).proxyCommand(globals(cmd), VERSION),
    ),
  );
program
  .command("validate")
  .description("check the config file and exit")
  .action(
    run(async (_o: unknown, cmd: Command) =>
      (await import("./commands/validate.ts")).validateCommand(globals(cmd)),
    ),
  );
program
  .command("status")
  .description("show every service: live color, split, endpoints, drains, traffic")
  .action(run(async (_o: unknown, cmd: Command) => statusCommand(globals(cmd))));
program
  .command("dashboard")
  .description("print the address of the live dashboard (read-only link; actions ask for the admin token)")
  .option("--open", "also open it in the default browser")
  .action(run(async (_o: unknown, cmd: Command) => dashboardCommand(globals(cmd) as never)));
program
  .command("deploy <service>")
  .description(
    "start a version on the idle color, prove it healthy, switch traffic to it, keep the old one warm",
  )
  .option(
    "--version <version>",
    "the version label to deploy, e.g. v2 (passed as TEAL_VERSION); optional with --image: the tag",
  )
  .option("--image <repo:tag>", "docker runtime: deploy this image instead of the configured one")
  .option("--command <command>", "run this command line instead of the configured one")
  .option("--env <KEY=VALUE...>", "extra environment for the new instances (repeatable)")
  .option(
    "--strategy <name>",
    "blueGreen, canary (the configured steps) or a preset, e.g. Canary10Percent5Minutes",
  )
  .option("--no-wait", "return once the deployment is accepted instead of following it")
  .addHelpText(
    "after",
    "\nExit status: 0 when the new version is live, 1 when the deployment failed or was rolled back.",
  )
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => deployCommand(service, globals(cmd) as never)),
  );
program
  .command("rollback <service>")
  .description("go back to the previous version: at once while it is warm, else by redeploying it")
  .option("--no-wait", "return once the rollback is accepted instead of following it")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) =>
      rollbackCommand(service, globals(cmd) as never),
    ),
  );
program
  .command("history <service>")
  .description("list the service's deployments, newest first, with their events")
  .option("--limit <n>", "how many deployments", "20")
  .option("--no-events", "one line per deployment")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => historyCommand(service, globals(cmd) as never)),
  );
program
  .command("logs <service>")
  .description("show the output of the service's instances")
  .option("--color <color>", "only blue or only green")
  .option("-n, --lines <n>", "lines from the end of each instance's log", "100")
  .option("-f, --follow", "keep printing new output until interrupted")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => logsCommand(service, globals(cmd) as never)),
  );
program
  .command("switch <service>")
  .description("send all traffic to one color (default: the other one), then wait for the old one to drain")
  .option("--to <color>", "blue or green")
  .option("--force", "switch even if the target color is not healthy")
  .option("--no-wait", "return as soon as the switch is in force, without waiting for the drain")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => switchCommand(service, globals(cmd) as never)),
  );
program
  .command("split <service>")
  .description("send a share of traffic to green and the rest to blue")
  .requiredOption("--green <percent>", "0..100")
  .option("--force", "even if a color that gets traffic is not healthy")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => splitCommand(service, globals(cmd) as never)),
  );
program
  .command("promote <service>")
  .description("let the running rollout go on now (end a pause or an inconclusive wait)")
  .option("--full", "skip every remaining step: all traffic to the new version")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => promoteCommand(service, globals(cmd) as never)),
  );
program
  .command("abort <service>")
  .description("roll the running deployment back: all traffic to the stable color at once")
  .action(run(async (service: string, _o: unknown, cmd: Command) => abortCommand(service, globals(cmd))));
for (const action of ["pause", "resume"] as const) {
  program
    .command(`${action} <service>`)
    .description(
      action === "pause"
        ? "hold new requests (up to the service's pauseTimeoutMs); with --rollout, hold the running rollout at its step"
        : "release held requests in order; with --rollout, let a paused rollout go on",
    )
    .option("--rollout", "act on the running rollout, not on traffic")
    .action(
      run(async (service: string, _o: unknown, cmd: Command) => {
        const opts = globals(cmd) as GlobalOptions & { rollout?: boolean };
        return opts.rollout
          ? rolloutPauseCommand(service, action, opts)
          : simpleCommand(service, action, opts);
      }),
    );
}
program
  .command("maintenance <service> <on|off>")
  .description("serve a 503 maintenance page, or stop")
  .action(
    run(async (service: string, mode: string, _o: unknown, cmd: Command) =>
      maintenanceCommand(service, mode, globals(cmd)),
    ),
  );

const migrate = program
  .command("migrate")
  .description("schema changes both colors can live with (PostgreSQL): expand, complete, roll back");
const MIGRATE_ACTIONS: Record<MigrateAction, string> = {
  start: "expand: apply the next migration's additive part and create the new version's schema",
  complete: "contract: remove what only the old version needed (after the old color is retired)",
  rollback: "undo the expand in flight; the old version's database is as before",
  status: "show each migration's phase, both versions' schemas and the backfill's progress",
  lint: "flag operations that would break the running version or block its writes",
};
for (const [action, description] of Object.entries(MIGRATE_ACTIONS) as [MigrateAction, string][]) {
  const sub = migrate
    .command(action)
    .description(description)
    .option("--dir <dir>", "the directory holding the migration files (YAML or JSON, applied in name order)");
  if (action !== "lint") {
    sub
      .option("--database-env <name>", "environment variable holding the connection string")
      .option("--database-file <path>", "file holding the connection string");
  }
  if (action === "start") {
    sub
      .option("--lock-timeout-ms <ms>", "how long a step may wait for a table lock before it retries", "500")
      .option("--batch-size <rows>", "rows per backfill batch", "1000")
      .option("--allow-unsafe", "apply even what `teal migrate lint` flags");
  }
  if (action === "complete" || action === "rollback") {
    sub.option(
      "--lock-timeout-ms <ms>",
      "how long a step may wait for a table lock before it retries",
      "500",
    );
  }
  sub.addHelpText(
    "after",
    "\nExit status: 0 done (or nothing to do), 1 failed or refused, 2 bad usage or an invalid migration file.",
  );
  sub.action(
    run(async (_o: unknown, cmd: Command) =>
      (await import("./commands/migrate.ts")).migrateCommand(action, globals(cmd) as MigrateFlags),
    ),
  );
}

program
  .command("completion <shell>")
  .description(
    "print a completion script for bash or zsh, e.g. teal completion bash > /etc/bash_completion.d/teal",
  )
  .action(
    run(async (shell: string) => {
      process.stdout.write((await import("./completion.ts")).completionScript(program, shell));
      return EXIT.ok;
    }),
  );

// Not commander's .version(): it would take `teal deploy web --version v2` for itself.
program.addHelpText("after", "\n  -V, --version          print teal's version (as the only argument)");
const onlyArg = process.argv.length === 3 ? process.argv[2] : undefined;

try {
  if (onlyArg === "--version" || onlyArg === "-V") process.stdout.write(`${VERSION}\n`);
  else await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    exitCode = report(err, program.opts<GlobalOptions>().json);
  }
}
process.exitCode = exitCode;
