// Model latency, token counts and job failures reach /api/metrics from the one place each happens:
// lib/llm (every Ollama call) and lib/jobs/queue (every job handler).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "@/lib/config";
import { defineJob, JobQueue } from "@/lib/jobs/queue";
import { Llm } from "@/lib/llm";
import { renderMetrics } from "@/lib/metrics";
import { startFakeOllama, type FakeOllama } from "@/tests/fakes/ollama";
import { createTestDb, type TestDb } from "@/tests/helpers/db";
import { until } from "@/tests/helpers/until";

const count = (text: string, metric: string, labels: string) =>
  Number(new RegExp(`^${metric}\\{${labels}\\} (\\S+)$`, "m").exec(text)?.[1] ?? "0");

describe("metrics from lib/llm and the job queue", () => {
  let db: TestDb;
  let fake: FakeOllama;
  beforeAll(async () => {
    db = await createTestDb();
    fake = await startFakeOllama();
  });
  afterAll(async () => {
    await fake?.close();
    await db?.drop();
  });

  it("counts model calls by phase and tokens by kind", async () => {
    const llm = new Llm(parseConfig({ OLLAMA_HOST: fake.url, OLLAMA_CHAT_MODEL: "qwen2.5:32b" }));
    const before = await renderMetrics(db);
    const m = 'model="qwen2.5:32b",op="chat",phase="first_token"';
    const firstBefore = count(before, "sot_model_duration_seconds_count", m);
    const tokBefore = count(before, "sot_model_tokens_total", 'model="qwen2.5:32b",type="completion"');
    const messages = [
      { role: "system" as const, content: "[1] Expense reports are due on the fifth working day." },
      { role: "user" as const, content: "Question: When are expense reports due?" },
    ];
    let completion = 0;
    for await (const ev of llm.chatStream(messages)) if (ev.type === "done") completion = ev.completionTokens;
    await llm.embed(["a", "b"], "document");
    const after = await renderMetrics(db);
    expect(count(after, "sot_model_duration_seconds_count", m)).toBe(firstBefore + 1);
    expect(count(after, "sot_model_tokens_total", 'model="qwen2.5:32b",type="completion"')).toBe(tokBefore + completion);
    expect(count(after, "sot_model_duration_seconds_count", 'model="nomic-embed-text",op="embed",phase="total"')).toBeGreaterThanOrEqual(1);
  });

  it("counts a failing job handler", async () => {
    const queue = await JobQueue.open(db);
    try {
      let attempts = 0;
      const failing = defineJob<{ n: number }>({
        name: "test.always-fails",
        retryLimit: 0,
        handler: async () => {
          attempts++;
          throw new Error("boom");
        },
      });
      await queue.work([failing]);
      await queue.enqueue(failing, { n: 1 });
      await until("the failing job's attempt", async () => attempts > 0, 10_000);
      await new Promise((r) => setTimeout(r, 200)); // room for a retry that must not happen
      expect(attempts).toBe(1);
      expect(count(await renderMetrics(db), "sot_job_failures_total", 'job="test.always-fails"')).toBe(1);
    } finally {
      await queue.stop();
    }
  });
});
