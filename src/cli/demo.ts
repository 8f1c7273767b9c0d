/** `multihome demo`: start the demo network and tell the user what to do with it. */
import { startDemo } from "../app/demo.ts";
import type { DevnetNode } from "../devnet/devnet.ts";

export async function runDemo(options: { port?: number; blockTimeMs: number; opStack?: boolean }) {
  process.stdout.write("Starting anvil nodes in four failure domains…\n");
  const demo = await startDemo(options);
  const { devnet, rpcUrl, app, admin, op, solana } = demo;
  const account = devnet.accounts[0]!;
  const nodeLine = (n: Pick<DevnetNode, "id" | "domain" | "url" | "pid">) =>
    `    ${n.id.padEnd(6)} ${`${n.domain.hosting}/${n.domain.region}`.padEnd(22)} ${n.domain.operator.padEnd(12)} ${n.url}  pid ${n.pid}`;
  const lines = [
    "",
    "Multihome demo is running.",
    "",
    op
      ? `  JSON-RPC   ${rpcUrl}   (chain id ${devnet.chainId})`
      : `  JSON-RPC   ${rpcUrl}   (also ${app.server.url}/ — one chain, chain id ${devnet.chainId})`,
    ...(op
      ? [
          `  OP stack   ${op.rpcUrl}   (chain id ${op.devnet.chainId}: every block starts with an L1-attributes deposit)`,
        ]
      : []),
    ...(solana ? [`  Solana     ${solana.rpcUrl}   (litesvm nodes on the same providers, a slot every 400 ms)`] : []),
    `  readiness  ${app.server.url}/readyz`,
    "",
    "  Upstreams (failure domain = hosting/region, operator):",
    ...devnet.nodes.map(nodeLine),
    ...(op ? [`  and, for the OP-stack chain, the same providers:`, ...op.devnet.nodes.map(nodeLine)] : []),
    ...(solana ? [`  and, for Solana, the same providers:`, ...solana.cluster.nodes.map(nodeLine)] : []),
    "  alpha and beta are different vendors on the same cloud region: one outage takes both.",
    "",
    "  Try it:",
    `    curl -s -X POST ${rpcUrl} -H 'content-type: application/json' \\`,
    `      -d '{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["${account.address}","latest"]}' -i`,
    "",
    "    // viem",
    `    import { createPublicClient, http } from "viem";`,
    `    const client = createPublicClient({ transport: http("${rpcUrl}") });`,
    `    await client.getBalance({ address: "${account.address}" });`,
    "",
    `  Funded dev account: ${account.address} (anvil's well-known test key; never use it on a real network)`,
    ...(solana
      ? [
          "",
          "    # Solana: a balance agreed by independent domains at one slot (see multihome-verified, multihome-slot)",
          `    curl -s -X POST ${solana.rpcUrl} -H 'content-type: application/json' \\`,
          `      -d '{"jsonrpc":"2.0","id":1,"method":"getBalance","params":["${solana.wallet}"]}' -i`,
        ]
      : []),
    "",
    `  Dashboard  ${admin.url}/dashboard?token=${admin.token}`,
    `  Metrics    curl -s -H 'authorization: Bearer ${admin.token}' ${admin.url}/metrics`,
    "",
    "  Outage drill: treat everything on aws as down for 60 s while clients keep querying; the report says how",
    "  many client requests failed, their p50/p99 and which domains served them. In another terminal:",
    `    npm run drill -- --domain hosting=aws --duration 60s --admin ${admin.url} --token ${admin.token}`,
    "",
    "Press Ctrl-C to stop the gateway and every anvil node.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
  return demo;
}
