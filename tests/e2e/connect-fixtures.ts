// The OpenAI-API and MCP tests' common start: the built app on PostgreSQL with the fake Ollama, three
// collections (an open handbook; two members-only payroll collections holding canary strings), and keys
// for each kind of caller.
import { ingestUploads } from "@/lib/ingest";
import { parseConfig } from "@/lib/config";
import { Llm } from "@/lib/llm";
import { startFakeOllama, type FakeOllama, type FakeOllamaOptions } from "@/tests/fakes/ollama";
import { startApp, type RunningApp } from "@/tests/helpers/app";
import { makeApiKey, makeUser } from "@/tests/helpers/auth";

export const CANARY = "CANARY-PAYROLL-7731";
export const ARCHIVE_CANARY = "CANARY-ARCHIVE-5519";
export const LEAVE_URL = "https://wiki.example/handbook/leave";

export interface ConnectWorld {
  app: RunningApp;
  ollama: FakeOllama;
  collections: { handbook: string; payroll: string; archive: string };
  documents: { leave: string; oncall: string; salaries: string };
  keys: {
    /** Admin's key with ask + score: reads every collection. */
    admin: string;
    /** ask only, limited to the handbook. */
    handbookOnly: string;
    /** A viewer's key: the handbook (the payroll collections are members-only). */
    viewer: string;
    /** An evaluator's key with the score scope only. */
    scoreOnly: string;
  };
  stop(): Promise<void>;
}

const enc = (s: string) => new TextEncoder().encode(s);

export async function startConnectWorld(opts: { ollama?: FakeOllamaOptions; env?: Record<string, string>; app?: RunningApp } = {}): Promise<ConnectWorld> {
  const ollama = await startFakeOllama(opts.ollama);
  const app =
    opts.app ??
    (await startApp({ env: { OLLAMA_HOST: ollama.url, DEMO_WIKI: "false", RATE_LIMIT_PER_MINUTE: "100000", RATE_LIMIT_BURST: "100000", ...opts.env } }));
  const db = app.db!;
  const llm = new Llm(parseConfig({ OLLAMA_HOST: ollama.url }));
  const handbook = await db.prisma.collection.create({ data: { slug: "handbook", name: "Employee Handbook" } });
  const payroll = await db.prisma.collection.create({ data: { slug: "payroll", name: "Payroll", restricted: true } });
  const archive = await db.prisma.collection.create({ data: { slug: "payroll-archive", name: "Payroll archive", restricted: true } });
  await ingestUploads(db, {
    collectionId: handbook.id,
    llm,
    files: [
      {
        name: "leave.md",
        bytes: enc("# Leave\n\nEmployees get twenty five days of paid leave per year.\n\n## Part-time staff\n\nPart-time staff get paid leave in proportion to their contract hours."),
      },
      { name: "oncall.md", bytes: enc("# On-call\n\nThe on-call engineer answers pages within fifteen minutes, day and night.") },
    ],
  });
  await ingestUploads(db, {
    collectionId: payroll.id,
    llm,
    files: [{ name: "salaries.md", bytes: enc(`# Salary bands\n\nThe salary band for engineers is ${CANARY} and is reviewed every year.`) }],
  });
  await ingestUploads(db, {
    collectionId: archive.id,
    llm,
    files: [{ name: "old-salaries.md", bytes: enc(`# Old salary bands\n\nThe old salary band for engineers was ${ARCHIVE_CANARY}.`) }],
  });
  const doc = (title: string) => db.prisma.document.findFirstOrThrow({ where: { title }, select: { id: true } });
  const leave = await doc("Leave");
  // One page with a web address, the others only in SOT (their links go to the document page).
  await db.prisma.document.update({ where: { id: leave.id }, data: { url: LEAVE_URL } });
  const admin = await makeUser(db, "admin");
  const viewer = await makeUser(db, "viewer");
  const evaluator = await makeUser(db, "evaluator");
  return {
    app,
    ollama,
    collections: { handbook: handbook.id, payroll: payroll.id, archive: archive.id },
    documents: { leave: leave.id, oncall: (await doc("On-call")).id, salaries: (await doc("Salary bands")).id },
    keys: {
      admin: (await makeApiKey(db, ["ask", "score"], { creator: admin })).key,
      handbookOnly: (await makeApiKey(db, ["ask"], { creator: admin, collectionIds: [handbook.id] })).key,
      viewer: (await makeApiKey(db, ["ask"], { creator: viewer })).key,
      scoreOnly: (await makeApiKey(db, ["score"], { creator: evaluator })).key,
    },
    async stop() {
      if (!opts.app) await app.stop();
      await ollama.close();
    },
  };
}
