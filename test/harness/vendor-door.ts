/**
 * A stand-in for an RPC vendor's front door, for provider shortcuts pointed at local nodes: one HTTP server on
 * 127.0.0.1 serving several chains by the network name in its path, `/{network}/{key}` (`/{network}` for a vendor
 * without keys), each forwarded to that chain's node (anvil answers at `/` only). A wrong key, an unknown network or
 * any other path is refused with 401, as a vendor refuses a bad key, so a gateway only gets answers if it put the key
 * where the vendor's URL has it. Nothing it answers repeats the path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface VendorDoor {
  /** `http://127.0.0.1:<port>`: the template of the vendor is `${url}/{network}/{key}` (or `${url}/{network}`). */
  url: string;
  /** Requests forwarded for `network` (every network when left out). */
  served(network?: string): number;
  /** Requests refused (wrong key or path, or all while `refuseAll`). */
  refused(): number;
  /** Refuse every request from now on (a revoked key), or serve again. */
  refuseAll(refusing: boolean): void;
  close(): Promise<void>;
}

export interface VendorDoorOptions {
  /** Network name → the URL of the node serving it. */
  networks: Record<string, string>;
  /** The key the path must carry; undefined for a vendor without keys. */
  key?: string;
}

const REFUSAL = JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "invalid API key" } });

async function bodyOf(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startVendorDoor(options: VendorDoorOptions): Promise<VendorDoor> {
  const served = new Map<string, number>();
  let refused = 0;
  let refusing = false;
  const targetOf = (path: string): [string, string] | undefined => {
    const [, network, key, ...rest] = path.split("/");
    const target = network === undefined ? undefined : options.networks[network];
    const keyOk = options.key === undefined ? key === undefined : key === options.key;
    return target !== undefined && keyOk && rest.length === 0 ? [network!, target] : undefined;
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await bodyOf(req);
    const route = refusing ? undefined : targetOf((req.url ?? "/").split("?", 1)[0]!);
    if (route === undefined || req.method !== "POST") {
      refused++;
      res.writeHead(401, { "content-type": "application/json" }).end(REFUSAL);
      return;
    }
    const [network, target] = route;
    served.set(network, (served.get(network) ?? 0) + 1);
    try {
      const answer = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": "application/json" }).end(Buffer.from(await answer.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: (network) =>
      network === undefined ? [...served.values()].reduce((a, b) => a + b, 0) : (served.get(network) ?? 0),
    refused: () => refused,
    refuseAll(on) {
      refusing = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
