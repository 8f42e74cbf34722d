// Repairs for judge replies that are not valid JSON as sent, applied before the reply counts as a failed
// attempt. Two kinds, kept apart because they are worth different things:
//
// - lossless: a Markdown fence or prose around the one JSON object, trailing commas, a verdict written
//   "Not found" / "not-found" / "SUPPORTED". Nothing the judge said is lost, so the reply is as good as a
//   valid one.
// - cut off: the reply ends mid-way (the model hit its token limit, or the stream broke). Every claim that
//   arrived whole (its text and its verdict, or for a reference claim its text and in_sources) is kept and
//   the half-written one is dropped; the caller is told the reply was cut off, so it can ask again and use
//   this only when no complete reply comes.
//
// Anything else (prose without JSON, an unknown verdict, the wrong shape) is not guessed at: the reply stays
// invalid and the judge is asked again.

export interface RepairedReply {
  /** The parsed JSON after repair. */
  value: unknown;
  /** What was repaired, in words (for logs and the stored error of a failed score). */
  repairs: string[];
  /** The reply ended mid-way: the claims after the last whole one are missing. */
  cutOff: boolean;
}

const VERDICT_SPELLINGS: Record<string, "supported" | "contradicted" | "not_found"> = {
  supported: "supported",
  contradicted: "contradicted",
  not_found: "not_found",
  notfound: "not_found",
};

/**
 * Repairs a judge reply that JSON.parse rejected, or returns null when no honest repair exists (then the
 * caller treats the reply as invalid, as before).
 */
export function repairJudgeReply(raw: string): RepairedReply | null {
  const repairs: string[] = [];
  let text = raw.trim();

  const fenced = /```(?:json)?\s*\n?([\s\S]*?)(?:```|$)/i.exec(text);
  if (fenced && fenced.index > 0) {
    text = fenced[1]!.trim();
    repairs.push("took the JSON out of a Markdown fence inside prose");
  }
  const start = text.indexOf("{");
  if (start < 0) return null;
  if (start > 0) repairs.push("dropped prose before the JSON");

  const scanned = scan(text, start);
  let json: string;
  let cutOff = false;
  if (scanned.end !== null) {
    json = text.slice(start, scanned.end);
    if (text.slice(scanned.end).trim()) repairs.push("dropped text after the JSON");
  } else {
    if (!scanned.safe) return null;
    cutOff = true;
    json = text.slice(start, scanned.safe.at) + scanned.safe.closers;
    repairs.push("closed a reply that was cut off, keeping what arrived whole");
  }

  const withoutTrailingCommas = json.replace(/,(\s*[\]}])/g, (_m, close: string) => close);
  if (withoutTrailingCommas !== json) repairs.push("removed trailing commas");

  let value: unknown;
  try {
    value = JSON.parse(withoutTrailingCommas);
  } catch {
    return null;
  }
  if (normaliseVerdicts(value)) repairs.push("normalised the spelling of verdicts");
  if (cutOff) {
    if (!dropHalfWrittenClaims(value)) return null;
  }
  return { value, repairs, cutOff };
}

/** Applies only the lossless verdict-spelling repair to a reply that parsed; true when something changed. */
export function normaliseVerdicts(value: unknown): boolean {
  const claims = isRecord(value) && Array.isArray(value.claims) ? value.claims : [];
  let changed = false;
  for (const c of claims) {
    if (!isRecord(c) || typeof c.verdict !== "string") continue;
    const key = c.verdict.trim().toLowerCase().replace(/[\s-]+/g, "_");
    const verdict = VERDICT_SPELLINGS[key];
    if (verdict && verdict !== c.verdict) {
      c.verdict = verdict;
      changed = true;
    }
  }
  return changed;
}

/**
 * A cut-off reply's last claim may have arrived without its verdict: drop trailing claims that lack a
 * required field. False when no claim at all arrived whole (nothing worth keeping: the judge is asked again).
 */
function dropHalfWrittenClaims(value: unknown): boolean {
  if (!isRecord(value) || !Array.isArray(value.claims)) return false;
  const whole = (c: unknown, field: "verdict" | "in_sources") => isRecord(c) && typeof c.claim === "string" && c[field] !== undefined;
  while (value.claims.length && !whole(value.claims.at(-1), "verdict")) value.claims.pop();
  if (Array.isArray(value.reference_claims)) {
    while (value.reference_claims.length && !whole(value.reference_claims.at(-1), "in_sources")) value.reference_claims.pop();
  }
  return value.claims.length > 0;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

interface ScanResult {
  /** Index just after the top-level object's closing brace, or null when the text ends first. */
  end: number | null;
  /** The last point where the text could be cut and closed into valid JSON, with the closers needed. */
  safe: { at: number; closers: string } | null;
}

/**
 * Walks JSON text from `start` (a `{`), tracking strings and nesting. A "safe" point follows every value
 * that is complete as an array element or as an object member's value (a number or literal only once a
 * delimiter shows it ended): cutting there and closing the open containers gives valid JSON.
 */
function scan(text: string, start: number): ScanResult {
  const stack: Array<{ kind: "{" | "["; expectKey: boolean }> = [];
  let safe: ScanResult["safe"] = null;
  let i = start;
  const markValueEnd = (at: number) => {
    const top = stack.at(-1);
    if (!top) return;
    if (top.kind === "{" && top.expectKey) return; // that was a key, not a value
    safe = { at, closers: stack.map((s) => (s.kind === "{" ? "}" : "]")).reverse().join("") };
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (j >= text.length) return { end: null, safe };
      markValueEnd(j + 1);
      i = j + 1;
      continue;
    }
    if (ch === "{" || ch === "[") {
      stack.push({ kind: ch, expectKey: ch === "{" });
    } else if (ch === "}" || ch === "]") {
      stack.pop();
      if (stack.length === 0) return { end: i + 1, safe };
      markValueEnd(i + 1);
    } else if (ch === ":") {
      const top = stack.at(-1);
      if (top) top.expectKey = false;
    } else if (ch === ",") {
      const top = stack.at(-1);
      if (top?.kind === "{") top.expectKey = true;
    } else if (/[-0-9tfn]/.test(ch)) {
      // A number or literal: complete only when something after it shows where it ends.
      const m = /^(?:-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null)/.exec(text.slice(i));
      const len = m ? m[0].length : 1;
      if (m && i + len < text.length) markValueEnd(i + len);
      i += len;
      continue;
    }
    i++;
  }
  return { end: null, safe };
}
