// The judge through the real `ollama` client against the fake Ollama: request options, retries of invalid
// output, the recorded error, determinism.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resetConfig } from "@/lib/config";
import { runJudge } from "@/lib/evaluate/judge";
import { resetLlm } from "@/lib/llm";
import { fakeJudge } from "@/tests/fakes/judge-fake";
import { startFakeOllama, type FakeChatRequest, type FakeOllama } from "@/tests/fakes/ollama";

let ollama: FakeOllama;
const passages = [
  { text: "Backups run every night at 02:00. They are encrypted with AES-256-GCM.", title: "Backups" },
  { text: "The VPN is required for remote access to the build servers.", title: "VPN" },
];
const input = {
  question: "When do backups run and how are they protected?",
  output: "Backups run every night at 02:00 [1]. Backups are encrypted with AES-256-GCM [1]. Backups are copied to tape weekly.",
  passages,
};

beforeAll(async () => {
  ollama = await startFakeOllama();
  process.env.OLLAMA_HOST = ollama.url;
  process.env.OLLAMA_JUDGE_MODEL = "qwen2.5:32b";
  resetConfig();
  resetLlm();
});
afterAll(async () => {
  await ollama.close();
  resetLlm();
});

describe("runJudge", () => {
  it("sends the JSON schema as format, temperature 0 and the fixed seed, to the judge model; scores by the rule", async () => {
    const seen: FakeChatRequest[] = [];
    ollama.options.onChat = fakeJudge({ onCall: (r) => seen.push(r) });
    const r = await runJudge(input, { seed: 7 });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.model).toBe("qwen2.5:32b");
    expect(seen[0]!.options).toMatchObject({ temperature: 0, seed: 7 });
    expect((seen[0]!.format as { required: string[] }).required).toEqual(["claims"]);
    expect(r.status).toBe("ok");
    if (r.status !== "ok") return;
    expect(r.claims.map((c) => c.verdict)).toEqual(["supported", "supported", "not_found"]);
    // 1 of 3 not found: u = 1/3 > 1/4 → 3; faithfulness 2/3.
    expect(r.metrics.hallucinationScore).toBe(3);
    expect(r.metrics.faithfulness).toBeCloseTo(2 / 3, 12);
    expect(r.claims[0]!.passage).toBe(1);
    expect(r.attempts).toBe(1);
    expect(r.promptVersion).toBe("judge-v1");
  });

  it("retries invalid output with a repair turn and a moved seed, then succeeds", async () => {
    const seen: FakeChatRequest[] = [];
    ollama.options.onChat = fakeJudge({ malformed: (_r, i) => i < 2, onCall: (r) => seen.push(r) });
    const r = await runJudge(input, { seed: 7, retries: 3 });
    expect(r.status).toBe("ok");
    expect(r.attempts).toBe(3);
    expect(seen.map((s) => s.options?.seed)).toEqual([7, 8, 9]);
    const last = seen[2]!.messages;
    expect(last.at(-2)!.role).toBe("assistant");
    expect(last.at(-1)!.content).toMatch(/^Your reply was not valid: .*\(attempt 3\)\.$/);
    // Only the latest bad reply is kept in the conversation.
    expect(last.filter((m) => m.role === "assistant")).toHaveLength(1);
  });

  it("records an error with the raw text after persistent bad output — never a score", async () => {
    ollama.options.onChat = () => '{"claims": [{"claim": "cut off';
    const r = await runJudge(input, { retries: 2 });
    expect(r).toMatchObject({ status: "error", attempts: 3, rawOutput: '{"claims": [{"claim": "cut off' });
    if (r.status === "error") expect(r.error).toMatch(/invalid output 3 times.*attempt 1: not JSON.*attempt 3: not JSON/);
    expect("metrics" in r).toBe(false);
  });

  it("asks again after a reply that was cut off, and prefers a complete reply that follows", async () => {
    const cut = '{"claims": [{"claim": "Backups run every night at 02:00.", "verdict": "supported", "passage": 1, "reason": "Passage 1.", "relevant": true}, {"claim": "Backups';
    const judge = fakeJudge();
    let calls = 0;
    ollama.options.onChat = (req, i) => (calls++ === 0 ? cut : judge(req, i));
    const r = await runJudge(input, { retries: 3 });
    expect(r).toMatchObject({ status: "ok", attempts: 2, truncated: false });
    if (r.status === "ok") expect(r.claims).toHaveLength(3);
  });

  it("scores the whole claims of a cut-off reply, flagged truncated, when no complete reply comes", async () => {
    const cut = '{"claims": [{"claim": "Backups run every night at 02:00.", "verdict": "supported", "passage": 1, "reason": "Passage 1.", "relevant": true}, {"claim": "Backups';
    ollama.options.onChat = () => cut;
    const r = await runJudge(input, { retries: 2 });
    expect(r).toMatchObject({ status: "ok", attempts: 3, truncated: true, rawOutput: cut });
    if (r.status === "ok") {
      expect(r.claims).toEqual([{ claim: "Backups run every night at 02:00.", verdict: "supported", passage: 1, reason: "Passage 1.", relevant: true }]);
      expect(r.metrics.hallucinationScore).toBe(5);
    }
  });

  it("gives the same result when re-scoring the same input (deterministic judge)", async () => {
    ollama.options.onChat = fakeJudge({ malformedShare: 0.5 });
    const a = await runJudge({ ...input, reference: "Backups run nightly at 02:00. Backups are kept for 30 days." });
    const b = await runJudge({ ...input, reference: "Backups run nightly at 02:00. Backups are kept for 30 days." });
    expect(b).toEqual(a);
    if (a.status === "ok") expect(a.metrics.contextRecall).not.toBeNull();
  });
});
