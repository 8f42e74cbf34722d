// Where notifications land in tests: a loopback HTTP server standing in for a Discord webhook or a generic
// webhook receiver (records path, headers and the raw body; can answer with an error status to exercise
// retries), and a real SMTP server (the `smtp-server` package) that records each message as received.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { until } from "@/tests/helpers/until";

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

export interface HttpReceiver {
  url: string;
  received: ReceivedRequest[];
  /** Status answered to the next requests (default 204); e.g. 500 to make the sender retry. */
  status: number;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const receiver: HttpReceiver = {
    url: "",
    received: [],
    status: 204,
    waitFor: async (n, timeoutMs = 30_000) => void (await until(`${n} requests`, async () => receiver.received.length >= n, timeoutMs)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
      const status = receiver.status;
      if (status < 300) receiver.received.push({ path: req.url ?? "/", headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

export interface ReceivedMail {
  from: string;
  to: string[];
  /** The message as the server received it (headers and body). */
  raw: string;
}

export interface SmtpReceiver {
  host: string;
  port: number;
  mails: ReceivedMail[];
  /** When set, the server asks for AUTH and accepts only these credentials. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpReceiver(opts: { user?: string; password?: string } = {}): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: no TLS certificate to make up for a test.
    disabledCommands: opts.user ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === opts.user && auth.password === opts.password) return callback(null, { user: auth.username });
      callback(new Error("Invalid username or password"));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    host: "127.0.0.1",
    port,
    mails,
    waitFor: async (n, timeoutMs = 30_000) => void (await until(`${n} mails`, async () => mails.length >= n, timeoutMs)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
