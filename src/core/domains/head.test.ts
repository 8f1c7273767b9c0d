import assert from "node:assert/strict";
import { test } from "node:test";
import type { FailureDomain } from "./domain.ts";
import { agreedValue, createHeadBook, HEAD_HISTORY_BLOCKS, type HeadBook } from "./head.ts";

function domain(operator: string, hosting: string, region: string): FailureDomain {
  return { operator, hosting, region };
}

/** The hash of block `n` on a chain named `fork`: distinct per fork, so disagreement is visible. */
function hash(n: number, fork = "a"): string {
  return `0x${fork}${n.toString(16).padStart(8, "0")}`;
}

function report(book: HeadBook, id: string, n: number, fork = "a") {
  return book.observe(id, { number: n, hash: hash(n, fork), parentHash: hash(n - 1, fork) });
}

const all = () => true;

/** Three independent upstreams: different operator, cloud and region each. */
function independentBook(extra: { id: string; domain: FailureDomain }[] = []): HeadBook {
  return createHeadBook({
    upstreams: [
      { id: "alpha", domain: domain("alpha-rpc", "aws", "us-east-1") },
      { id: "beta", domain: domain("beta-nodes", "gcp", "europe-west1") },
      { id: "gamma", domain: domain("gamma", "hetzner", "fsn1") },
      ...extra,
    ],
  });
}

test("no reports, no agreed head", () => {
  const book = independentBook();
  assert.equal(book.agree(all), undefined);
  assert.equal(book.current(), undefined);
});

test("one upstream alone never sets the head when independent pairs are possible", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  assert.equal(book.agree(all), undefined);
});

test("two independent upstreams reporting the same hash agree", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  assert.deepEqual(book.agree(all), { number: 100, hash: hash(100), witnesses: ["alpha", "beta"] });
  assert.deepEqual(book.current(), book.agree(all));
});

test("same hosting/region is one outage domain even with different operators: never anchors alone", () => {
  const book = createHeadBook({
    upstreams: [
      { id: "vendor1", domain: domain("vendor-one", "aws", "us-east-1") },
      { id: "vendor2", domain: domain("vendor-two", "aws", "us-east-1") },
      { id: "home", domain: domain("me", "self", "home") },
    ],
  });
  report(book, "vendor1", 100);
  report(book, "vendor2", 100);
  assert.equal(book.agree(all), undefined);
  report(book, "home", 100);
  assert.equal(book.agree(all)?.number, 100);
});

test("one operator in two clouds is not independent either", () => {
  const book = createHeadBook({
    upstreams: [
      { id: "op-aws", domain: domain("big-vendor", "aws", "us-east-1") },
      { id: "op-gcp", domain: domain("big-vendor", "gcp", "us-central1") },
      { id: "other", domain: domain("other", "ovh", "gra") },
    ],
  });
  report(book, "op-aws", 50);
  report(book, "op-gcp", 50);
  assert.equal(book.agree(all), undefined);
  report(book, "other", 50);
  assert.equal(book.agree(all)?.number, 50);
});

test("a liar alone never moves the head: a different hash at the same height", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  book.agree(all);
  report(book, "gamma", 101, "f");
  report(book, "alpha", 101);
  assert.equal(book.agree(all)?.hash, hash(100));
  report(book, "beta", 101);
  assert.deepEqual(book.agree(all), { number: 101, hash: hash(101), witnesses: ["alpha", "beta"] });
});

test("a liar far ahead neither moves the head nor freezes it", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  assert.equal(book.agree(all)?.number, 100);
  // More than the history window ahead, less than the jump limit.
  assert.equal(report(book, "gamma", 5_000, "f"), undefined);
  assert.equal(book.agree(all)?.number, 100);
  for (let n = 101; n <= 110; n++) {
    report(book, "alpha", n);
    report(book, "beta", n);
    assert.equal(book.agree(all)?.number, n);
  }
});

test("a liar far ahead before any agreement does not prevent the first one", () => {
  const book = independentBook();
  report(book, "gamma", 9_000, "f");
  report(book, "alpha", 100);
  report(book, "beta", 100);
  assert.equal(book.agree(all)?.number, 100);
});

test("lagging upstreams do not hold the head back when two others agree", () => {
  const book = independentBook();
  report(book, "gamma", 80);
  report(book, "alpha", 100);
  report(book, "beta", 100);
  assert.equal(book.agree(all)?.number, 100);
});

test("when the two at the top disagree, the highest block an independent pair shares wins", () => {
  const book = independentBook();
  for (let n = 95; n <= 100; n++) report(book, "alpha", n);
  for (let n = 95; n <= 99; n++) report(book, "beta", n);
  book.observe("beta", { number: 100, hash: hash(100, "f"), parentHash: hash(99) });
  assert.equal(book.agree(all)?.number, 99);
});

test("parent hashes count as reports: a pair agrees on the block below a split head", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  book.observe("beta", { number: 101, hash: hash(101, "b"), parentHash: hash(100) });
  assert.deepEqual(book.agree(all), { number: 100, hash: hash(100), witnesses: ["alpha", "beta"] });
});

test("the agreed head never goes backwards", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  assert.equal(book.agree(all)?.number, 100);
  // A shallow reorg on both: they now report 98 on another fork.
  report(book, "alpha", 98, "r");
  report(book, "beta", 98, "r");
  assert.equal(book.agree(all)?.number, 100);
  // Only the gamma-beta pair is usable and lags: still 100.
  report(book, "gamma", 90);
  assert.equal(book.agree((id) => id !== "alpha")?.number, 100);
  assert.equal(book.agree(() => false)?.number, 100);
});

test("a reorg at the same height moves the agreed hash once a pair agrees on it", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  book.agree(all);
  report(book, "alpha", 100, "r");
  report(book, "beta", 100, "r");
  assert.equal(book.agree(all)?.hash, hash(100, "r"));
});

test("upstreams the caller does not accept are not witnesses", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  report(book, "gamma", 100);
  assert.deepEqual(book.agree((id) => id !== "alpha")?.witnesses, ["beta", "gamma"]);
  const fresh = independentBook();
  report(fresh, "alpha", 100);
  report(fresh, "beta", 100);
  assert.equal(
    fresh.agree((id) => id === "alpha"),
    undefined,
  );
});

test("forget drops an upstream's reports", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  book.forget("beta");
  assert.equal(book.headOf("beta"), undefined);
  assert.equal(book.agree(all), undefined);
  assert.equal(book.headOf("alpha"), 100);
});

test("single-domain setups: every usable upstream must agree", () => {
  const book = createHeadBook({
    upstreams: [
      { id: "n1", domain: domain("me", "self", "home") },
      { id: "n2", domain: domain("me", "self", "home") },
    ],
  });
  report(book, "n1", 10);
  report(book, "n2", 10, "x");
  assert.equal(book.agree(all), undefined);
  report(book, "n2", 10);
  assert.deepEqual(book.agree(all), { number: 10, hash: hash(10), witnesses: ["n1", "n2"] });
  // One node ahead: the head follows the one behind until both have the block.
  report(book, "n1", 11);
  assert.equal(book.agree(all)?.number, 10);
  report(book, "n2", 11);
  assert.equal(book.agree(all)?.number, 11);
  // A node left out by the caller (breaker open) does not block agreement.
  report(book, "n1", 12);
  assert.equal(book.agree((id) => id === "n1")?.number, 12);
});

test("single-domain setups: the first upstream to report does not set the head alone", () => {
  const book = createHeadBook({
    upstreams: [
      { id: "n1", domain: domain("me", "self", "home") },
      { id: "n2", domain: domain("me", "self", "home") },
    ],
  });
  report(book, "n1", 10);
  assert.equal(book.agree(all), undefined);
  report(book, "n2", 10);
  assert.equal(book.agree(all)?.number, 10);
});

test("a single upstream of one's own is its own witness", () => {
  const book = createHeadBook({ upstreams: [{ id: "mine", domain: domain("me", "self", "home") }] });
  report(book, "mine", 7);
  assert.equal(book.agree(all)?.number, 7);
});

test("anomaly: an upstream going back more than 64 blocks is reported and not recorded", () => {
  const book = independentBook();
  report(book, "alpha", 1_000);
  assert.equal(report(book, "alpha", 936), undefined); // exactly 64 back: a deep but allowed reorg
  report(book, "alpha", 1_000);
  assert.deepEqual(report(book, "alpha", 935), { kind: "backwards", from: 1_000, to: 935 });
  assert.equal(book.headOf("alpha"), 1_000);
});

test("anomaly: a head more than 10,000 blocks past the agreed head is a jump", () => {
  const book = independentBook();
  report(book, "alpha", 100);
  report(book, "beta", 100);
  book.agree(all);
  assert.equal(report(book, "gamma", 10_100), undefined);
  assert.deepEqual(report(book, "gamma", 10_101), { kind: "jump", from: 100, to: 10_101 });
  assert.equal(book.headOf("gamma"), 10_100);
});

test("anomaly limits are options", () => {
  const book = createHeadBook({
    upstreams: [
      { id: "a", domain: domain("a", "aws", "x") },
      { id: "b", domain: domain("b", "gcp", "y") },
    ],
    maxJumpBlocks: 10,
    maxBackwardsBlocks: 2,
  });
  report(book, "a", 100);
  report(book, "b", 100);
  book.agree(all);
  assert.deepEqual(report(book, "a", 111), { kind: "jump", from: 100, to: 111 });
  assert.deepEqual(report(book, "b", 97), { kind: "backwards", from: 100, to: 97 });
});

test("history is bounded while following a long chain", () => {
  const book = independentBook();
  for (let n = 1; n <= 5 * HEAD_HISTORY_BLOCKS; n++) {
    report(book, "alpha", n);
    report(book, "beta", n);
  }
  assert.equal(book.agree(all)?.number, 5 * HEAD_HISTORY_BLOCKS);
});

test("agreedValue: a genesis is agreed only by independent upstreams, never by the first to answer", () => {
  const upstreams = [
    { id: "a1", domain: domain("vendor-a", "aws", "us-east-1") },
    { id: "a2", domain: domain("vendor-b", "aws", "us-east-1") },
    { id: "g", domain: domain("vendor-c", "gcp", "eu") },
  ];
  assert.equal(agreedValue(new Map([["a1", "0xfake"]]), upstreams), undefined);
  // Two vendors on one cloud region are not independent: their agreement anchors nothing.
  assert.equal(
    agreedValue(
      new Map([
        ["a1", "0xfake"],
        ["a2", "0xfake"],
      ]),
      upstreams,
    ),
    undefined,
  );
  assert.equal(
    agreedValue(
      new Map([
        ["a1", "0xfake"],
        ["a2", "0xreal"],
        ["g", "0xreal"],
      ]),
      upstreams,
    ),
    "0xreal",
  );
});

test("agreedValue: single-domain setups need everyone who answered to agree", () => {
  const upstreams = [
    { id: "n1", domain: domain("me", "self", "home") },
    { id: "n2", domain: domain("me", "self", "home") },
  ];
  assert.equal(agreedValue(new Map([["n1", "0xa"]]), upstreams), "0xa");
  assert.equal(
    agreedValue(
      new Map([
        ["n1", "0xa"],
        ["n2", "0xb"],
      ]),
      upstreams,
    ),
    undefined,
  );
});

test("agreedAt: a past block is anchored when independent upstreams reported the same hash for it", () => {
  const book = independentBook();
  report(book, "alpha", 10);
  report(book, "gamma", 11);
  // gamma's head 11 carries its parent 10: both said the same hash for 10.
  assert.equal(book.agreedAt(10, all)?.hash, hash(10));
  assert.equal(book.agreedAt(11, all), undefined);
  assert.equal(book.agreedAt(5, all), undefined);
});

test("a reorg: a head whose parent contradicts the past is a broken link; walked-back ancestors re-form agreement", () => {
  const book = createHeadBook({
    upstreams: [
      { id: "a", domain: { operator: "x", hosting: "aws", region: "r1" } },
      { id: "b", domain: { operator: "y", hosting: "gcp", region: "r2" } },
    ],
  });
  const all = () => true;
  for (const id of ["a", "b"]) {
    book.observe(id, { number: 10, hash: "h10", parentHash: "h9" });
    book.observe(id, { number: 11, hash: "h11", parentHash: "h10" });
  }
  book.agree(all);
  assert.equal(book.agreedAt(10, all)?.hash, "h10");
  // Depth-2 reorg: block 12's parent is a new 11, whose parent is a new 10.
  assert.equal(book.linkBroken("a", 12, "n12", "n11"), true);
  assert.equal(book.linkBroken("a", 12, "n12", "h11"), false);
  // Depth 1: another block at the height already reported, on the same parent.
  assert.equal(book.linkBroken("a", 11, "x11", "h10"), true);
  assert.equal(book.linkBroken("a", 11, "h11", "h10"), false);
  for (const id of ["a", "b"]) {
    book.observe(id, { number: 12, hash: "n12", parentHash: "n11" });
    assert.equal(book.hashOf(id, 11), "n11");
    assert.equal(book.hashOf(id, 10), "h10", "not yet walked back");
  }
  assert.equal(book.doubted(11, "h11", all), true);
  assert.equal(book.doubted(10, "h10", all), false);
  book.recordAncestor("a", 10, "n10");
  assert.equal(book.doubted(10, "h10", all), true);
  assert.equal(book.agreedAt(10, all), undefined, "the two disagree until both have walked back");
  book.recordAncestor("b", 10, "n10");
  assert.equal(book.agreedAt(10, all)?.hash, "n10");
  // Never above the upstream's head, nor beyond its history.
  book.recordAncestor("a", 13, "x");
  assert.equal(book.hashOf("a", 13), undefined);
});

test("blocks taken back by heads going below them are doubted once independent domains no longer agree on them", () => {
  const book = independentBook();
  for (const id of ["alpha", "beta", "gamma"]) for (let n = 10; n <= 13; n++) report(book, id, n);
  assert.equal(book.agree(all)?.hash, hash(13));
  // A reorg under way: nodes roll back to 11 before mining the new branch.
  report(book, "alpha", 11);
  assert.equal(book.doubted(12, hash(12), all), false, "beta and gamma, independent, still agree on it");
  report(book, "beta", 11);
  assert.equal(book.doubted(12, hash(12), all), true, "taken back by two; one witness alone is no agreement");
  assert.equal(book.doubted(13, hash(13), all), true);
  assert.equal(book.doubted(11, hash(11), all), false, "what they went back to stays agreed");
  report(book, "alpha", 12);
  report(book, "beta", 12);
  assert.equal(book.doubted(12, hash(12), all), false, "reported again: no longer taken back");
});

test("off the new head's branch: a block some witness of the head names otherwise, or says nothing of", () => {
  const book = independentBook();
  for (const id of ["alpha", "beta"]) for (let n = 10; n <= 13; n++) report(book, id, n, "b");
  report(book, "gamma", 13, "a");
  const head = book.agree(all)!;
  assert.deepEqual([head.hash, head.witnesses], [hash(13, "b"), ["alpha", "beta"]]);
  assert.equal(book.offBranch(head, 12, hash(12, "b")), false);
  assert.equal(book.offBranch(head, 12, hash(12, "a")), true, "gamma's old block there is off the branch");
  assert.equal(book.offBranch(head, 5, hash(5, "b")), true, "nothing said there: not known to be on it");
  assert.equal(book.offBranch(head, 14, hash(14, "b")), true, "above the head");
});

test("during a reorg walk what the upstream said below its new head vouches for nothing, until the walk ends", () => {
  const book = independentBook();
  for (const id of ["alpha", "beta"]) for (let n = 10; n <= 13; n++) report(book, id, n);
  assert.equal(book.agreedAt(11, all)?.hash, hash(11));
  // Both see a new branch from 11 up; alpha's walk is under way, beta's has not begun.
  for (const id of ["alpha", "beta"]) report(book, id, 14, "b");
  book.hold("alpha", 13);
  assert.equal(book.agreedAt(11, all), undefined, "alpha's old block 11 is no witness while its walk runs");
  assert.equal(book.hashOf("alpha", 11), hash(11), "the walk still finds where the branches meet");
  book.recordAncestor("alpha", 12, hash(12, "b"));
  book.release("alpha", 10);
  assert.equal(book.hashOf("alpha", 11), undefined, "above where the walk met: forgotten, not restored");
  assert.equal(book.agreedAt(10, all)?.hash, hash(10), "at and below it: its chain still");
  assert.equal(book.hashOf("alpha", 12), hash(12, "b"), "what the walk learned stays");
  // A walk cut short forgets everything it held.
  book.hold("beta", 13);
  book.release("beta");
  assert.equal(book.hashOf("beta", 10), undefined);
  assert.equal(book.hashOf("beta", 13), hash(13, "b"), "the new head's parent is kept");
});
