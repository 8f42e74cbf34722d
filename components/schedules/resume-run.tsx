"use client";
import { Button } from "@/components/ui/button";
import { usePageAction } from "@/components/ui/use-page-action";
import { fetchJson } from "@/lib/http/client-fetch";

/** Resumes a run that stopped at a limit (POST /api/schedules/{id}/runs/{runId}/resume, the schedule's limits). */
export function ResumeRunButton({ scheduleId, runId }: { scheduleId: string; runId: string }) {
  const { run, busy, error } = usePageAction();
  const resume = () => run(() => fetchJson(`/api/schedules/${scheduleId}/runs/${runId}/resume`, { method: "POST", json: {} }));
  return (
    <span className="inline-flex flex-col items-start gap-1">
      <Button size="sm" disabled={busy} onClick={resume} data-testid="resume-run">
        {busy ? "Resuming…" : "Resume"}
      </Button>
      {error && (
        <span role="alert" className="text-xs text-red-600">
          {error}
        </span>
      )}
    </span>
  );
}
