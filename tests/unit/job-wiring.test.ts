// Explicit wiring, checked from the source and the modules themselves: every job kind defined anywhere in
// lib/ is in the registry the workers run; every source driver is in SOURCE_DRIVERS and every schedule
// target kind in TARGET_KINDS; nothing is late-bound through a setter or registered by importing a module.
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SOURCE_DRIVERS } from "@/lib/ingest/drivers";
import { ALL_JOBS, jobsFor } from "@/lib/jobs/registry";
import { TARGET_KINDS } from "@/lib/schedules/targets";

const ROOT = path.resolve(__dirname, "../..");

function sources(dir: string): Array<{ rel: string; text: string }> {
  const out: Array<{ rel: string; text: string }> = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (name === "generated") continue;
    if (statSync(full).isDirectory()) out.push(...sources(full));
    else if (/\.tsx?$/.test(name)) out.push({ rel: path.relative(ROOT, full), text: readFileSync(full, "utf8") });
  }
  return out;
}
const LIB = sources(path.join(ROOT, "lib"));

describe("job wiring", () => {
  it("the registry holds every job kind defined in lib/, once", () => {
    const defined = LIB.flatMap((f) => [...f.text.matchAll(/defineJob(?:<[^(]*)?\(\{[^}]*?\bname:\s*"([^"]+)"/g)].map((m) => m[1]));
    expect(defined.length).toBeGreaterThanOrEqual(5);
    const registered = ALL_JOBS.map((j) => j.name);
    expect([...registered].sort()).toEqual([...defined].sort());
    expect(new Set(registered).size).toBe(registered.length);
  });

  it("each worker role runs its area's jobs", () => {
    expect(jobsFor(["ingest"]).map((j) => j.name).sort()).toEqual(["ingest.embed-backfill", "ingest.import", "ingest.notion-webhook"]);
    expect(jobsFor(["backup"]).map((j) => j.name)).toEqual(["backup.run"]);
    expect(jobsFor(["evaluate"]).length).toBeGreaterThan(0);
  });

  it("every source driver in lib/ingest is wired in SOURCE_DRIVERS", () => {
    const declared = LIB.filter((f) => f.rel.startsWith(`lib${path.sep}ingest`) || f.rel.startsWith(`lib${path.sep}supabase-import`)).flatMap((f) =>
      [...f.text.matchAll(/export const (\w+): SourceDriver\b/g)].map((m) => m[1]),
    );
    expect(declared.sort()).toEqual(["demoDriver", "notionDriver", "s3Driver", "supabaseDriver"]);
    expect(Object.keys(SOURCE_DRIVERS).sort()).toEqual(["demo", "notion", "s3", "supabase"]);
    for (const d of Object.values(SOURCE_DRIVERS)) {
      expect(typeof d.seeds).toBe("function");
      expect(typeof d.fetch).toBe("function");
    }
  });

  it("every schedule target kind is in TARGET_KINDS, with a handed-off result's status where it hands off", () => {
    expect(TARGET_KINDS.map((k) => k.kind)).toEqual(["webhook", "evaluation_run", "notion_reconcile", "backup", "digest"]);
    for (const k of TARGET_KINDS) if (k.resultKind) expect(typeof k.status, k.kind).toBe("function");
  });

  it("nothing is late-bound through a setter or registered as an import side effect", () => {
    const offending = LIB.flatMap((f) =>
      f.text.split("\n").flatMap((line, i) =>
        /export function (set\w*(Requester|Handler|Hook|Callback)|register\w+)\s*\(/.test(line) || /^\s*register\w+\(/.test(line)
          ? [`${f.rel}:${i + 1} ${line.trim()}`]
          : [],
      ),
    );
    expect(offending).toEqual([]);
    // Modules imported only for their side effects (`import "./s3";`) hide wiring too.
    const bareImports = LIB.flatMap((f) => [...f.text.matchAll(/^import\s+["'][^"']+["'];/gm)].map((m) => `${f.rel}: ${m[0]}`));
    expect(bareImports.filter((l) => !/server-only|\.css/.test(l))).toEqual([]);
  });
});
