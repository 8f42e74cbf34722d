import { describe, expect, it } from "vitest";
import { CitationParser } from "@/lib/answer/citations";

function run(tokens: string[], sources: number) {
  const p = new CitationParser(sources);
  let streamed = "";
  const events: number[] = [];
  for (const t of tokens) {
    const r = p.push(t);
    streamed += r.text;
    events.push(...r.citations);
  }
  const r = p.end();
  streamed += r.text;
  events.push(...r.citations);
  return { p, streamed, events };
}

describe("CitationParser", () => {
  it("keeps valid citations split across tokens and reports each once per occurrence", () => {
    const { p, streamed, events } = run(["Deploys run on Fri", "days [", "1", "]. Rollbacks [2", "][1]."], 2);
    expect(streamed).toBe("Deploys run on Fridays [1]. Rollbacks [2][1].");
    expect(p.text).toBe(streamed);
    expect(events).toEqual([1, 2, 1]);
    expect(p.cited).toEqual([1, 2]);
    expect(p.invalid).toBe(0);
  });

  it("drops citations that match no source, with their leading space, and counts them", () => {
    const { p, streamed } = run(["A fact ", "[7]. Another ", "[1, 9]", " and [0]."], 3);
    expect(streamed).toBe("A fact. Another [1] and.");
    expect(p.invalid).toBe(3);
    expect(p.cited).toEqual([1]);
  });

  it("leaves brackets that are not citations alone, including at the end of the stream", () => {
    const { streamed, p } = run(["See [the guide](x) and [", "draft] and a[1"], 1);
    expect(streamed).toBe("See [the guide](x) and [draft] and a[1");
    expect(p.invalid).toBe(0);
    expect(p.cited).toEqual([]);
  });

  it("never emits a partial citation before it is decided", () => {
    const p = new CitationParser(5);
    expect(p.push("Text [").text).toBe("Text");
    expect(p.push("3").text).toBe("");
    expect(p.push("] more").text).toBe(" [3] more");
  });
});
