// Which requests the web process serves without Next.js's pipeline (scripts/direct-routes.ts): exactly
// the cubby item path with GET, PUT or DELETE, its segments decoded as Next.js decodes them; anything
// else (a trailing slash, an undecodable segment, another method or path) is left to Next.js, so its
// answers do not change. What the direct answers carry is checked end to end in tests/e2e/cubbies.test.ts.
import { describe, expect, it } from "vitest";
import { matchDirect } from "@/scripts/direct-routes";

describe("direct routes", () => {
  it("match the cubby item path with GET, PUT and DELETE, with decoded parameters", () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const m = matchDirect(method, "/api/cubbies/wiki-state/items/last%3Async?ifVersion=2");
      expect(m?.params).toEqual({ name: "wiki-state", key: "last:sync" });
    }
  });

  it("leave everything else to Next.js", () => {
    expect(matchDirect("GET", "/api/cubbies/a/items/k/")).toBeNull(); // trailing slash: Next.js redirects
    expect(matchDirect("GET", "/api/cubbies/a/items/%E0%A4%A")).toBeNull(); // malformed encoding
    expect(matchDirect("HEAD", "/api/cubbies/a/items/k")).toBeNull();
    expect(matchDirect("OPTIONS", "/api/cubbies/a/items/k")).toBeNull();
    expect(matchDirect("GET", "/api/cubbies/a/items")).toBeNull();
    expect(matchDirect("GET", "/api/cubbies/a/items/k/more")).toBeNull();
    expect(matchDirect("GET", "/api/cubbies//items/k")).toBeNull();
    expect(matchDirect("GET", "/api/cubbiesx/a/items/k")).toBeNull();
    expect(matchDirect(undefined, "/api/cubbies/a/items/k")).toBeNull();
  });
});
