import assert from "node:assert/strict";
import { test } from "node:test";
import { WORKER_SEMI_SPACE_MB, workerExecArgv } from "./primary.ts";

test("workers run with a bounded young generation unless the operator chose one; a test runner's flags stay behind", () => {
  assert.deepEqual(workerExecArgv(["--test", "--enable-source-maps"], ""), [
    "--enable-source-maps",
    `--max-semi-space-size=${WORKER_SEMI_SPACE_MB}`,
  ]);
  assert.deepEqual(workerExecArgv(["--max-semi-space-size=32"], ""), ["--max-semi-space-size=32"]);
  assert.deepEqual(workerExecArgv([], "--max-old-space-size=4096 --max-semi-space-size=2"), []);
});
