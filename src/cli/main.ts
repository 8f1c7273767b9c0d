#!/usr/bin/env node
/** The `multihome` command line. Exit codes: 0 ok, 1 runtime failure, 2 bad usage or config. */
import { Command } from "commander";
import { startApp } from "../app/app.ts";
import { newApiKey } from "../app/keys.ts";
import { ConfigError, loadConfigFile } from "../config/load.ts";
import { runDemo } from "./demo.ts";

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
    const app = await startApp(config);
    onSignals(() => app.stop());
  });

program
  .command("demo")
  .description("start a local network of anvil nodes in several failure domains with the gateway in front")
  .option("-p, --port <port>", "gateway port (default 8545, or a free one when taken)")
  .option("--block-time <ms>", "milliseconds between blocks", "2000")
  .action(async (opts: { port?: string; blockTime: string }) => {
    const demo = await runDemo({
      ...(opts.port !== undefined ? { port: Number(opts.port) } : {}),
      blockTimeMs: Number(opts.blockTime),
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
