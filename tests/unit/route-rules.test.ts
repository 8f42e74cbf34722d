// What a route file may not do (CONTRIBUTING.md, "A route" and "A service"): write the audit log. The
// service that makes a change writes its audit entry (lib/audit.ts `auditAs(ctx, …)`), so no route can
// forget it or write it for a change that did not happen.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");

function routeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return routeFiles(full);
    return name === "route.ts" ? [full] : [];
  });
}

/** Lines of route files that import the audit writers or write to the log. */
export function auditInRoutes(files = routeFiles(path.join(ROOT, "app"))): string[] {
  return files.flatMap((f) =>
    readFileSync(f, "utf8")
      .split("\n")
      .flatMap((line, i) =>
        /import\s*\{[^}]*\baudit(As)?\b[^}]*\}\s*from\s*["'][^"']*\/audit["']|\baudit(As)?\s*\(|auditLog\.create/.test(line) ? [`${path.relative(ROOT, f)}:${i + 1} ${line.trim()}`] : [],
      ),
  );
}

describe("route files", () => {
  it("never write the audit log (their services do)", () => {
    const files = routeFiles(path.join(ROOT, "app"));
    expect(files.length).toBeGreaterThan(30);
    expect(auditInRoutes(files)).toEqual([]);
  });

  it("the check sees an audit write written the usual ways", () => {
    const probe = (line: string) => /import\s*\{[^}]*\baudit(As)?\b[^}]*\}\s*from\s*["'][^"']*\/audit["']|\baudit(As)?\s*\(|auditLog\.create/.test(line);
    expect(probe('import { audit } from "@/lib/audit";')).toBe(true);
    expect(probe("await audit(db, principal, \"x\", \"y\");")).toBe(true);
    expect(probe("await db.prisma.auditLog.create({ data })")).toBe(true);
    expect(probe("const audited = true;")).toBe(false);
    expect(probe('import { listAudit } from "@/lib/audit";')).toBe(false); // reading the log is fine
  });
});
