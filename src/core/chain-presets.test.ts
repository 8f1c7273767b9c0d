import assert from "node:assert/strict";
import { test } from "node:test";
import { chainPreset, missingPresetWarning, UNKNOWN_CHAIN_PRESET } from "./chain-presets.ts";

test("the chains users run most have presets: stack and block time", () => {
  const expected: [number, string, string, number | undefined][] = [
    [1, "ethereum", "ethereum", 12_000],
    [11155111, "sepolia", "ethereum", 12_000],
    [10, "optimism", "op-stack", 2_000],
    [8453, "base", "op-stack", 2_000],
    [42161, "arbitrum-one", "arbitrum", 250],
    [137, "polygon", "polygon", 2_000],
    [100, "gnosis", "ethereum", 5_000],
    [59144, "linea", "ethereum", 2_000],
    [56, "bnb", "ethereum", 750],
    [43114, "avalanche", "ethereum", 2_000],
  ];
  for (const [id, name, stack, blockTimeMs] of expected) {
    const preset = chainPreset(id);
    assert.deepEqual(
      [preset.name, preset.stack ?? "ethereum", preset.blockTimeMs],
      [name, stack, blockTimeMs],
      `${id}`,
    );
  }
  assert.equal(chainPreset(987_654_321), UNKNOWN_CHAIN_PRESET);
});

test("an unknown chain id is warned about, naming the fields left unset", () => {
  assert.equal(missingPresetWarning(8453, {}), undefined);
  const warning = missingPresetWarning(987_654_321, { staleAfterMs: 10_000 });
  assert.match(warning ?? "", /chain 987654321 has no preset/);
  assert.match(warning ?? "", /chains\[\]\.stack, chains\[\]\.forks/);
  assert.doesNotMatch(warning ?? "", /staleAfterMs/);
  assert.equal(missingPresetWarning(987_654_321, { stack: "ethereum", staleAfterMs: 10_000, forks: false }), undefined);
});
