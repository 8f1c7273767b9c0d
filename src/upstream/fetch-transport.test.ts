import assert from "node:assert/strict";
import { test } from "node:test";
import { transportContract } from "../../test/harness/transport-contract.ts";
import { MiB, transportKit } from "../../test/harness/transport-kit.ts";
import { createFetchTransport } from "./fetch-transport.ts";

const CANARY = "f3tch-c4nary-51e7";
const { secretUrl, expectFailure } = transportKit(CANARY, "http");
const CHAIN_ID_CALL = '{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}';

transportContract("fetch (createFetchTransport)", (target) => createFetchTransport(target));

// --- the `fetch` option: what a browser's fetch is given, and how its bare failures read ----------------------------

test("the given fetch gets the URL without userinfo, a manual redirect mode, and the credentials as Basic auth", async () => {
  const calls: Array<{ url: string; init: RequestInit | undefined }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    calls.push({ url: String(input), init });
    return new Response('{"jsonrpc":"2.0","id":1,"result":"0x1"}', { status: 200 });
  };
  const transport = createFetchTransport({ url: secretUrl(8545), fetch });
  try {
    const answer = await transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB });
    assert.deepEqual(answer, { status: 200, retryAfter: undefined, body: '{"jsonrpc":"2.0","id":1,"result":"0x1"}' });
    const [call] = calls;
    assert.ok(call !== undefined);
    // Browsers refuse a URL with credentials, so they travel only in the header.
    assert.equal(call.url, `http://127.0.0.1:8545/v2/${CANARY}?apikey=${CANARY}`);
    assert.equal(call.init?.method, "POST");
    assert.equal(call.init?.redirect, "manual");
    assert.equal(call.init?.body, CHAIN_ID_CALL);
    const headers = call.init?.headers as Record<string, string>;
    assert.equal(headers["authorization"], `Basic ${btoa(`user-${CANARY}:pw-${CANARY}`)}`);
    assert.equal(headers["content-type"], "application/json");
  } finally {
    await transport.close();
  }
});

test("a browser's bare `Failed to fetch` is `reset` without a code: the request may have been sent", async () => {
  const fetch: typeof globalThis.fetch = async () => {
    throw new TypeError("Failed to fetch");
  };
  const transport = createFetchTransport({ url: secretUrl(8545), fetch });
  try {
    const error = await expectFailure(
      transport.send(CHAIN_ID_CALL, { signal: AbortSignal.timeout(5_000), maxResponseBytes: MiB }),
      "reset",
    );
    assert.equal(error.message, "upstream connection closed before the response was complete");
  } finally {
    await transport.close();
  }
});
