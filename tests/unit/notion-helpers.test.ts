import { describe, expect, it } from "vitest";
import { cleanNotionMarkdown, normalizeNotionId, pageTitle, plainProperties } from "../../lib/ingest/notion";
import { routeKey } from "../../lib/ingest/s3";

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

  it("reads the title property and flattens the others to plain values", () => {
    const page = {
      id: "p",
      properties: {
        Name: { type: "title", title: [{ plain_text: "Deploy " }, { plain_text: "guide" }] },
        Owner: { type: "people", people: [{ id: "u1", name: "Ana" }] },
        Tags: { type: "multi_select", multi_select: [{ name: "ops" }, { name: "k8s" }] },
        Stage: { type: "status", status: { name: "Live" } },
        Due: { type: "date", date: { start: "2026-03-01" } },
        Notes: { type: "rich_text", rich_text: [{ plain_text: "see runbook" }] },
        Done: { type: "checkbox", checkbox: true },
      },
    };
    expect(pageTitle(page)).toBe("Deploy guide");
    expect(plainProperties(page)).toEqual({ Owner: ["Ana"], Tags: ["ops", "k8s"], Stage: "Live", Due: "2026-03-01", Notes: "see runbook", Done: true });
    expect(pageTitle({ id: "q", properties: {} })).toBe("Untitled");
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
