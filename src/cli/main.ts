#!/usr/bin/env node
/** The `teal` command line. Every command but `server` and `validate` talks to the admin API. */

import { Command, CommanderError } from "commander";
import { maintenanceCommand, simpleCommand, splitCommand, switchCommand } from "./commands/routing.ts";
import { serverCommand } from "./commands/server.ts";
import { statusCommand } from "./commands/status.ts";
import { validateCommand } from "./commands/validate.ts";
import type { GlobalOptions } from "./context.ts";
import { EXIT, report } from "./output.ts";

const program = new Command("teal")
  .description("Zero-downtime blue-green and canary deployments for self-hosted services")
  .version("0.1.0")
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
  .action(run(async (_o: unknown, cmd: Command) => serverCommand(globals(cmd))));
program
  .command("validate")
  .description("check the config file and exit")
  .action(run(async (_o: unknown, cmd: Command) => validateCommand(globals(cmd))));
program
  .command("status")
  .description("show every service: live color, split, endpoints, drains, traffic")
  .action(run(async (_o: unknown, cmd: Command) => statusCommand(globals(cmd))));
program
  .command("switch <service>")
  .description("send all traffic to one color (default: the other one), then wait for the old one to drain")
  .option("--to <color>", "blue or green")
  .option("--no-wait", "return as soon as the switch is in force, without waiting for the drain")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => switchCommand(service, globals(cmd) as never)),
  );
program
  .command("split <service>")
  .description("send a share of traffic to green and the rest to blue")
  .requiredOption("--green <percent>", "0..100")
  .action(
    run(async (service: string, _o: unknown, cmd: Command) => splitCommand(service, globals(cmd) as never)),
  );
for (const action of ["pause", "resume"] as const) {
  program
    .command(`${action} <service>`)
    .description(
      action === "pause"
        ? "hold new requests (up to the service's pauseTimeoutMs)"
        : "release held requests in order",
    )
    .action(
      run(async (service: string, _o: unknown, cmd: Command) => simpleCommand(service, action, globals(cmd))),
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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    exitCode = report(err, program.opts<GlobalOptions>().json);
  }
}
process.exitCode = exitCode;
