import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { ScheduleForm } from "@/components/schedules/schedule-form";
import { getDb } from "@/lib/db/client";
import { targetChoices } from "@/lib/schedules";

export const dynamic = "force-dynamic";

export default async function NewSchedulePage() {
  await requirePageAccess("admin");
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
