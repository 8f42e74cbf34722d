import type { NextConfig } from "next";
import { SECURITY_HEADERS } from "./lib/http/security-headers";

const nextConfig: NextConfig = {
  // Packages with WebAssembly, native bindings or dynamic requires stay outside the bundle.
  serverExternalPackages: [
    "@electric-sql/pglite",
    "pglite-prisma-adapter",
    "@prisma/client",
    "@prisma/adapter-pg",
    "pg",
    "pg-boss",
    "@node-rs/argon2",
    "@aws-sdk/client-s3",
    "ioredis",
  ],
  poweredByHeader: false,
  // Test servers run from a hard-linked snapshot of the build (tests/helpers/app.ts), so a rebuild
  // by someone else in the same checkout cannot pull files from under a running server.
  distDir: process.env.SOT_NEXT_DIST_DIR || ".next",
  // CSP, nosniff, referrer policy, no framing: see lib/http/security-headers.ts.
  async headers() {
    return [{ source: "/:path*", headers: SECURITY_HEADERS }];
  },
  // Types are checked for the whole project (app, lib, workers, scripts, tests) by `npm run typecheck`,
  // which tests/unit/typecheck.test.ts runs; the build itself only compiles.
  typescript: { ignoreBuildErrors: true },
};

export default nextConfig;
