// The three kinds of notification target: what an admin enters for each (zod), what of it is secret
// (stored encrypted: lib/crypto/secrets.ts), and how a rendered event is sent. Every address goes
// through the outbound guard (lib/http/outbound.ts) when saved and again when used.
import { createHmac, randomBytes } from "node:crypto";
import nodemailer from "nodemailer";
import { z } from "zod";
import { assertOutboundAllowed, describeOutboundFailure, outboundFetch } from "../http/outbound";
import { EVENT_KINDS, type RenderedEvent } from "./events";

const eventKinds = z
  .array(z.enum(EVENT_KINDS.map((e) => e.kind) as [string, ...string[]]))
  .max(EVENT_KINDS.length)
  .default([])
  .describe("event kinds it receives; empty: every kind");
const name = z.string().trim().min(1, "must not be empty").max(100);
const httpUrl = z
  .string()
  .url({ message: "must be an http(s) URL" })
  .refine((u) => /^https?:$/.test(new URL(u).protocol), { message: "must be an http(s) URL" });

export const createTargetBody = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("discord"), name, url: httpUrl, events: eventKinds }).strict(),
  z.object({ kind: z.literal("webhook"), name, url: httpUrl, events: eventKinds }).strict(),
  z
    .object({
      kind: z.literal("email"),
      name,
      host: z.string().trim().min(1).max(253).regex(/^[A-Za-z0-9.-]+$|^\[?[0-9a-fA-F:.]+\]?$/, "must be a host name or address"),
      port: z.number().int().min(1).max(65535).default(587),
      /** true: TLS from the first byte (port 465); false: STARTTLS when the server offers it. */
      secure: z.boolean().default(false),
      username: z.string().max(200).optional(),
      password: z.string().max(500).optional(),
      from: z.string().email("must be an e-mail address"),
      to: z.array(z.string().email("must be an e-mail address")).min(1, "name at least one recipient").max(50),
      events: eventKinds,
    })
    .strict(),
]);
export type CreateTargetInput = z.infer<typeof createTargetBody>;

export const updateTargetBody = z
  .object({ name: name.optional(), events: eventKinds.optional(), enabled: z.boolean().optional() })
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: "send at least one of name, events, enabled" });
export type UpdateTargetInput = z.infer<typeof updateTargetBody>;

export type TargetKind = CreateTargetInput["kind"];

/** What is stored in clear (shown on the page) and what is stored encrypted. */
export interface SplitTarget {
  config: Record<string, unknown>;
  secret: TargetSecret;
  /** Shown once, when the target is created (the webhook's signing secret). */
  revealOnce?: { signingSecret: string };
}
export interface TargetSecret {
  url?: string;
  signingSecret?: string;
  password?: string;
}

/** Checks the address (outbound guard) and splits the input into clear config and secret. */
export async function splitTarget(input: CreateTargetInput): Promise<SplitTarget> {
  switch (input.kind) {
    case "discord":
    case "webhook": {
      const u = await assertOutboundAllowed(input.url, { field: "url" });
      if (u.username || u.password) throw new Error("unreachable: credentials are refused by the schema");
      if (input.kind === "discord") return { config: { host: u.host }, secret: { url: input.url } };
      const signingSecret = `whsec_${randomBytes(24).toString("base64url")}`;
      return { config: { host: u.host }, secret: { url: input.url, signingSecret }, revealOnce: { signingSecret } };
    }
    case "email": {
      await assertOutboundAllowed(`http://${input.host}:${input.port}/`, { field: "host" });
      return {
        config: { host: input.host, port: input.port, secure: input.secure, username: input.username ?? null, from: input.from, to: input.to },
        secret: input.password ? { password: input.password } : {},
      };
    }
  }
}

/** The signature header of a generic webhook: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signWebhook(secret: string, body: string, at: Date = new Date()): string {
  const t = Math.floor(at.getTime() / 1000);
  return `t=${t},v1=${createHmac("sha256", secret).update(`${t}.${body}`).digest("hex")}`;
}

export const SIGNATURE_HEADER = "x-sot-signature";

export interface SendEnv {
  deliveryId: string;
  signal?: AbortSignal;
}

function textOf(r: RenderedEvent): string {
  return [...r.lines, r.link].join("\n");
}

async function postJson(url: string, body: string, headers: Record<string, string>, env: SendEnv): Promise<void> {
  const host = new URL(url).host;
  let res: Response;
  try {
    res = await outboundFetch(url, { method: "POST", headers: { "content-type": "application/json", "user-agent": "project-sot-notify", ...headers }, body, signal: env.signal, timeoutMs: 10_000 });
  } catch (err) {
    // In the guard's words: the URL may carry a token, the socket's text may tell which ports answer.
    throw new Error(describeOutboundFailure(err, host));
  }
  await res.body?.cancel().catch(() => {});
  if (!res.ok) throw new Error(`${host} answered HTTP ${res.status}`);
}

/** Sends one rendered event to one target; throws (with a message safe to store) when it did not go out. */
export async function sendTo(kind: TargetKind, config: Record<string, unknown>, secret: TargetSecret, rendered: RenderedEvent, env: SendEnv): Promise<void> {
  switch (kind) {
    case "discord": {
      const body = JSON.stringify({ content: `**${rendered.title}**\n${textOf(rendered)}`, allowed_mentions: { parse: [] } });
      return postJson(secret.url!, body, {}, env);
    }
    case "webhook": {
      const body = JSON.stringify({ event: rendered.kind, deliveryId: env.deliveryId, title: rendered.title, ...rendered.fields, link: rendered.link });
      return postJson(secret.url!, body, { "x-sot-event": rendered.kind, "x-sot-delivery": env.deliveryId, [SIGNATURE_HEADER]: signWebhook(secret.signingSecret!, body) }, env);
    }
    case "email": {
      const c = config as { host: string; port: number; secure: boolean; username: string | null; from: string; to: string[] };
      await assertOutboundAllowed(`http://${c.host}:${c.port}/`, { field: "host" }).catch(() => {
        throw new Error(`${c.host} is not an allowed target (an administrator can allow it with OUTBOUND_ALLOW)`);
      });
      const transport = nodemailer.createTransport({
        host: c.host,
        port: c.port,
        secure: c.secure,
        auth: c.username ? { user: c.username, pass: secret.password ?? "" } : undefined,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
      try {
        await transport.sendMail({ from: c.from, to: c.to, subject: rendered.title, text: textOf(rendered), headers: { "X-SOT-Event": rendered.kind } });
      } catch (err) {
        const e = err as { responseCode?: number; code?: string };
        throw new Error(e.responseCode ? `${c.host} refused the message (SMTP ${e.responseCode})` : `could not deliver through ${c.host} (${e.code ?? "connection failed"})`);
      } finally {
        transport.close();
      }
    }
  }
}
