// The Ask pipeline end to end on a real database with the fake Ollama: hybrid retrieval, citations,
// "not covered", invalid citations, no-model fallback, follow-up rewriting, the query log.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ask, NO_MODEL_PREFIX, NOT_COVERED_TEXT, submitFeedback, type AskEvent } from "@/lib/answer";
import type { Principal } from "@/lib/auth/roles";
import { retrieve } from "@/lib/retrieve";
import { addCollection, addPages, contextOf, makePrincipal, setEnv, startAskEnv, stopAskEnv, WIKI } from "@/tests/integration/ask-fixtures";

let env: Awaited<ReturnType<typeof startAskEnv>>;
let viewer: Principal;
let main: { collectionId: string; sourceId: string };
let rareChunkId: string;

beforeAll(async () => {
  env = await startAskEnv({ env: { RETRIEVE_CANDIDATES: "8" } });
  viewer = await makePrincipal(env.db, "viewer");
  main = await addCollection(env.db, "main");
  await addPages(env.db, main, WIKI);
  // Many pages about configuring the deployment pipeline, and one short page naming a rare error code.
  await addPages(
    env.db,
    main,
    Array.from({ length: 24 }, (_, i) => ({
      title: `Pipeline settings ${i}`,
      sections: [{ text: `How to configure the deployment pipeline settings for service ${i}: configure stages, configure the deployment pipeline timeout and retries.` }],
    })),
  );
  [[rareChunkId]] = (await addPages(env.db, main, [
    { title: "Licensing", sections: [{ text: "Error QX-7781 means the license server rejected the token; renew it in the admin console." }] },
  ])) as [[string]];
}, 120_000);
afterAll(() => stopAskEnv(env));

describe("retrieve", () => {
  it("finds an exact rare term through BM25 that vector search misses", async () => {
    const r = await retrieve("how to configure the deployment pipeline for QX-7781", { collectionIds: null });
    const rare = r.fused.find((c) => c.chunkId === rareChunkId);
    expect(rare, "the rare-term chunk is retrieved").toBeDefined();
    expect(rare!.textRank).toBe(1);
    expect(rare!.vectorRank).toBeNull(); // not among the 8 nearest neighbours
    expect(r.embed.status).toBe("ok");
    expect(r.rerank.status).toBe("disabled");
  });

  it("keeps BM25 postings in step with chunk writes, updates and deletes", async () => {
    const count = async (lexeme: string) =>
      Number((await env.db.prisma.$queryRaw<Array<{ n: bigint }>>`SELECT count(*) AS n FROM chunk_terms WHERE lexeme = ${lexeme}`)[0]!.n);
    expect(await count("qx")).toBe(1);
    await env.db.prisma.$executeRaw`UPDATE chunks SET text = 'Error ZZ-1 replaced it.' WHERE id = ${rareChunkId}::uuid`;
    expect(await count("qx")).toBe(0);
    expect(await count("zz")).toBe(1);
    await env.db.prisma.$executeRaw`UPDATE chunks SET embedding_model = 'other' WHERE id = ${rareChunkId}::uuid`;
    expect(await count("zz")).toBe(1);
    await env.db.prisma.$executeRaw`UPDATE chunks SET text = 'Error QX-7781 means the license server rejected the token; renew it in the admin console.' WHERE id = ${rareChunkId}::uuid`;
    expect(await count("qx")).toBe(1);
  });

  it("searches only the collections asked for, even when they hold few chunks", async () => {
    const other = await addCollection(env.db, "hr-private", true);
    const [[hrChunk]] = (await addPages(env.db, other, [
      { title: "Salary bands", sections: [{ text: "Salary bands are reviewed every April by the people team." }] },
    ])) as [[string]];
    const onlyOther = await retrieve("when are salary bands reviewed", { collectionIds: [other.collectionId] });
    expect(onlyOther.fused.map((c) => c.chunkId)).toEqual([hrChunk]);
    expect(onlyOther.fused[0]!.vectorRank).toBe(1); // the filtered HNSW scan still found it
    const onlyMain = await retrieve("when are salary bands reviewed", { collectionIds: [main.collectionId] });
    expect(onlyMain.fused.some((c) => c.chunkId === hrChunk)).toBe(false);
    // A viewer may not read the restricted collection: asking there is refused.
    await expect(ask(await contextOf(env.db, viewer), { question: "salary bands", collections: [other.collectionId] })).rejects.toThrow(/may not read/);
  });
});

describe("ask", () => {
  it("answers from the wiki with valid citations, streaming tokens and a final payload", async () => {
    const events: AskEvent[] = [];
    const r = await ask(await contextOf(env.db, viewer), { question: "On which days do production deploys happen?" }, { onEvent: (e) => events.push(e) });
    expect(r.status).toBe("ok");
    expect(r.covered).toBe(true);
    expect(r.answer).toMatch(/Tuesdays and Thursdays/);
    expect(r.citations.length).toBeGreaterThan(0);
    const cited = r.sources.find((s) => s.n === r.citations[0]!.n)!;
    expect(cited.title).toBe("Deployment guide");
    expect(cited.url).toMatch(/#when-we-deploy$/);
    expect(cited.cited).toBe(true);
    expect(r.answer.slice(r.citations[0]!.offset)).toMatch(new RegExp(`^\\[${cited.n}\\]`));
    // The events: start, sources, tokens (concatenating to the answer), citation events, done = result.
    expect(events[0]!.event).toBe("start");
    expect(events[1]!.event).toBe("sources");
    const streamed = events.filter((e) => e.event === "token").map((e) => (e.data as { text: string }).text).join("");
    expect(streamed.trim()).toBe(r.answer);
    expect(events.filter((e) => e.event === "token").length).toBeGreaterThan(3);
    expect(events.filter((e) => e.event === "citation").map((e) => (e.data as { n: number }).n)).toEqual(r.citations.map((c) => c.n));
    expect(events.at(-1)).toEqual({ event: "done", data: r });
    expect((events[1]!.data as { sources: unknown[] }).sources.length).toBe(r.sources.length);
    expect(r.timings.firstTokenMs).not.toBeNull();
    expect(r.tokens.prompt).toBeGreaterThan(0);
    // num_ctx is always sent explicitly.
    const chat = env.ollama.calls.filter((c) => c.path === "/api/chat").at(-1)!;
    expect(chat.body.options.num_ctx).toBe(8192);
    expect(chat.body.messages[1].content).toMatch(/^Sources:\n\n\[1\] /);
  });

  it("says the wiki does not cover an out-of-scope question, without citations", async () => {
    const r = await ask(await contextOf(env.db, viewer), { question: "What is the airspeed velocity of an unladen swallow?" });
    expect(r.answer).toBe(NOT_COVERED_TEXT);
    expect(r.covered).toBe(false);
    expect(r.citations).toEqual([]);
    expect(r.sources.every((s) => !s.cited)).toBe(true);
  });

  it("drops citations that match no source and counts them, in the stream and the log", async () => {
    env.ollama.options.onChat = (req) => (req.format ? undefined : "Claims go in within 30 days [1]. Meals are free [9]. See also [1, 12].");
    try {
      const tokens: string[] = [];
      const r = await ask(await contextOf(env.db, viewer), { question: "How long do I have to submit expense claims?" }, {
        onEvent: (e) => e.event === "token" && tokens.push(e.data.text),
      });
      expect(r.answer).toBe("Claims go in within 30 days [1]. Meals are free. See also [1].");
      expect(tokens.join("").trim()).toBe(r.answer);
      expect(r.invalidCitations).toBe(2);
      expect(r.citations.map((c) => c.n)).toEqual([1, 1]);
      const log = await env.db.prisma.queryLog.findUniqueOrThrow({ where: { id: r.id } });
      expect(log.invalidCitations).toBe(2);
      expect(log.citations).toEqual([{ n: 1, chunkId: r.sources[0]!.chunkId }, { n: 1, chunkId: r.sources[0]!.chunkId }]);
    } finally {
      env.ollama.options.onChat = undefined;
    }
  });

  it("rewrites a follow-up into a stand-alone question using the history", async () => {
    env.ollama.options.onChat = (req) => (req.format ? JSON.stringify({ question: "How many days of paid holiday does an employee get?" }) : undefined);
    try {
      const r = await ask(
        await contextOf(env.db, viewer),
        {
          question: "and how many days do I get?",
          history: [
            { role: "user", content: "What is the holiday policy?" },
            { role: "assistant", content: "It covers paid holiday [1]." },
          ],
        },
      );
      expect(r.standaloneQuestion).toBe("How many days of paid holiday does an employee get?");
      expect(r.answer).toMatch(/28 days/);
      const rewrite = env.ollama.calls.filter((c) => c.path === "/api/chat" && c.body.format).at(-1)!;
      expect(rewrite.body.messages[1].content).toMatch(/What is the holiday policy\?[\s\S]*Follow-up: and how many days do I get\?/);
    } finally {
      env.ollama.options.onChat = undefined;
    }
  });

  it("logs the query without its text when LOG_QUERY_TEXT=false, and never the answer by default", async () => {
    setEnv({ LOG_QUERY_TEXT: "false" });
    try {
      const r = await ask(await contextOf(env.db, viewer), { question: "How do I roll back a release?" });
      const log = await env.db.prisma.queryLog.findUniqueOrThrow({ where: { id: r.id } });
      expect(log.question).toBeNull();
      expect(log.questionSha256).toMatch(/^[0-9a-f]{64}$/);
      expect(log.answer).toBeNull();
      expect(log.userId).toBe(viewer.userId);
      expect(log.status).toBe("ok");
      expect(log.rerankStatus).toBe("disabled");
      const retrieved = log.retrieved as Array<{ chunkId: string; packed: boolean; fusedScore: number }>;
      expect(retrieved.filter((x) => x.packed).map((x) => x.chunkId)).toEqual(r.sources.map((s) => s.chunkId));
      expect(Object.keys(log.timings as object).sort()).toEqual(["embedMs", "firstTokenMs", "guardrailsMs", "rerankMs", "retrieveMs", "rewriteMs", "totalMs"]);
    } finally {
      setEnv({ LOG_QUERY_TEXT: undefined });
    }
  });

  it("answers with the best passages, cited and marked, when no model is reachable (full-text search still works)", async () => {
    setEnv({ OLLAMA_HOST: "http://127.0.0.1:9" });
    try {
      const r = await ask(await contextOf(env.db, viewer), { question: "How many days of paid holiday per year?" });
      expect(r.status).toBe("no_model");
      expect(r.embed.status).toBe("unavailable");
      expect(r.answer.startsWith(NO_MODEL_PREFIX)).toBe(true);
      expect(r.sources[0]!.title).toBe("Holiday policy");
      expect(r.sources[0]!.scores.vector).toBeNull();
      expect(r.citations[0]!.n).toBe(1);
      expect(r.answer).toMatch(/28 days of paid holiday[\s\S]*\[1\]/);
    } finally {
      setEnv({ OLLAMA_HOST: env.ollama.url });
    }
  });

  it("falls back to cited passages when Ollama answers but has no chat model", async () => {
    env.ollama.options.models = ["nomic-embed-text:latest"];
    try {
      const r = await ask(await contextOf(env.db, viewer), { question: "How many days of paid holiday per year?" });
      expect(r.status).toBe("no_model");
      expect(r.embed.status).toBe("ok");
      expect(r.error).toMatch(/ollama pull/);
      expect(r.citations.length).toBeGreaterThan(0);
    } finally {
      env.ollama.options.models = undefined;
    }
  });

  it("keeps a conversation for the user and replaces the last turn on regenerate", async () => {
    const first = await ask(await contextOf(env.db, viewer), { question: "What is the holiday allowance?", saveConversation: true });
    expect(first.conversationId).toBeTruthy();
    await ask(await contextOf(env.db, viewer), { question: "When do unused days expire?", conversationId: first.conversationId! });
    await ask(await contextOf(env.db, viewer), { question: "When do unused days expire?", conversationId: first.conversationId!, regenerate: true });
    const msgs = await env.db.prisma.conversationMessage.findMany({ where: { conversationId: first.conversationId! }, orderBy: { createdAt: "asc" } });
    expect(msgs.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(msgs[2]!.content).toBe("When do unused days expire?");
    const other = await makePrincipal(env.db, "viewer");
    await expect(ask(await contextOf(env.db, other), { question: "x", conversationId: first.conversationId! })).rejects.toThrow(/No conversation/);
  });

  it("stores feedback with the chunks the model saw, and only from the asker", async () => {
    const r = await ask(await contextOf(env.db, viewer), { question: "How do I roll back a release?" });
    const fb = await submitFeedback(await contextOf(env.db, viewer), { queryLogId: r.id, rating: -1, reason: "incomplete" });
    expect(fb.chunkIds).toEqual(r.sources.map((s) => s.chunkId));
    const other = await makePrincipal(env.db, "viewer");
    await expect(submitFeedback(await contextOf(env.db, other), { queryLogId: r.id, rating: 1 })).rejects.toThrow(/No answer/);
  });

  it("appends the next chunk of the page to a very short source", async () => {
    await addPages(env.db, main, [
      { title: "Office access", sections: [{ heading: "Door codes", text: "Door codes by floor:" }, { text: "Third storey: 4711. Fourth storey: 9902." }] },
    ]);
    const r = await ask(await contextOf(env.db, viewer), { question: "door codes by floor", stream: false });
    const src = r.sources.find((s) => s.text.startsWith("Door codes by floor:"))!;
    expect(src).toBeDefined();
    expect(src.text).toBe("Door codes by floor:\n\nThird storey: 4711. Fourth storey: 9902.");
    expect(src.neighbourChunkIds).toHaveLength(1);
    expect(r.sources.some((s) => s.chunkId === src.neighbourChunkIds![0])).toBe(false);
  });
});
