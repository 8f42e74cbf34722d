import { describe, expect, it } from "vitest";
import { parseJudgeOutput } from "@/lib/evaluate/judge-prompt";
import { repairJudgeReply } from "@/lib/evaluate/judge-repair";
import { MALFORMED_JUDGE_REPLIES } from "@/tests/fakes/judge-fake";

const opts = { maxClaims: 5, passageCount: 3, withReference: false };
const whole = '{"claim": "Backups run nightly.", "verdict": "supported", "passage": 1, "reason": "Passage 1 says so.", "relevant": true}';

describe("judge reply repair: the fake judge's malformed replies", () => {
  const [cutOff, prose, badVerdict, wrongShape] = MALFORMED_JUDGE_REPLIES;

  it("keeps the whole claim of a reply cut off after its verdict, and says it was cut off", () => {
    const r = parseJudgeOutput(cutOff!, opts);
    expect(r).toEqual({
      ok: true,
      claims: [{ claim: "Backups run nightly", verdict: "supported", passage: null, reason: "", relevant: true }],
      referenceClaims: null,
      truncated: true,
      cutOff: true,
    });
  });

  it("does not guess at prose without JSON, an unknown verdict or the wrong shape", () => {
    expect(repairJudgeReply(prose!)).toBeNull();
    expect(parseJudgeOutput(prose!, opts)).toMatchObject({ ok: false, problem: expect.stringMatching(/^not JSON/) });
    expect(parseJudgeOutput(badVerdict!, opts)).toMatchObject({ ok: false, problem: expect.stringMatching(/^claims\.0\.verdict/) });
    expect(parseJudgeOutput(wrongShape!, opts)).toMatchObject({ ok: false, problem: expect.stringMatching(/^claims/) });
  });
});

describe("judge reply repair: what real models send", () => {
  it("takes the JSON out of prose and a fence, losing nothing", () => {
    const raw = `Sure, here is my assessment:\n\n\`\`\`json\n{"claims": [${whole}]}\n\`\`\`\nLet me know if you need more.`;
    const r = parseJudgeOutput(raw, opts);
    expect(r).toMatchObject({ ok: true, truncated: false, claims: [{ claim: "Backups run nightly.", verdict: "supported", passage: 1 }] });
    expect(r).not.toHaveProperty("cutOff");
    expect(repairJudgeReply(raw)!.repairs).toContain("took the JSON out of a Markdown fence inside prose");
  });

  it("drops prose before and after an unfenced object", () => {
    const r = repairJudgeReply(`Here are the verdicts: {"claims": [${whole}]} Hope this helps!`);
    expect(r).toMatchObject({ cutOff: false, repairs: ["dropped prose before the JSON", "dropped text after the JSON"] });
    expect((r!.value as { claims: unknown[] }).claims).toHaveLength(1);
  });

  it("removes trailing commas", () => {
    const r = parseJudgeOutput(`{"claims": [${whole},],}`, opts);
    expect(r).toMatchObject({ ok: true, claims: [{ verdict: "supported" }] });
  });

  it("normalises the spelling of a verdict, in valid JSON too", () => {
    const a = parseJudgeOutput('{"claims": [{"claim": "x", "verdict": "Not Found", "passage": null, "reason": "", "relevant": true}]}', opts);
    expect(a).toMatchObject({ ok: true, claims: [{ verdict: "not_found" }] });
    const b = parseJudgeOutput('{"claims": [{"claim": "x", "verdict": "CONTRADICTED", "passage": 2, "reason": "", "relevant": true},]}', opts);
    expect(b).toMatchObject({ ok: true, claims: [{ verdict: "contradicted", passage: 2 }] });
  });

  it("drops the half-written claim of a reply cut off mid-claim and keeps the whole ones before it", () => {
    const raw = `{"claims": [${whole}, {"claim": "Backups are kept for 30 days", "verdict": "supp`;
    const r = parseJudgeOutput(raw, opts);
    expect(r).toMatchObject({ ok: true, cutOff: true, truncated: true, claims: [{ claim: "Backups run nightly." }] });
    if (r.ok) expect(r.claims).toHaveLength(1);
  });

  it("does not take a number cut off at the end as whole", () => {
    const r = repairJudgeReply(`{"claims": [{"claim": "x", "verdict": "supported", "passage": 1`);
    expect(r).toMatchObject({ cutOff: true });
    expect((r!.value as { claims: Array<Record<string, unknown>> }).claims[0]).toEqual({ claim: "x", verdict: "supported" });
  });

  it("keeps the whole reference claims of a cut-off reply and drops a half-written one", () => {
    const raw = `{"claims": [${whole}], "reference_claims": [{"claim": "r1", "in_sources": true, "passage": 1, "reason": ""}, {"claim": "r2"`;
    const r = parseJudgeOutput(raw, { ...opts, withReference: true });
    expect(r).toMatchObject({ ok: true, cutOff: true, referenceClaims: [{ claim: "r1", inSources: true }] });
    if (r.ok) expect(r.referenceClaims).toHaveLength(1);
  });

  it("refuses a cut-off reply in which no claim arrived whole", () => {
    for (const raw of ['{"claims": [', '{"claims": [{"claim": "cut off', '{"claims": [{"claim": "x", "verdict"', "{"]) {
      expect(repairJudgeReply(raw)).toBeNull();
      expect(parseJudgeOutput(raw, opts)).toMatchObject({ ok: false, problem: expect.stringMatching(/^not JSON/) });
    }
  });

  it("keeps brackets and quotes inside strings as text", () => {
    const raw = '{"claims": [{"claim": "arr[12] is {not} \\"a\\" citation", "verdict": "not_found", "passage": null, "reason": "x", "relevant": false}';
    const r = parseJudgeOutput(raw, opts);
    expect(r).toMatchObject({ ok: true, cutOff: true, claims: [{ claim: 'arr[12] is {not} "a" citation', relevant: false }] });
  });
});
