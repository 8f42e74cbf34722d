import { describe, expect, it } from "vitest";
import { cleanNotionMarkdown, normalizeNotionId, pageTitle, readProperties } from "@/lib/ingest/notion";
import { routeKey } from "@/lib/ingest/s3";

describe("Notion helpers", () => {
  it("normalises ids with or without dashes, from URLs too, and rejects non-ids", () => {
    const id = "1f2e3d4c5b6a47989a0b1c2d3e4f5a6b";
    const dashed = "1f2e3d4c-5b6a-4798-9a0b-1c2d3e4f5a6b";
    expect(normalizeNotionId(id)).toBe(dashed);
    expect(normalizeNotionId(dashed.toUpperCase())).toBe(dashed);
    expect(normalizeNotionId(`https://www.notion.so/Runbook-${id}`)).toBe(dashed);
    expect(() => normalizeNotionId("not-an-id")).toThrow(/is not a Notion id/);
  });

  it("turns enhanced-markdown page and database tags into links and drops unknown placeholders", () => {
    const md = 'Intro\n<page url="https://notion.so/a-1">Child A</page>\n<database url="https://notion.so/d-2" inline="false">Tracker</database>\n<unknown url="x#y" alt="toggle"/>\n\n\n\nEnd';
    expect(cleanNotionMarkdown(md)).toBe("Intro\n[Child A](https://notion.so/a-1)\n[Tracker](https://notion.so/d-2)\n\nEnd");
  });

  it("reads the title property, and the others as plain values and `Name: value` lines", async () => {
    const page = {
      properties: {
        Name: { type: "title", title: [{ plain_text: "Deploy " }, { plain_text: "guide" }] },
        Owner: { type: "people", people: [{ id: "u1", name: "Ana" }, { id: "u2" }, { id: "u3" }] },
        Tags: { type: "multi_select", multi_select: [{ name: "ops" }, { name: "k8s" }] },
        Stage: { type: "status", status: { name: "Live" } },
        Due: { type: "date", date: { start: "2026-03-01", end: null } },
        Window: { type: "date", date: { start: "2026-03-01T09:00:00.000+01:00", end: "2026-03-02T09:00:00.000+01:00" } },
        Notes: { type: "rich_text", rich_text: [{ plain_text: "see\nrunbook" }] },
        Done: { type: "checkbox", checkbox: true },
        Service: { type: "relation", relation: [{ id: "p-billing" }, { id: "p-unshared" }], has_more: false },
        Ticket: { type: "unique_id", unique_id: { prefix: "OPS", number: 42 } },
        Score: { type: "formula", formula: { type: "number", number: 7 } },
        Empty: { type: "select", select: null },
      },
    };
    // What Notion would answer for the ids the properties point to (the reader asks through the client).
    const lookups = {
      pageTitle: async (id: string) => (id === "p-billing" ? "Billing API" : null),
      userName: async (id: string) => (id === "u2" ? "Bo" : null),
    };
    const { values, lines } = await readProperties(page, lookups);
    expect(pageTitle(page)).toBe("Deploy guide");
    expect(values).toEqual({
      Owner: ["Ana", "Bo"],
      Tags: ["ops", "k8s"],
      Stage: "Live",
      Due: "2026-03-01",
      Window: "2026-03-01T09:00:00.000+01:00 → 2026-03-02T09:00:00.000+01:00",
      Notes: "see\nrunbook",
      Done: true,
      Service: ["Billing API"],
      Ticket: "OPS-42",
      Score: 7,
      Empty: null,
    });
    expect(lines).toEqual([
      "Owner: Ana, Bo",
      "Tags: ops, k8s",
      "Stage: Live",
      "Due: 2026-03-01",
      "Window: 2026-03-01T09:00:00.000+01:00 → 2026-03-02T09:00:00.000+01:00",
      "Notes: see runbook",
      "Done: Yes",
      "Service: Billing API",
      "Ticket: OPS-42",
      "Score: 7",
    ]);
    expect(pageTitle({ properties: {} })).toBe("Untitled");
  });
});

describe("S3 prefix routing", () => {
  const config = {
    bucket: "b",
    prefix: "wiki/",
    region: "us-east-1",
    routes: [
      { prefix: "wiki/hr/", collectionId: "hr" },
      { prefix: "wiki/hr/payroll/", collectionId: "payroll" },
    ],
  };
  it("picks the longest matching prefix, else the source's collection", () => {
    expect(routeKey("wiki/hr/leave.md", config, "main")).toBe("hr");
    expect(routeKey("wiki/hr/payroll/2026.pdf", config, "main")).toBe("payroll");
    expect(routeKey("wiki/eng/deploy.md", config, "main")).toBe("main");
    expect(routeKey("wiki/hrx/other.md", config, "main")).toBe("main");
  });
});
