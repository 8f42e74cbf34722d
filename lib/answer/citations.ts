// Citations parsed on the server while the answer streams. The model writes [n], [n, m] or [n][m];
// a number that matches no source is removed from the text before it reaches anyone and counted, so
// the browser and the API never show an invented citation. Text that might be the start of a citation
// ("[", "[1", "[1,") is held back until the next token decides it.
// Code is left alone: inside a fenced block (``` or ~~~ at the start of a line) or an inline code span
// (`…`), `arr[12]` and `x[1]` are code, not citations, and are neither removed nor counted. A run of
// backticks at the end of a token is held back too, until its length (span or fence) is known.

export interface CitationHit {
  /** Source number (1-based), valid. */
  n: number;
  /** Offset of the citation in the cleaned answer. */
  offset: number;
}

const COMPLETE = /\[(\s*\d{1,3}\s*(?:[,;]\s*\d{1,3}\s*)*)\]/g;
/** A suffix that could still grow into a citation. */
const PARTIAL = /\[(\s*\d{0,3}\s*(?:[,;]\s*\d{0,3}\s*)*)$/;

/** Where the text emitted so far ends: in prose, in an inline code span or in a fenced block. */
interface CodeState {
  mode: "text" | "inline" | "fence";
  /** The opening run: its length (a span closes with a run of the same length, a fence with one at least as long) and character. */
  run: number;
  fenceChar: string;
  /** Whether the next character starts a line (fences open and close only there). */
  lineStart: boolean;
}

export class CitationParser {
  private pending = "";
  private out = "";
  private code: CodeState = { mode: "text", run: 0, fenceChar: "`", lineStart: true };
  readonly hits: CitationHit[] = [];
  invalid = 0;

  constructor(private readonly sourceCount: number) {}

  /** Feeds a token; returns the cleaned text that is safe to emit now, and citations completed by it. */
  push(token: string): { text: string; citations: number[] } {
    this.pending += token;
    let cut = this.pending.length;
    const partial = PARTIAL.exec(this.pending);
    if (partial && partial[0].length <= 16) cut = partial.index;
    // A trailing run of backticks or tildes may still grow (` → ``` is a fence, not a span).
    const run = /[`~]+$/.exec(this.pending.slice(0, cut));
    if (run) cut = run.index;
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
    for (const { text, isCode } of this.splitCode(ready)) {
      if (isCode) {
        emitted += text;
        continue;
      }
      let last = 0;
      for (const m of text.matchAll(COMPLETE)) {
        emitted += text.slice(last, m.index);
        last = m.index! + m[0].length;
        const nums = m[1]!.split(/[,;]/).map((s) => Number.parseInt(s.trim(), 10));
        const valid = [...new Set(nums.filter((n) => Number.isInteger(n) && n >= 1 && n <= this.sourceCount))];
        this.invalid += nums.length - nums.filter((n) => n >= 1 && n <= this.sourceCount).length;
        if (valid.length === 0) {
          // Drop the citation and the space before it, so "fact [9]." reads "fact.".
          if (emitted.endsWith(" ")) emitted = emitted.slice(0, -1);
          continue;
        }
        // "[1, 2]" is written "[1][2]": each number's offset is that of its own marker.
        for (const n of valid) {
          this.hits.push({ n, offset: this.out.length + emitted.length });
          citations.push(n);
          emitted += `[${n}]`;
        }
      }
      emitted += text.slice(last);
    }
    this.out += emitted;
    return { text: emitted, citations };
  }

  /**
   * Splits text into prose and code pieces, carrying the code state across calls. Markdown's rules, as
   * far as an answer needs them: a run of 3+ backticks or tildes at the start of a line opens a fence
   * that a run at least as long of the same character at the start of a line closes; elsewhere a run of
   * backticks opens a span that a run of the same length closes.
   */
  private splitCode(text: string): Array<{ text: string; isCode: boolean }> {
    const pieces: Array<{ text: string; isCode: boolean }> = [];
    const st = this.code;
    let start = 0;
    const push = (end: number, isCode: boolean) => {
      if (end > start) pieces.push({ text: text.slice(start, end), isCode });
      start = end;
    };
    let i = 0;
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === "\n") {
        // A span never crosses a blank line: an unmatched backtick was a literal one.
        if (st.mode === "inline" && st.lineStart) {
          push(i, true);
          st.mode = "text";
        }
        st.lineStart = true;
        i++;
        continue;
      }
      if (ch !== "`" && ch !== "~") {
        if (ch !== " " && ch !== "\t") st.lineStart = false;
        i++;
        continue;
      }
      let j = i;
      while (j < text.length && text[j] === ch) j++;
      const run = j - i;
      if (st.mode === "text") {
        if (st.lineStart && run >= 3) {
          push(i, false);
          st.mode = "fence";
          st.run = run;
          st.fenceChar = ch;
        } else if (ch === "`") {
          push(i, false);
          st.mode = "inline";
          st.run = run;
        }
      } else if (st.mode === "inline") {
        if (ch === "`" && run === st.run) {
          push(j, true);
          st.mode = "text";
        }
      } else if (st.lineStart && ch === st.fenceChar && run >= st.run) {
        push(j, true);
        st.mode = "text";
      }
      st.lineStart = false;
      i = j;
    }
    push(text.length, st.mode !== "text");
    return pieces;
  }
}
