import assert from "node:assert/strict";
import { test } from "node:test";
import { spawnNodeProcess } from "./process.ts";

/** A child node process running `script`; stopped by SIGTERM (its default action), SIGKILL after 2 s. */
function child(script: string, extra: { stopAlsoSends?: NodeJS.Signals } = {}) {
  return spawnNodeProcess(process.execPath, ["-e", script], {
    stdin: "ignore",
    stopGraceMs: 2_000,
    tailChars: 100,
    ...extra,
  });
}

const numberAfterHello = (line: string) => {
  const match = /^hello (\d+)$/.exec(line);
  return match?.[1] ? Number(match[1]) : undefined;
};

test("waitForLine finds a line printed in pieces, and stop() ends the process", async () => {
  const proc = child(
    "process.stdout.write('noise\\nhel'); setTimeout(() => process.stdout.write('lo 4'), 50);" +
      "setTimeout(() => process.stdout.write('2\\n'), 100); setInterval(() => {}, 1000);",
  );
  try {
    const value = await proc.waitForLine({
      parse: numberAfterHello,
      timeoutMs: 5_000,
      what: "hello",
      signal: undefined,
    });
    assert.equal(value, 42);
    assert.equal(proc.hasExited(), false);
  } finally {
    await Promise.all([proc.stop(), proc.stop()]);
  }
  assert.equal(proc.exitInfo(), "killed by SIGTERM");
});

test("waitForLine rejects when the process exits first; the output's tail keeps both pipes", async () => {
  const proc = child("console.log('out'); console.error('boom'); process.exit(3);");
  await assert.rejects(
    proc.waitForLine({ parse: numberAfterHello, timeoutMs: 5_000, what: "hello", signal: undefined }),
    /exited before listening/,
  );
  await proc.closed;
  assert.equal(proc.exitInfo(), "exited with code 3");
  assert.match(proc.outputTail(), /out[\s\S]*boom|boom[\s\S]*out/);
});

test("waitForLine rejects on its timeout and on an abort", async () => {
  const proc = child("setInterval(() => {}, 1000);");
  try {
    await assert.rejects(
      proc.waitForLine({ parse: numberAfterHello, timeoutMs: 100, what: "hello", signal: undefined }),
      /no hello printed within 100 ms/,
    );
    const controller = new AbortController();
    const waiting = proc.waitForLine({
      parse: numberAfterHello,
      timeoutMs: 5_000,
      what: "hello",
      signal: controller.signal,
    });
    controller.abort(new Error("told to stop"));
    await assert.rejects(waiting, /told to stop/);
  } finally {
    await proc.stop();
  }
});

test("stop() continues a stopped process when asked to, so SIGTERM ends it before the grace runs out", async () => {
  const proc = child("setInterval(() => {}, 1000);", { stopAlsoSends: "SIGCONT" });
  await new Promise((resolve) => setTimeout(resolve, 100));
  proc.signal("SIGSTOP");
  const started = Date.now();
  await proc.stop();
  assert.ok(Date.now() - started < 1_500, `took ${Date.now() - started} ms`);
  assert.equal(proc.exitInfo(), "killed by SIGTERM");
});

test("a command that cannot be spawned counts as exited", async () => {
  const proc = spawnNodeProcess("/nonexistent/node", [], { stdin: "ignore", stopGraceMs: 2_000, tailChars: 100 });
  await proc.exited;
  assert.match(proc.exitInfo() ?? "", /could not be spawned: .*ENOENT/);
  assert.equal(proc.outputTail(), "");
  await proc.stop();
});
