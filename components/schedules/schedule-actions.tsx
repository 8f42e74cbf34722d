"use client";
import { useEffect, useState } from "react";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { FormError, FormNotice } from "@/components/ui/form-error";
import { usePageAction } from "@/components/ui/use-page-action";
import { fetchJson } from "@/lib/http/client-fetch";

/** Run now, enable/disable and (optionally) delete, through the schedules API; the page re-renders after. */
export function ScheduleActions({ id, name, enabled, showDelete = false }: { id: string; name: string; enabled: boolean; showDelete?: boolean }) {
  const { run, busy, error } = usePageAction();
  const [notice, setNotice] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);

  async function call(path: string, method: string, done: string) {
    setNotice(null);
    if (!(await run(() => fetchJson(`/api/schedules/${id}${path}`, { method })))) return;
    if (method === "DELETE") window.location.assign("/schedules");
    else setNotice(done);
  }

  return (
    <div className="flex flex-wrap items-center gap-2" aria-label={`Actions for ${name}`} role="group" data-ready={ready ? "true" : undefined}>
      <Button size="sm" disabled={busy} onClick={() => call("/run-now", "POST", "Run started.")}>
        Run now
      </Button>
      <Button size="sm" disabled={busy} onClick={() => call(enabled ? "/disable" : "/enable", "POST", enabled ? "Disabled." : "Enabled.")}>
        {enabled ? "Disable" : "Enable"}
      </Button>
      {showDelete && (
        <>
          <Button size="sm" variant="danger" disabled={busy} onClick={() => setConfirming(true)}>
            Delete
          </Button>
          <ConfirmDialog
            open={confirming}
            title={`Delete the schedule “${name}”?`}
            confirmLabel="Delete schedule"
            onCancel={() => setConfirming(false)}
            onConfirm={() => {
              setConfirming(false);
              void call("", "DELETE", "Deleted.");
            }}
          >
            Its history goes with it. Runs it started (evaluation runs, backups, imports) stay.
          </ConfirmDialog>
        </>
      )}
      <FormNotice message={notice} />
      <FormError message={error} className="w-full" />
    </div>
  );
}
