// A conservative, dependency-free token estimate for the embedder (nomic-embed-text, a BERT WordPiece
// vocabulary). No tokenizer for it ships as a pure-JS package, and chunk limits only need an upper
// bound: counting too many tokens makes chunks a little smaller, counting too few would overflow the
// embedder's context. Rules: a run of letters/digits counts one token per 8 characters (WordPiece
// keeps most English words whole and splits long ones), every punctuation or symbol character counts
// one, and every CJK character counts one (WordPiece splits them per character).

// One "piece" = at most one token, so any text can be cut at piece boundaries to fit a budget.
const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}`;
const PIECE = new RegExp(String.raw`[${CJK}]|(?:(?![${CJK}])[\p{L}\p{N}\p{M}]){1,8}|[^\s\p{L}\p{N}\p{M}]`, "gu");

export function estimateTokens(text: string): number {
  let n = 0;
  PIECE.lastIndex = 0;
  while (PIECE.exec(text) !== null) n++;
  return n;
}

/**
 * Cuts `text` into consecutive parts of at most `budget` tokens each, at piece boundaries (the
 * last resort of the chunker, for a single "word" longer than a chunk).
 */
export function cutToBudget(text: string, budget: number): string[] {
  if (budget < 1) throw new RangeError("budget must be at least 1 token");
  const parts: string[] = [];
  let start = 0;
  let count = 0;
  PIECE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = PIECE.exec(text)) !== null) {
    if (count === budget) {
      parts.push(text.slice(start, m.index));
      start = m.index;
      count = 0;
    }
    count++;
  }
  parts.push(text.slice(start));
  return parts.filter((p) => p.length > 0);
}
