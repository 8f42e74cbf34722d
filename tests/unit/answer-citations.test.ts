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

  it("gives each number of a grouped citation the offset of its own marker", () => {
    const { p, streamed } = run(["Both apply [2, ", "1] here."], 2);
    expect(streamed).toBe("Both apply [2][1] here.");
    expect(p.hits).toEqual([
      { n: 2, offset: 11 },
      { n: 1, offset: 14 },
    ]);
    for (const h of p.hits) expect(streamed.slice(h.offset, h.offset + 3)).toBe(`[${h.n}]`);
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

  describe("leaves code alone", () => {
    const answer = [
      "Index the array [1]:\n",
      "```ts\nconst x = arr[12];\nconst y = x[1];\n```\n",
      "Then call `get(x[2])` and `` a[9] `` as shown [2].",
    ].join("");

    it("in fenced blocks and inline spans: nothing removed, counted or cited", () => {
      const { streamed, p, events } = run([answer], 3);
      expect(streamed).toBe(answer);
      expect(p.invalid).toBe(0);
      expect(events).toEqual([1, 2]);
    });

    it("whatever the token boundaries, fences and spans split across tokens included", () => {
      // Every way of cutting the answer into three tokens gives the same result as one token.
      for (let a = 1; a < answer.length; a += 3) {
        for (let b = a + 1; b < answer.length; b += 7) {
          const { streamed, p, events } = run([answer.slice(0, a), answer.slice(a, b), answer.slice(b)], 3);
          expect(streamed, `cut at ${a}/${b}`).toBe(answer);
          expect(p.invalid).toBe(0);
          expect(events).toEqual([1, 2]);
        }
      }
    });

    it("with tilde fences, and a longer closing fence", () => {
      const { streamed, p } = run(["~~~\nlist[40]\n~~~~\nafter [9]."], 2);
      expect(streamed).toBe("~~~\nlist[40]\n~~~~\nafter.");
      expect(p.invalid).toBe(1);
    });

    it("a fence opens only at the start of a line; an unmatched backtick ends at a blank line", () => {
      const { streamed, p } = run(["Use ``` inline [1] and `x[3].\n\nLater [5] and [1]."], 2);
      // The inline run of three backticks opens a span that no run of three closes before the blank line.
      expect(streamed).toBe("Use ``` inline [1] and `x[3].\n\nLater and [1].");
      expect(p.invalid).toBe(1);
      expect(p.cited).toEqual([1]);
    });

    it("citation offsets still point at the markers in the final text", () => {
      const { p } = run([answer], 3);
      for (const h of p.hits) expect(p.text.slice(h.offset, h.offset + String(h.n).length + 2)).toBe(`[${h.n}]`);
    });
  });
});
