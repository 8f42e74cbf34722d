import { describe, expect, it } from "vitest";
import { ForbiddenError } from "@/lib/errors";
import { assertSameOrigin } from "@/lib/http/csrf";

const url = "http://sot.lan/api/admin/users";
const req = (method: string, headers: Record<string, string>) => new Request(url, { method, headers });

describe("CSRF check for cookie sessions", () => {
  it("refuses a cookie-authenticated POST from another site (Sec-Fetch-Site or Origin)", () => {
    expect(() => assertSameOrigin(req("POST", { cookie: "s=1", host: "sot.lan", "sec-fetch-site": "cross-site" }))).toThrow(ForbiddenError);
    expect(() => assertSameOrigin(req("POST", { cookie: "s=1", host: "sot.lan", "sec-fetch-site": "same-site" }))).toThrow(ForbiddenError);
    expect(() => assertSameOrigin(req("DELETE", { cookie: "s=1", host: "sot.lan", origin: "https://evil.example" }))).toThrow(/evil\.example/);
    expect(() => assertSameOrigin(req("PATCH", { cookie: "s=1", host: "sot.lan", origin: "null" }))).toThrow(ForbiddenError);
  });

  it("accepts same-origin requests, including behind a proxy that forwards the host", () => {
    expect(() => assertSameOrigin(req("POST", { cookie: "s=1", host: "sot.lan", "sec-fetch-site": "same-origin", origin: "https://sot.lan" }))).not.toThrow();
    expect(() =>
      assertSameOrigin(new Request("http://127.0.0.1:3000/api/x", { method: "POST", headers: { cookie: "s=1", host: "127.0.0.1:3000", "x-forwarded-host": "sot.example.org", origin: "https://sot.example.org" } })),
    ).not.toThrow();
    // PUBLIC_URL's host counts as ours too.
    expect(() => assertSameOrigin(req("POST", { cookie: "s=1", host: "10.0.0.5:3000", origin: "https://wiki.corp" }), "https://wiki.corp")).not.toThrow();
  });

  it("does not apply to reads, to bearer keys, or to requests without cookies", () => {
    expect(() => assertSameOrigin(req("GET", { cookie: "s=1", origin: "https://evil.example", "sec-fetch-site": "cross-site" }))).not.toThrow();
    expect(() => assertSameOrigin(req("POST", { authorization: "Bearer sot_x", origin: "https://evil.example" }))).not.toThrow();
    expect(() => assertSameOrigin(req("POST", { origin: "https://evil.example", "sec-fetch-site": "cross-site" }))).not.toThrow();
  });
});
