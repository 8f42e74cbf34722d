// The demo wiki: ~35 pages of a fictional company (Kestrel Labs) in lib/ingest/demo-wiki/*.md,
// imported on first start into a "Demo" collection so a fresh `npm start` has something to ask.
//
// seedDemoWiki is idempotent: it creates the collection and source once, and re-imports only when the
// demo files changed (the pipeline's hashes make an unchanged re-import free anyway). It never waits
// on Ollama: when Ollama is unreachable the pages are stored without vectors (full-text search works
// at once) and the embed backfill job fills the vectors in when Ollama answers.
import { createHash } from "node:crypto";
import type { Db } from "../db/client";
import { getLlm, LlmUnavailableError, type Llm } from "../llm";
import { log } from "../log";
import { requestBackfill } from "./backfill";
import { readDemoPages } from "./demo-driver";
import { createImportJob, runImportJob } from "./import-jobs";

export const DEMO_COLLECTION_SLUG = "demo";

async function demoVersion(): Promise<string> {
  const pages = await readDemoPages();
  return createHash("sha256").update(JSON.stringify(pages.map((p) => [p.file, p.markdown]))).digest("hex").slice(0, 16);
}

/** An embedder that reports Ollama as unavailable without a network round trip. */
function offlineLlm(model: string): Pick<Llm, "embed" | "models"> {
  return {
    models: { chat: "", fallback: "", judge: "", embed: model },
    embed: async () => {
      throw new LlmUnavailableError("Ollama was unreachable at start-up; vectors are added by the embed backfill.");
    },
  };
}

export interface SeedResult {
  collectionId: string;
  sourceId: string;
  /** The import job, when this call imported anything. */
  jobId: string | null;
  pages: number;
}

/**
 * Creates the "Demo" collection and imports the demo wiki into it (first start, or demo files changed).
 * Safe to call at every start and from several processes.
 */
export async function seedDemoWiki(db: Db, opts: { llm?: Pick<Llm, "embed" | "models" | "status"> } = {}): Promise<SeedResult> {
  const version = await demoVersion();
  const collection = await db.prisma.collection.upsert({
    where: { slug: DEMO_COLLECTION_SLUG },
    create: { slug: DEMO_COLLECTION_SLUG, name: "Demo", description: "Kestrel Labs, a fictional company's wiki, to try Project SOT." },
    update: {},
  });
  let source = await db.prisma.source.findFirst({ where: { collectionId: collection.id, kind: "upload", config: { path: ["demo"], equals: true } } });
  source ??= await db.prisma.source.create({
    data: { collectionId: collection.id, kind: "upload", name: "Demo wiki", config: { demo: true, version: "" } },
  });
  const pages = (await readDemoPages()).length;
  const config = (source.config ?? {}) as { version?: string };
  if (config.version === version) {
    // Every start: vectors missing (Ollama was down) or from a previous embedding model get (re)computed.
    await requestBackfill();
    return { collectionId: collection.id, sourceId: source.id, jobId: null, pages };
  }

  // Claim this version so concurrent starts import once.
  const claimed = await db.prisma.source.updateMany({
    where: { id: source.id, config: { path: ["version"], equals: config.version ?? "" } },
    data: { config: { demo: true, version } },
  });
  if (claimed.count === 0) return { collectionId: collection.id, sourceId: source.id, jobId: null, pages };

  const llm = opts.llm ?? getLlm();
  const status = await llm.status();
  const embedder = status.reachable && !status.missing.includes(llm.models.embed) ? llm : offlineLlm(llm.models.embed);
  const { id: jobId } = await createImportJob(db, { sourceId: source.id, kind: "full", trigger: "seed" });
  let job;
  try {
    job = await runImportJob(db, jobId, { llm: embedder });
  } catch (err) {
    // Give the next start another go.
    await db.prisma.source.update({ where: { id: source.id }, data: { config: { demo: true, version: "" } } });
    throw err;
  }
  if (embedder !== llm) await requestBackfill();
  log("info", "demo wiki imported", { pages: job.found, failed: job.failed, embedded: job.embeddedChunks, ollama: status.reachable });
  return { collectionId: collection.id, sourceId: source.id, jobId, pages };
}
