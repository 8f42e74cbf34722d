import type { Health } from "@/lib/health";

function Dot({ state }: { state: "ok" | "warn" | "down" }) {
  const color = state === "ok" ? "bg-emerald-500" : state === "warn" ? "bg-amber-500" : "bg-red-500";
  return <span className={`inline-block h-2.5 w-2.5 rounded-full ${color}`} aria-hidden />;
}

/** What works and what is missing, in words a new user understands. */
export function HealthSummary({ health }: { health: Health }) {
  const { database, ollama, queue } = health;
  const paused = ollama.breakers.filter((b) => b.state === "open");
  const rows: Array<{ name: string; state: "ok" | "warn" | "down"; text: string }> = [
    {
      name: "Database",
      state: database.ok ? "ok" : "down",
      text: database.ok
        ? `${database.kind === "pglite" ? "Embedded PostgreSQL (PGlite)" : "PostgreSQL"} · pgvector ${database.pgvector} · ${database.migrations?.applied} migrations · ${database.latencyMs} ms`
        : `Not available: ${database.error ?? "unknown error"}`,
    },
    {
      name: "Models (Ollama)",
      state: !ollama.reachable || ollama.missing.length || paused.length ? "warn" : "ok",
      text:
        (!ollama.reachable
          ? `Not reachable at ${ollama.host}: answers fall back to the best wiki passages, marked "no model available".`
          : ollama.missing.length
            ? `Reachable; missing models: ${ollama.missing.join(", ")} (ollama pull …)`
            : `Reachable · ${ollama.models.map((m) => `${m.role}: ${m.name}`).join(" · ")}`) +
        paused.map((b) => ` · ${b.model} paused after ${b.consecutiveFailures} failed calls, next try ${b.retryAt ? new Date(b.retryAt).toLocaleTimeString() : "soon"}`).join(""),
    },
    {
      name: "Background jobs",
      state: queue.ok ? "ok" : "down",
      text: queue.ok
        ? `Workers ${queue.workers} · ${queue.depth.reduce((s, q) => s + q.queued + q.active, 0)} jobs waiting or running`
        : `Not available: ${queue.error ?? "unknown error"}`,
    },
  ];
  return (
    <section aria-labelledby="health-title" data-testid="health-summary" className="rounded-lg border border-zinc-200 p-4 dark:border-zinc-800">
      <h2 id="health-title" className="mb-3 text-sm font-semibold uppercase tracking-wide text-zinc-500">
        System status: <span data-testid="health-status">{health.status}</span>
      </h2>
      <ul className="space-y-2 text-sm">
        {rows.map((r) => (
          <li key={r.name} className="flex items-start gap-2" data-testid={`health-${r.name.split(" ")[0]!.toLowerCase()}`}>
            <span className="mt-1.5">
              <Dot state={r.state} />
            </span>
            <span>
              <strong className="font-medium">{r.name}:</strong> {r.text}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
