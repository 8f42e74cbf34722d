import path from "node:path";
import { defineConfig } from "vitest/config";

// One run for every kind of test. Files run in separate processes (two at a time on this 2-core
// machine); database tests get a fresh database each (tests/helpers/db.ts), browser tests a fresh
// server each (tests/helpers/app.ts), so files never share state.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["tests/**/*.test.ts"],
    pool: "forks",
    maxWorkers: Number(process.env.TEST_WORKERS ?? 2),
    testTimeout: 60_000,
    hookTimeout: 300_000,
    globalSetup: ["tests/helpers/global-setup.ts"],
    reporters: process.env.CI ? ["default"] : ["default"],
  },
});
