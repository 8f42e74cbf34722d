"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

/** Resumes a run that stopped at a limit (POST /api/schedules/{id}/runs/{runId}/resume, the schedule's limits). */
export function ResumeRunButton({ scheduleId, runId }: { scheduleId: string; runId: string }) {
  const router = useRouter();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function resume() {
    setBusy(true);
    setError(null);
    try {
      await fetchJson(`/api/schedules/${scheduleId}/runs/${runId}/resume`, { method: "POST", json: {} });
      router.refresh();
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }
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
