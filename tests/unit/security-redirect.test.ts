// Redirect targets (callbackUrl, next-auth's redirect callback): same-site paths only. The property
// tests throw arbitrary and deliberately hostile strings at the helper and check the result the way a
// browser would read it: resolved against the app's origin, it must stay on that origin.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { safeRedirectPath, sameOriginRedirect } from "@/lib/http/redirect";

const ORIGIN = "https://sot.example";

/** How a browser reads a Location value (WHATWG URL; tabs and newlines are dropped by the parser). */
function landsOn(location: string): string {
  return new URL(location, `${ORIGIN}/signin`).origin;
}

/** Decodes as often as a chain of redirects could. */
function decodings(s: string): string[] {
  const out = [s];
  for (let i = 0; i < 6; i++) {
    try {
      const d = decodeURIComponent(out[out.length - 1]!);
      if (d === out[out.length - 1]) break;
      out.push(d);
    } catch {
      break;
    }
  }
  return out;
}

// Pieces attackers combine: separators in every spelling, schemes, hosts, whitespace a browser drops.
const piece = fc.constantFrom(
  "/", "//", "\\", "/\\", "\\/", "%2f", "%2F", "%5c", "%5C", "%252f", "%255c", "%25252F", "\t", "\n", "\r", " ", "%09", "%0a",
  "http:", "https:", "javascript:", "data:", "HTTP://", "evil.example", "@evil.example", "evil.example:443", ".", "..", "?", "#", "&", "%", "%zz",
  "a", "docs", "ü", "\u0000", "\u2028", "//evil.example", "/\\evil.example", "/%5Cevil.example", "/\t/evil.example",
);
const hostile = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => parts.join(""));
const segment = fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/).filter((s) => s !== "." && s !== "..");
const samePath = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 5 }), fc.option(fc.stringMatching(/^[a-z]{1,5}=[A-Za-z0-9]{0,8}$/), { nil: undefined }), fc.option(segment, { nil: undefined }))
  .map(([segs, q, h]) => `/${segs.join("/")}${q ? `?${q}` : ""}${h ? `#${h}` : ""}`);

describe("safeRedirectPath", () => {
  it("keeps same-site paths as they are", () => {
    for (const p of ["/", "/evaluations", "/evaluations/runs/1?tab=items#top", "/documents/abc?chunk=x%20y", "/a/b/../c"]) {
      expect(safeRedirectPath(p), p).toBe(p);
    }
  });

  it("refuses the known ways off-site, falling back to /", () => {
    for (const p of [
      "/\\evil.example", "\\\\evil.example", "/%5Cevil.example", "/%5cevil.example", "/%2Fevil.example", "/%2f%2fevil.example", "/%252F%252Fevil.example",
      "//evil.example", "///evil.example", "/\t/evil.example", "/\n/evil.example", "https://evil.example", "http:evil.example", "javascript:alert(1)",
      "evil.example", "", " /x", "/x%", "/x%zz", "/docs%2Fx", "/\u0000x",
      // dot segments that resolve to a protocol-relative path
      "/..//", "/..//evil.example", "/a/..//evil.example", "/./\u002fevil.example", "/%2e%2e//evil.example",
    ]) {
      expect(safeRedirectPath(p), JSON.stringify(p)).toBe("/");
    }
    expect(safeRedirectPath(undefined)).toBe("/");
    expect(safeRedirectPath(["/a"])).toBe("/");
    expect(safeRedirectPath("/" + "a".repeat(5000))).toBe("/");
    expect(safeRedirectPath("//evil.example", "/home")).toBe("/home");
  });

  it("property: whatever it returns stays on the app's origin, in every decoded form", () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.string(), fc.string({ unit: "binary" }), fc.webUrl(), samePath), (input) => {
        const out = safeRedirectPath(input);
        expect(out.startsWith("/")).toBe(true);
        for (const form of decodings(out)) {
          expect(form[1] === "/" || form[1] === "\\", `${JSON.stringify(input)} → ${JSON.stringify(form)}`).toBe(false);
          expect(form.includes("\\")).toBe(false);
          expect(landsOn(form)).toBe(ORIGIN);
        }
      }),
      { numRuns: 5000 },
    );
  });

  it("property: plain same-site paths pass unchanged", () => {
    fc.assert(fc.property(samePath, (p) => safeRedirectPath(p) === p), { numRuns: 2000 });
  });
});

describe("sameOriginRedirect (next-auth's redirect callback)", () => {
  it("keeps paths and absolute URLs on the app's origin, sends everything else to the base", () => {
    expect(sameOriginRedirect("/evaluations", ORIGIN)).toBe(`${ORIGIN}/evaluations`);
    expect(sameOriginRedirect(`${ORIGIN}/evaluations?x=1#y`, ORIGIN)).toBe(`${ORIGIN}/evaluations?x=1#y`);
    expect(sameOriginRedirect("https://evil.example/", ORIGIN)).toBe(ORIGIN);
    expect(sameOriginRedirect(`${ORIGIN}.evil.example/`, ORIGIN)).toBe(ORIGIN);
    expect(sameOriginRedirect("/\\evil.example", ORIGIN)).toBe(ORIGIN);
    expect(sameOriginRedirect(`${ORIGIN}/\\evil.example`, ORIGIN)).toBe(ORIGIN);
    expect(sameOriginRedirect(`${ORIGIN}/%5Cevil.example`, ORIGIN)).toBe(ORIGIN);
    expect(sameOriginRedirect("not a url", ORIGIN)).toBe(ORIGIN);
    // found by the property below (seed -943796616): the path resolves to "//"
    expect(sameOriginRedirect("/..//", ORIGIN)).toBe(ORIGIN);
    expect(sameOriginRedirect("/a/..//evil.example", ORIGIN)).toBe(ORIGIN);
  });

  it("property: the result is always on the app's origin", () => {
    fc.assert(
      fc.property(fc.oneof(hostile, fc.webUrl(), samePath, hostile.map((h) => `${ORIGIN}${h}`)), (input) => {
        const out = sameOriginRedirect(input, ORIGIN);
        expect(new URL(out).origin).toBe(ORIGIN);
        for (const form of decodings(new URL(out).pathname)) expect(landsOn(form)).toBe(ORIGIN);
      }),
      { numRuns: 3000 },
    );
  });
});
