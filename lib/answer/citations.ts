// Citations parsed on the server while the answer streams. The model writes [n], [n, m] or [n][m];
// a number that matches no source is removed from the text before it reaches anyone and counted, so
// the browser and the API never show an invented citation. Text that might be the start of a citation
// ("[", "[1", "[1,") is held back until the next token decides it.

export interface CitationHit {
  /** Source number (1-based), valid. */
  n: number;
  /** Offset of the citation in the cleaned answer. */
  offset: number;
}

const COMPLETE = /\[(\s*\d{1,3}\s*(?:[,;]\s*\d{1,3}\s*)*)\]/g;
/** A suffix that could still grow into a citation. */
const PARTIAL = /\[(\s*\d{0,3}\s*(?:[,;]\s*\d{0,3}\s*)*)$/;

export class CitationParser {
  private pending = "";
  private out = "";
  readonly hits: CitationHit[] = [];
  invalid = 0;

  constructor(private readonly sourceCount: number) {}

  /** Feeds a token; returns the cleaned text that is safe to emit now, and citations completed by it. */
  push(token: string): { text: string; citations: number[] } {
    this.pending += token;
    let cut = this.pending.length;
    const partial = PARTIAL.exec(this.pending);
    if (partial && partial[0].length <= 16) cut = partial.index;
    // Trailing spaces wait too: if a dropped citation follows, its leading space goes with it.
    while (cut > 0 && /\s/.test(this.pending[cut - 1]!)) cut--;
    return this.flushUpTo(cut);
  }

  /** Ends the stream: whatever is held back is emitted as it is (it never became a citation). */
  end(): { text: string; citations: number[] } {
    return this.flushUpTo(this.pending.length);
  }

  /** The cleaned answer so far. */
  get text(): string {
    return this.out;
  }

  /** Distinct valid source numbers in order of first citation. */
  get cited(): number[] {
    return [...new Set(this.hits.map((h) => h.n))];
  }

  private flushUpTo(cut: number): { text: string; citations: number[] } {
    const ready = this.pending.slice(0, cut);
    this.pending = this.pending.slice(cut);
    const citations: number[] = [];
    let emitted = "";
    let last = 0;
    for (const m of ready.matchAll(COMPLETE)) {
      emitted += ready.slice(last, m.index);
      last = m.index! + m[0].length;
      const nums = m[1]!.split(/[,;]/).map((s) => Number.parseInt(s.trim(), 10));
      const valid = [...new Set(nums.filter((n) => Number.isInteger(n) && n >= 1 && n <= this.sourceCount))];
      this.invalid += nums.length - nums.filter((n) => n >= 1 && n <= this.sourceCount).length;
      if (valid.length === 0) {
        // Drop the citation and the space before it, so "fact [9]." reads "fact.".
        if (emitted.endsWith(" ")) emitted = emitted.slice(0, -1);
        continue;
      }
      const rendered = valid.map((n) => `[${n}]`).join("");
      for (const n of valid) {
        this.hits.push({ n, offset: this.out.length + emitted.length });
        citations.push(n);
      }
      emitted += rendered;
    }
    emitted += ready.slice(last);
    this.out += emitted;
    return { text: emitted, citations };
  }
}
