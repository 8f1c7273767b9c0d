/** Field shapes the config schema's modules share. */
import * as z from "zod";

/** A name in logs, metrics and failure domains: 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export const label = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' or '-'");
