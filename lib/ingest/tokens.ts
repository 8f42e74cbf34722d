// A conservative, dependency-free token estimate for the embedder (nomic-embed-text, a BERT WordPiece
// vocabulary). No tokenizer for it ships as a pure-JS package, and chunk limits only need an upper
// bound: counting too many tokens makes chunks a little smaller, counting too few would overflow the
// embedder's context. Rules: a run of letters/digits counts one token per 8 characters (WordPiece
// keeps most English words whole and splits long ones), every punctuation or symbol character counts
// one, and every CJK character counts one (WordPiece splits them per character).

// One "piece" = at most one token, so any text can be cut at piece boundaries to fit a budget: a CJK
// character; a run of at most 8 other letters, digits or marks; any other character but white space.
// One scanner serves both the count and the cuts: a character loop, several times faster than a
// Unicode-property regular expression run once per piece (the chunker counts every piece of a page a
// few times).
function scanPieces(text: string, onPiece?: (start: number) => void): number {
  let n = 0;
  let run = 0; // letters/digits in the current run
  for (let i = 0; i < text.length; i++) {
    const start = i;
    let c = text.charCodeAt(i);
    let kind: CharKind;
    if (c < 128) {
      kind = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ? WORD : (c >= 9 && c <= 13) || c === 32 ? SPACE : SYMBOL;
    } else {
      c = text.codePointAt(i)!;
      if (c > 0xffff) i++; // the second half of a surrogate pair
      kind = charKind(c);
    }
    if (kind === WORD) {
      if (run % 8 === 0) {
        n++;
        onPiece?.(start);
      }
      run++;
    } else {
      run = 0;
      if (kind !== SPACE) {
        n++;
        onPiece?.(start);
      }
    }
  }
  return n;
}

export function estimateTokens(text: string): number {
  return scanPieces(text);
}

const SPACE = 0;
const WORD = 1;
const SYMBOL = 2; // one piece each: punctuation, symbols, and CJK characters
type CharKind = typeof SPACE | typeof WORD | typeof SYMBOL;
const CJK_CHAR = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;
const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;
const kinds = new Map<number, CharKind>();

/** What a non-ASCII character is (classified once, then remembered). */
function charKind(cp: number): CharKind {
  let kind = kinds.get(cp);
  if (kind === undefined) {
    const ch = String.fromCodePoint(cp);
    kind = CJK_CHAR.test(ch) ? SYMBOL : WORD_CHAR.test(ch) ? WORD : /\s/u.test(ch) ? SPACE : SYMBOL;
    kinds.set(cp, kind);
  }
  return kind;
}

/**
 * Cuts `text` into consecutive parts of at most `budget` tokens each, at piece boundaries (the
 * last resort of the chunker, for a single "word" longer than a chunk).
 */
export function cutToBudget(text: string, budget: number): string[] {
  if (budget < 1) throw new RangeError("budget must be at least 1 token");
  const parts: string[] = [];
  let from = 0;
  let count = 0;
  scanPieces(text, (start) => {
    if (count === budget) {
      parts.push(text.slice(from, start));
      from = start;
      count = 0;
    }
    count++;
  });
  parts.push(text.slice(from));
  return parts.filter((p) => p.length > 0);
}
