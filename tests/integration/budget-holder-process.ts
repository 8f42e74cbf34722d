// A process that reserves on a user's budget and then waits to be killed (budget-leases.test.ts: what a
// process that dies holding reservations leaves, and who gives it back). Reserves `count` pieces of work of
// `tokens` tokens each, without releasing them, then prints "reserved" and waits.
//   node --import tsx tests/integration/budget-holder-process.ts <database url> <user id> <count> <tokens>
import { openPostgres, setDb } from "@/lib/db/client";
import { reserveForWork } from "@/lib/usage/meter";
import { usageScopeFor } from "@/lib/usage/scope";
import { accessOf } from "@/tests/helpers/auth";

const [url, userId, count, tokens] = process.argv.slice(2);
const db = await openPostgres(url!, { poolSize: 2 });
setDb(db);
const scope = usageScopeFor(await accessOf(db, { id: userId! }));
for (let i = 0; i < Number(count); i++) await reserveForWork(scope, { tokens: Number(tokens), gpuSeconds: 0 });
process.stdout.write("reserved\n");
setInterval(() => {}, 60_000);
