/**
 * Deterministic signers and signed transfers for the Solana devnet's tests and the demo. Keys derive from a label, so
 * every run (and every node's genesis) names the same accounts.
 */

import { createHash } from "node:crypto";
import {
  appendTransactionMessageInstruction,
  createKeyPairSignerFromPrivateKeyBytes,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  type KeyPairSigner,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from "@solana/kit";
import { getTransferSolInstruction } from "@solana-program/system";

/** One SOL, in lamports. */
export const LAMPORTS_PER_SOL = 1_000_000_000n;

/** A key pair whose private key is sha256 of `label`: the same address on every run. */
export function devnetSigner(label: string): Promise<KeyPairSigner> {
  const seed = createHash("sha256").update(`multihome-solana-devnet:${label}`).digest();
  return createKeyPairSignerFromPrivateKeyBytes(seed);
}

export interface TransferOptions {
  from: KeyPairSigner;
  to: string;
  /** In lamports. A new account needs at least the rent-exempt minimum. */
  lamports: bigint;
  /** A recent blockhash (`getLatestBlockhash`). */
  blockhash: string;
  /** @default 0 */
  version?: 0 | "legacy";
}

/** A signed System-program transfer, as base64 wire bytes. */
export async function signedTransfer(options: TransferOptions): Promise<string> {
  const { from, to, lamports, blockhash, version = 0 } = options;
  const message = pipe(
    createTransactionMessage({ version }),
    (m) => setTransactionMessageFeePayerSigner(from, m),
    (m) =>
      setTransactionMessageLifetimeUsingBlockhash(
        {
          blockhash: blockhash as Parameters<typeof setTransactionMessageLifetimeUsingBlockhash>[0]["blockhash"],
          lastValidBlockHeight: 0n,
        },
        m,
      ),
    (m) =>
      appendTransactionMessageInstruction(
        getTransferSolInstruction({ source: from, destination: to as KeyPairSigner["address"], amount: lamports }),
        m,
      ),
  );
  return getBase64EncodedWireTransaction(await signTransactionMessageWithSigners(message));
}
