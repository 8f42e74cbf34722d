import { createServer } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer as createTcpServer } from "node:net";
import { addressRefusal, assertOutboundAllowed, describeOutboundFailure, isPublicAddress, OutboundBlockedError, outboundFetch, type OutboundPolicy } from "@/lib/http/outbound";

const strict: OutboundPolicy = { allow: [], allowPublic: false };
const publicOnly: OutboundPolicy = { allow: [], allowPublic: true };

describe("outbound (SSRF) guard", () => {
  it("classifies internal addresses, including IPv4-mapped IPv6 and cloud metadata", () => {
    for (const ip of ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.10", "169.254.169.254", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1", "100.64.0.1"]) {
      expect(isPublicAddress(ip), ip).toBe(false);
    }
    for (const ip of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"]) expect(isPublicAddress(ip), ip).toBe(true);
  });

  it("refuses everything not allow-listed by default, public addresses only when allowed", () => {
    expect(addressRefusal("x", "8.8.8.8", strict)).toMatch(/not on the allow list/);
    expect(addressRefusal("x", "8.8.8.8", publicOnly)).toBeNull();
    expect(addressRefusal("x", "10.0.0.1", publicOnly)).toMatch(/private/);
    expect(addressRefusal("x", "169.254.169.254", publicOnly)).toMatch(/link-local/);
  });

  it("allows admin-listed names, wildcard suffixes, IPs and CIDRs", () => {
    const p: OutboundPolicy = { allow: ["minio.lan", "*.hooks.example", "10.0.5.0/24", "192.168.1.7"], allowPublic: false };
    expect(addressRefusal("minio.lan", "10.9.9.9", p)).toBeNull();
    expect(addressRefusal("a.hooks.example", "10.9.9.9", p)).toBeNull();
    expect(addressRefusal("hooks.example.evil", "10.9.9.9", p)).not.toBeNull();
    expect(addressRefusal("x", "10.0.5.77", p)).toBeNull();
    expect(addressRefusal("x", "10.0.6.1", p)).not.toBeNull();
    expect(addressRefusal("x", "192.168.1.7", p)).toBeNull();
  });

  it("rejects bad schemes and literal internal hosts with a 400 naming the field", async () => {
    await expect(assertOutboundAllowed("file:///etc/passwd", { policy: publicOnly })).rejects.toThrow(/scheme file:/);
    await expect(assertOutboundAllowed("gopher://x/", { policy: publicOnly })).rejects.toBeInstanceOf(OutboundBlockedError);
    const err = await assertOutboundAllowed("http://169.254.169.254/latest/meta-data", { policy: publicOnly, field: "webhookUrl" }).catch((e) => e);
    expect(err).toBeInstanceOf(OutboundBlockedError);
    expect(err.status).toBe(400);
    expect(err.details).toEqual([{ path: "webhookUrl", message: expect.stringContaining("169.254.169.254") }]);
    await expect(assertOutboundAllowed("http://[::ffff:7f00:1]:80/", { policy: publicOnly })).rejects.toBeInstanceOf(OutboundBlockedError);
    // "localhost" resolves to loopback: refused although it is a name.
    await expect(assertOutboundAllowed("http://localhost:9/", { policy: publicOnly })).rejects.toBeInstanceOf(OutboundBlockedError);
  });

  describe("outboundFetch against a real local server", () => {
    let port = 0;
    const server = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`hello ${req.method}`);
    });
    beforeAll(() => new Promise<void>((r) => server.listen(0, "127.0.0.1", () => ((port = (server.address() as { port: number }).port), r()))));
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("refuses loopback unless allow-listed, then fetches through the guarded connection", async () => {
      await expect(outboundFetch(`http://127.0.0.1:${port}/`, {}, { policy: publicOnly })).rejects.toBeInstanceOf(OutboundBlockedError);
      const res = await outboundFetch(`http://127.0.0.1:${port}/`, { method: "POST", body: "x" }, { policy: { allow: ["127.0.0.1"], allowPublic: false } });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("hello POST");
    });

    it("checks names at connect time too (a name allowed by IP list only if it resolves there)", async () => {
      // localhost resolves to 127.0.0.1 (and maybe ::1): allowed by the CIDR, connection pinned to it.
      const res = await outboundFetch(`http://localhost:${port}/`, {}, { policy: { allow: ["127.0.0.0/8", "::1"], allowPublic: false } });
      expect(await res.text()).toBe("hello GET");
    });
  });

  it("describes failures in its own words: refused by the guard, no answer, could not connect — never the socket's error", async () => {
    const loopback: OutboundPolicy = { allow: ["127.0.0.1"], allowPublic: false };
    const closed = createTcpServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", () => r()));
    const port = (closed.address() as { port: number }).port;
    await new Promise((r) => closed.close(r));
    const refused = await outboundFetch(`http://127.0.0.1:${port}/`, {}, { policy: loopback }).catch((e) => e);
    expect(String(refused.message)).toMatch(/ECONNREFUSED/); // what the socket said …
    expect(describeOutboundFailure(refused, `127.0.0.1:${port}`)).toBe(`could not connect to 127.0.0.1:${port}`); // … is not repeated

    // A listener that never answers: a time-out, reported as such.
    const silent = createTcpServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
    const silentPort = (silent.address() as { port: number }).port;
    const timedOut = await outboundFetch(`http://127.0.0.1:${silentPort}/`, { timeoutMs: 200 }, { policy: loopback }).catch((e) => e);
    expect(describeOutboundFailure(timedOut, "h")).toBe("no answer from h in time");
    silent.close();

    const blocked = await outboundFetch(`http://127.0.0.1:${port}/`, {}, { policy: publicOnly }).catch((e) => e);
    expect(describeOutboundFailure(blocked, "h")).toMatch(/^h is not an allowed target/);
  });
});
