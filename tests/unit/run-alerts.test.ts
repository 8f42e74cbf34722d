import { describe, expect, it } from "vitest";
import { alertPayload, decideAlert, runLink, webhookKind } from "@/lib/evaluate/alerts";

describe("run alerts", () => {
  const run = { id: "r1", itemCount: 20, errorCount: 3, avgHallucination: 3.85 };

  it("alerts below the threshold and above the error rate, naming both reasons", () => {
    const d = decideAlert(run, 4, 0.1);
    expect(d.needed).toBe(true);
    expect(d.errorRate).toBe(0.15);
    expect(d.reasons).toEqual(["average hallucination score 3.85 is below 4", "3 of 20 items failed (15.0% > 10.0%)"]);
  });

  it("does not alert at exactly the threshold and error rate", () => {
    expect(decideAlert({ ...run, avgHallucination: 4, errorCount: 2 }, 4, 0.1).needed).toBe(false);
  });

  it("alerts when nothing could be scored", () => {
    expect(decideAlert({ ...run, avgHallucination: null, errorCount: 0 }, 4, 0.5).reasons).toEqual(["no item could be scored"]);
  });

  it("picks Discord for Discord webhook URLs and sends counts and the link only", () => {
    expect(webhookKind("https://discord.com/api/webhooks/1/abc", "auto")).toBe("discord");
    expect(webhookKind("https://hooks.example/x", "auto")).toBe("generic");
    expect(webhookKind("https://hooks.example/x", "discord")).toBe("discord");
    const link = runLink("r1", { PUBLIC_URL: "https://sot.lan/", HOST: "h", PORT: 1 });
    expect(link).toBe("https://sot.lan/evaluations/runs/r1");
    const d = decideAlert(run, 4, 0.1);
    expect(alertPayload("discord", run, d, link)).toEqual({
      content:
        "⚠️ Evaluation run needs attention: average hallucination score 3.85 is below 4; 3 of 20 items failed (15.0% > 10.0%).\n" +
        "Average hallucination score 3.85 · 20 items · 3 errors\nhttps://sot.lan/evaluations/runs/r1",
      allowed_mentions: { parse: [] },
    });
    expect(Object.keys(alertPayload("generic", run, d, link)).sort()).toEqual(
      ["avgHallucination", "errorCount", "errorRate", "event", "itemCount", "reasons", "runId", "url"],
    );
  });
});
