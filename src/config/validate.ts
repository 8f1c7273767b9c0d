/**
 * Checking a config object against a schema, with errors a person can act on. Free of Node modules: the embedded
 * library (browser included) validates its options with it too.
 */

import type { z } from "zod";
import { BaseError } from "../core/errors.ts";

export class ConfigError extends BaseError<"config_invalid"> {
  override readonly name = "ConfigError";
  readonly code = "config_invalid";
  readonly issues: string[];
  constructor(message: string, issues: string[] = []) {
    super(issues.length ? `${message}\n${issues.map((i) => `  - ${i}`).join("\n")}` : message);
    this.issues = issues;
  }
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  // An unknown key is named by its own path (`server.prot`), not its parent's, so a typo can be found directly.
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => `${[...issue.path, key].map(String).join(".")}: unknown key`);
  }
  const path = issue.path.length ? issue.path.map(String).join(".") : "<root>";
  // A record's bad key: say what a key must be, not only that this one is not it.
  if (issue.code === "invalid_key" && issue.issues[0] !== undefined) return [`${path}: ${issue.issues[0].message}`];
  return [`${path}: ${issue.message}`];
}

/** The schema's output for `raw`, or a `ConfigError` listing every problem by its path. */
export function parseWith<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError("invalid config", result.error.issues.flatMap(describeIssue));
  return result.data;
}
