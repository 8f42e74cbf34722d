// The web process: validates settings, boots (database, migrations, in-process workers on the embedded
// default), then serves the built Next.js app. `npm start` runs this after building.
import { existsSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import path from "node:path";
import next from "next";
import { ConfigError, getConfig } from "../lib/config";
import { closeDb } from "../lib/db/client";
import { flushUsage } from "../lib/usage/meter";
import { EmbeddedDatabaseLockedError } from "../lib/db/embedded";
import { closeQueue } from "../lib/jobs/queue";
import { boot } from "../lib/runtime/boot";
import { log } from "../lib/log";
import { jsonMethodNotAllowed } from "../lib/http/method-not-allowed";
import { serveDirect } from "./direct-routes";

const root = path.resolve(import.meta.dirname, "..");

function clientAddressOf(req: IncomingMessage): string {
  const peer = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const loopback = peer === "::1" || peer.startsWith("127.");
  const real = req.headers["x-real-ip"];
  return loopback && typeof real === "string" && real.trim() ? real.trim().slice(0, 64) : peer;
}
process.chdir(root);
if (existsSync(".env")) process.loadEnvFile(".env");
(process.env as Record<string, string>).NODE_ENV ??= "production";

async function main() {
  let config;
  try {
    config = getConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  process.env.NEXTAUTH_URL ??= config.PUBLIC_URL ?? `http://localhost:${config.PORT}`;
  let running: Awaited<ReturnType<typeof boot>>;
  try {
    running = await boot();
  } catch (err) {
    if (err instanceof EmbeddedDatabaseLockedError) {
      console.error(err.message);
      process.exit(3);
    }
    throw err;
  }

  const app = next({ dev: false, dir: root, hostname: config.HOST, port: config.PORT });
  const handle = app.getRequestHandler();
  await app.prepare();
  const server = createServer((req, res) => {
    // Lets server components know the requested path (for sign-in redirects back to it).
    req.headers["x-sot-path"] = req.url ?? "/";
    // The client's address for per-address rate limits (lib/http/rate-limit.ts), always set here so a
    // client cannot choose it: the socket's peer, or X-Real-IP when the peer is a proxy on this machine.
    req.headers["x-sot-client-ip"] = clientAddressOf(req);
    // The hottest agent routes skip Next.js's pipeline (the same route handlers: scripts/direct-routes.ts).
    void serveDirect(req, res).then(
      (served) => {
        if (served) return;
        jsonMethodNotAllowed(req, res);
        void handle(req, res);
      },
      (err: Error) => {
        log("error", "direct route failed", { path: req.url, error: err.message });
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json; charset=utf-8" });
          res.end(JSON.stringify({ error: { code: "internal", message: "Something went wrong on our side." } }));
        } else res.destroy();
      },
    );
  });
  server.listen(config.PORT, config.HOST, () => {
    log("info", "listening", { url: `http://${config.HOST === "0.0.0.0" ? "localhost" : config.HOST}:${config.PORT}` });
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log("info", "stopping", { signal });
    server.close();
    server.closeAllConnections();
    await running.stop().catch(() => {});
    await closeQueue().catch(() => {});
    await flushUsage(); // ledger rows and settlements still being written
    await closeDb().catch(() => {});
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

main().catch((err) => {
  console.error(`Project SOT failed to start: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
