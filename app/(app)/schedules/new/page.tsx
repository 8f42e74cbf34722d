import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { ScheduleForm } from "@/components/schedules/schedule-form";
import { targetChoices } from "@/lib/schedules";

export const dynamic = "force-dynamic";

export default async function NewSchedulePage() {
  const access = await requirePageAccess("admin");
  const choices = await targetChoices(access);
  return (
    <div className="space-y-4">
      <Link href="/schedules" className="text-sm underline">
        ← Schedules
      </Link>
      <h1 className="text-2xl font-semibold">New schedule</h1>
      <ScheduleForm choices={choices} defaultRunAs={access.onBehalfOf} />
    </div>
  );
}
