import Link from "next/link";
import { requirePagePrincipal } from "@/app/_server/principal";
import { ScheduleForm } from "@/components/schedules/schedule-form";
import { getDb } from "@/lib/db/client";
import { targetChoices } from "@/lib/schedules";

export const dynamic = "force-dynamic";

export default async function NewSchedulePage() {
  await requirePagePrincipal("admin");
  const choices = await targetChoices(await getDb());
  return (
    <div className="space-y-4">
      <Link href="/schedules" className="text-sm underline">
        ← Schedules
      </Link>
      <h1 className="text-2xl font-semibold">New schedule</h1>
      <ScheduleForm choices={choices} />
    </div>
  );
}
