// The fingerprint an approval is bound to: sha256 over the action and its arguments in canonical JSON
// (object keys sorted at every depth, no whitespace), so the same arguments always hash the same and any
// change — a different id, one more item, a flag — hashes differently.
import { createHash } from "node:crypto";

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new Error("arguments must be finite numbers");
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function argsHash(action: string, args: unknown): string {
  return createHash("sha256").update(canonicalJson({ action, args })).digest("hex");
}
