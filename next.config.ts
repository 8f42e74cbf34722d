import type { NextConfig } from "next";

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
  ],
  poweredByHeader: false,
  typescript: { ignoreBuildErrors: false },
};

export default nextConfig;
