// Pure parts of approvals and notifications: the arguments' fingerprint, the event schema that keeps
// text out of notifications, how events read, and the webhook signature.
import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { APPROVAL_ACTIONS } from "@/lib/approvals/actions";
import { argsHash, canonicalJson } from "@/lib/approvals/hash";
import { signWebhook } from "@/lib/notify/channels";
import { EVENT_KINDS, eventSchema, renderEvent, type NotificationEvent } from "@/lib/notify/events";

const config = { PUBLIC_URL: "https://sot.lan", HOST: "127.0.0.1", PORT: 3000 };

describe("the arguments' fingerprint", () => {
  it("does not depend on key order, and changes with any argument", () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe('{"a":{"c":null,"d":[1,2]},"b":1}');
    const h = argsHash("evaluation.run", { datasetId: "x", version: 2, itemCount: 600 });
    expect(argsHash("evaluation.run", { itemCount: 600, version: 2, datasetId: "x" })).toBe(h);
    expect(argsHash("evaluation.run", { datasetId: "x", version: 3, itemCount: 600 })).not.toBe(h);
    expect(argsHash("collection.delete", { datasetId: "x", version: 2, itemCount: 600 })).not.toBe(h);
    expect(() => canonicalJson({ n: Number.NaN })).toThrow();
  });

  it("every action's arguments admit ids, numbers and flags, not prose", () => {
    const prose = "What is the vault code phrase? It is written on page 4 of the handbook.";
    const args = (action: string) => APPROVAL_ACTIONS.find((a) => a.action === action)!.args;
    const refused: Array<[string, Record<string, unknown>]> = [
      ["evaluation.run", { datasetId: prose, version: 1, baselineRunId: null, itemCount: 600 }],
      ["collection.delete", { collectionId: prose }],
      ["source.delete", { sourceId: prose }],
      ["backup.restore", { snapshotId: prose }],
      ["key.rotate", { backups: "yes" }],
      ["kes.key.shred", { keyName: prose }],
      ["budget.raise", { budgetId: prose.repeat(4) }],
      ["collection.delete", { collectionId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", note: "extra" }],
    ];
    for (const [action, a] of refused) expect(args(action).safeParse(a).success, `${action} ${JSON.stringify(a).slice(0, 60)}`).toBe(false);
    expect(args("budget.raise").safeParse({ scopeKind: "user", scopeId: "b1", metric: "tokens", period: "day", limit: 5 }).success).toBe(true);
    expect(args("backup.restore").safeParse({ snapshotId: "20261204T120000Z-abc123" }).success).toBe(true);
  });
});

describe("notification events", () => {
  const samples: NotificationEvent[] = [
    { kind: "evaluation_run.finished", runId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", status: "completed", itemCount: 10, errorCount: 1, avgHallucination: 3.5, target: 4, belowTarget: true },
    { kind: "backup.failed", backupId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", trigger: "schedule" },
    { kind: "import.failed", importJobId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", sourceId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5c", done: 3, failed: 1, trigger: "webhook" },
    { kind: "approval.requested", approvalId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", action: "collection.delete", quorum: 1, expiresAt: "2026-12-05T10:00:00.000Z" },
    { kind: "approval.decided", approvalId: "3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b", action: "collection.delete", status: "expired" },
    { kind: "breaker.opened", model: "llama3.3:70b-instruct-q4_K_M", failures: 3, retryAt: "2026-12-05T10:00:00.000Z" },
    { kind: "budget.mode", budget: "team-support", state: "exhausted", used: 1000, limit: 1000, unit: "gpu_seconds" },
    {
      kind: "digest", period: "weekly", from: "2026-11-28T00:00:00.000Z", to: "2026-12-05T00:00:00.000Z", questions: 120, notCovered: 30, thumbsDown: 4,
      runs: 2, avgHallucination: 4.2, importsSucceeded: 7, importsFailed: 1, backupsSucceeded: 7, backupsFailed: 0, gpuSeconds: null,
    },
  ];

  it("covers every kind, each rendered with a title, figures and a link into SOT", () => {
    expect(new Set(samples.map((s) => s.kind))).toEqual(new Set(EVENT_KINDS.map((k) => k.kind)));
    for (const e of samples) {
      expect(eventSchema.safeParse(e).success, e.kind).toBe(true);
      const r = renderEvent(e, config);
      expect(r.link.startsWith("https://sot.lan/")).toBe(true);
      expect(r.title.length).toBeGreaterThan(0);
    }
    expect(renderEvent(samples[0]!, config)).toMatchObject({ title: "Evaluation run below target", link: "https://sot.lan/evaluations/runs/3f0d1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b" });
    expect(renderEvent(samples[7]!, config).lines[0]).toBe("120 questions, 30 not covered by the wiki (25.0%), 4 thumbs down");
  });

  it("refuses any field that could carry text", () => {
    expect(eventSchema.safeParse({ ...samples[1], error: "disk full at /srv/wiki/secret-page.md" }).success).toBe(false);
    expect(eventSchema.safeParse({ ...samples[5], model: "What is the vault code phrase?" }).success).toBe(false);
    expect(eventSchema.safeParse({ ...samples[3], approvalId: "not an id" }).success).toBe(false);
    expect(eventSchema.safeParse({ kind: "question.asked", question: "x" }).success).toBe(false);
  });
});

describe("the webhook signature", () => {
  it("is t=<seconds>,v1=<HMAC-SHA256 of '<t>.<body>'>", () => {
    const at = new Date("2026-12-05T10:00:00Z");
    const sig = signWebhook("whsec_test", '{"event":"digest"}', at);
    const t = Math.floor(at.getTime() / 1000);
    expect(sig).toBe(`t=${t},v1=${createHmac("sha256", "whsec_test").update(`${t}.{"event":"digest"}`).digest("hex")}`);
    expect(signWebhook("whsec_test", '{"event":"digest "}', at)).not.toBe(sig);
  });
});
