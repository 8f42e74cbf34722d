// PostgreSQL text cannot hold U+0000: a NUL character anywhere in input would reach the database as an
// error (a 500). The route wrapper refuses such input up front with a 400 naming the field.
import { ValidationError } from "../errors";

function findNul(value: unknown, path: string[], depth: number): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path.join(".") || "(root)" : null;
  if (depth > 32 || value === null || typeof value !== "object") return null;
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.includes("\u0000")) return [...path, k.replace(/\u0000/g, "\\0")].join(".");
    const hit = findNul(v, [...path, k], depth + 1);
    if (hit) return hit;
  }
  return null;
}

export function assertNoNul(value: unknown, where: string): void {
  const path = findNul(value, [], 0);
  if (path) throw new ValidationError(`Invalid ${where}: ${path} contains a NUL character (\\u0000).`, [{ path, message: "contains a NUL character", in: where }]);
}
