// `npm run user:create -- --email a@b.c --role admin [--name "…"]`: password read from SOT_PASSWORD or
// asked for on the terminal (never passed as an argument, which would land in shell history).
import { parseArgs } from "node:util";
import { createInterface } from "node:readline/promises";
import { createUser } from "../lib/auth/users";
import type { Role } from "../lib/auth/roles";
import { closeDb, getDb } from "../lib/db/client";

const { values } = parseArgs({ options: { email: { type: "string" }, role: { type: "string", default: "viewer" }, name: { type: "string" } } });
if (!values.email) {
  console.error("usage: npm run user:create -- --email someone@example.com --role viewer|evaluator|admin [--name NAME]");
  process.exit(2);
}
let password = process.env.SOT_PASSWORD;
if (!password) {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  password = await rl.question("Password (10+ characters): ");
  rl.close();
}
try {
  const user = await createUser(await getDb(), { email: values.email, name: values.name, password, role: values.role as Role });
  console.log(`created ${user.role} ${user.email}`);
} catch (err) {
  const e = err as { message: string; details?: unknown };
  console.error(e.message, e.details ? JSON.stringify(e.details) : "");
  process.exitCode = 1;
} finally {
  await closeDb();
}
