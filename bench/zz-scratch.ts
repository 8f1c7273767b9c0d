import { privateKeyToAccount } from "viem/accounts";
import { DEMO_NODES } from "../src/app/demo.ts";
import { DEV_ACCOUNTS } from "../src/devnet/accounts.ts";
import { startDevnet } from "../src/devnet/devnet.ts";
import { rpc } from "./nodes.ts";
const devnet = await startDevnet({ nodes: DEMO_NODES, blockTimeMs: 0, onError: (e) => console.log("ERR", e.message) });
try {
  await devnet.mine(1);
  const a = privateKeyToAccount(DEV_ACCOUNTS[0]!.privateKey);
  for (let i = 0; i < 3; i++) {
    const raw = await a.signTransaction({ chainId: devnet.chainId, type: "eip1559", nonce: i, to: DEV_ACCOUNTS[6]!.address, value: 1n, gas: 21000n, maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000n });
    console.log(await devnet.sendRawTransaction(raw));
  }
  console.log(JSON.stringify(await rpc(devnet.nodes[0]!.url, "txpool_content", [])).slice(0, 300));
  await devnet.mine(1);
  console.log(JSON.stringify(await rpc(devnet.nodes[0]!.url, "eth_getBlockByNumber", ["0x2", false])).slice(0, 1500));
} finally { await devnet.stop(); }
