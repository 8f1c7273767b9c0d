#!/usr/bin/env node
/** The `multihome` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config. */
import { Command } from "commander";
import { startApp } from "../app/app.ts";
import { newApiKey } from "../app/keys.ts";
import { startPrimary, workerCount } from "../app/workers/primary.ts";
import { DOCTOR_CHECK_TIMEOUT_MS_DEFAULT } from "../config/defaults.ts";
import { ConfigError, loadConfigFile } from "../config/load.ts";
import { runDemo } from "./demo.ts";
import { DrillUsageError, runDrill } from "./drill.ts";

const program = new Command()
  .name("multihome")
  .description(
    "A multi-homed, verifying JSON-RPC gateway: one URL over independent providers in different failure domains.",
  )
  .showHelpAfterError();

program
  .command("start")
  .description("run the gateway")
  .requiredOption("-c, --config <file>", "config file (.yaml, .json or .ts)")
  .action(async (opts: { config: string }) => {
    const config = await loadConfigFile(opts.config);
    const workers = workerCount(config.server.workers);
    const running = workers > 1 ? await startPrimary(config, opts.config, workers) : await startApp(config);
    onSignals(() => running.stop());
  });

program
  .command("demo")
  .description("start a local network of anvil nodes in several failure domains with the gateway in front")
  .option("-p, --port <port>", "gateway port (default 8545, or a free one when taken)")
  .option("--block-time <ms>", "milliseconds between blocks", "2000")
  .option("--no-op-stack", "leave out the OP-stack chain (chain id 901) and its four anvil nodes")
  .action(async (opts: { port?: string; blockTime: string; opStack: boolean }) => {
    const demo = await runDemo({
      ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
      blockTimeMs: Number(opts.blockTime),
      opStack: opts.opStack,
    });
    onSignals(() => demo.stop());
  });

program
  .command("keys")
  .description("API keys for clients")
  .command("new")
  .description("create a key: prints the key once (give it to the client) and the entry to put in auth.keys")
  .requiredOption("--id <id>", "the key's name in logs, counters and metrics")
  .action((opts: { id: string }) => {
    const { key, hash } = newApiKey();
    process.stdout.write(
      `key (shown once, give it to the client): ${key}\n` +
        `entry for auth.keys or auth.keysFile:\n  - { id: ${JSON.stringify(opts.id)}, hash: "${hash}" }\n`,
    );
  });

program
  .command("doctor")
  .description("probe every upstream and show where dependence is concentrated (exit 1 on a critical finding)")
  .requiredOption("-c, --config <file>", "config file (.yaml, .json or .ts); upstreams may leave out domain")
  .option("--json", "print only the JSON report on stdout")
  .option("--timeout <ms>", `deadline of each check in milliseconds (default ${DOCTOR_CHECK_TIMEOUT_MS_DEFAULT})`)
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (opts: { config: string; json?: boolean; timeout?: string }) => {
    // Loaded here, not at the top: the gateway's start never pays for the doctor or its IP-to-ASN table.
    const { runDoctorCommand } = await import("./doctor.ts");
    process.exitCode = await runDoctorCommand(opts);
  });

program
  .command("drill")
  .description("treat one failure domain as down on a running gateway and report what its clients saw")
  .requiredOption("--domain <selector>", "hosting=aws, operator=alpha-rpc, region=us-east-1, or several joined by ','")
  .option("--duration <time>", "how long: 60s, 2m, 500ms", "60s")
  .option("--admin <url>", "the gateway's admin listener", "http://127.0.0.1:8546")
  .option("--token <token>", "the admin token (default: $MULTIHOME_ADMIN_TOKEN)")
  .option("--progress <ms>", "milliseconds between progress lines", "5000")
  .exitOverride((error) => process.exit(error.exitCode === 0 ? 0 : 2))
  .action(async (opts: { domain: string; duration: string; admin: string; token?: string; progress: string }) => {
    try {
      process.exitCode = await runDrill(
        {
          domain: opts.domain,
          duration: opts.duration,
          admin: opts.admin,
          token: opts.token ?? process.env.MULTIHOME_ADMIN_TOKEN,
          progressMs: Number(opts.progress),
        },
        (line) => process.stdout.write(`${line}\n`),
      );
    } catch (error) {
      process.stderr.write(`multihome drill: ${(error as Error).message}\n`);
      process.exitCode = error instanceof DrillUsageError ? 2 : 1;
    }
  });

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: shutting down…\n`);
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", handler);
  process.once("SIGTERM", handler);
}

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`multihome: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`multihome: ${(error as Error).message}\n`);
  process.exit(1);
});
