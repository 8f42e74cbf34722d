import { HealthSummary } from "@/components/ui/health-summary";
import { checkHealth } from "@/lib/health";

export const dynamic = "force-dynamic";

// Placeholder until the Ask page lands: the health summary shows a new user what works and what is missing.
export default async function HomePage() {
  const health = await checkHealth();
  return (
    <div className="space-y-6">
      <h1 className="text-2xl font-semibold">Ask the wiki</h1>
      <HealthSummary health={health} />
    </div>
  );
}
