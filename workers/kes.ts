// The key service: `npm run worker:kes`. Holds the master keys (MASTER_KEYS or MASTER_KEY_FILE in ITS
// environment only) and serves lib/kes over HTTP to the services listed in KES_SERVICE_TOKENS.
import { getConfig } from "@/lib/config";
import { getKeyRing } from "@/lib/crypto/keys";
import { getDb } from "@/lib/db/client";
import { serviceTable } from "@/lib/kes/protocol";
import { startKesServer } from "@/lib/kes/server";
import { log } from "@/lib/log";

const config = getConfig();
if (!config.KES_SERVICE_TOKENS) {
  console.error("kes: KES_SERVICE_TOKENS is not set: no service could call KES. Set <service name>:<token>, e.g. sot-web:$(openssl rand -base64 32).");
  process.exit(2);
}
const ring = await getKeyRing().catch((err: Error) => {
  console.error(`kes: ${err.message}`);
  process.exit(2);
});
const db = await getDb();
const services = serviceTable(config.KES_SERVICE_TOKENS);
const server = await startKesServer({ db, ring, services }, { host: config.KES_HOST, port: config.KES_PORT });
log("info", "kes listening", { url: server.url, services: [...services.values()], masterKeyId: ring.current.id });
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void server.close().then(() => process.exit(0)));
}
