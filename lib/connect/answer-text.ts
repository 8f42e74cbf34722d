// The answer's text as a tool outside the browser receives it, with the offset of every citation marker
// in it. The Ask pipeline streams its text token by token and reports each citation's offset in that
// text; answers handed out here start at their first non-blank character, so offsets shift by what was
// cut. Every offset is checked against the text ("[n]" must stand there) before anyone is told about it.
import type { AskResult } from "../answer/types";
import { log } from "../log";

export interface PlacedCitation {
  n: number;
  chunkId: string;
  /** Where "[n]" starts in the text. */
  start: number;
  /** Just past its "]": text.slice(start, end) === "[n]". */
  end: number;
}

export class AnswerText {
  text = "";
  private lead = 0;
  private started = false;

  /** Takes a token's text; returns the part to hand out (blank space before the answer is cut). */
  push(token: string): string {
    let piece = token;
    if (!this.started) {
      piece = token.replace(/^\s+/, "");
      this.lead += token.length - piece.length;
      if (piece) this.started = true;
    }
    this.text += piece;
    return piece;
  }

  /** The pipeline's citations, placed in this text. */
  citations(result: AskResult): PlacedCitation[] {
    const out: PlacedCitation[] = [];
    for (const c of result.citations) {
      const marker = `[${c.n}]`;
      const start = c.offset - this.lead;
      if (start >= 0 && this.text.startsWith(marker, start)) out.push({ n: c.n, chunkId: c.chunkId, start, end: start + marker.length });
      else log("warn", "citation offset does not match the answer text", { n: c.n, offset: c.offset });
    }
    return out;
  }
}
