"use client";
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { controlClass, Field } from "@/components/ui/field";
import { asPendingApproval, WaitingForApproval } from "@/components/ui/approval-notice";
import { FormError } from "@/components/ui/form-error";
import type { PendingApprovalAnswer } from "@/lib/approvals/types";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

/**
 * Starts an evaluation run of a dataset (POST /api/runs) and opens it; a run over APPROVAL_RUN_ITEMS items
 * waits for an admin's approval instead, which the form says plainly.
 */
export function StartRunForm({
  datasets,
  approvalLimit,
  canOpenQueue = false,
}: {
  datasets: Array<{ id: string; name: string; itemCount: number }>;
  /** APPROVAL_RUN_ITEMS: bigger runs wait for approval. */
  approvalLimit?: number;
  canOpenQueue?: boolean;
}) {
  const [error, setError] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<PendingApprovalAnswer | null>(null);
  const [busy, setBusy] = useState(false);
  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setWaiting(null);
    const datasetId = String(new FormData(e.currentTarget).get("datasetId"));
    try {
      const answer = await fetchJson<{ id: string }>("/api/runs", { method: "POST", json: { datasetId } });
      const pending = asPendingApproval(answer);
      if (pending) {
        setBusy(false);
        setWaiting(pending);
        return;
      }
      window.location.assign(`/evaluations/runs/${answer.id}`);
    } catch (err) {
      setBusy(false);
      setError(errorMessage(err));
    }
  }
  if (datasets.length === 0) return <p className="text-sm text-zinc-500">Create a dataset to run an evaluation.</p>;
  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-end gap-2" aria-label="Start a run">
      <Field label="Dataset" className="w-full sm:w-72">
        <select name="datasetId" className={controlClass}>
          {datasets.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name} ({d.itemCount} items{approvalLimit !== undefined && d.itemCount > approvalLimit ? ", needs approval" : ""})
            </option>
          ))}
        </select>
      </Field>
      <Button type="submit" variant="primary" disabled={busy}>
        {busy ? "Starting…" : "Start run"}
      </Button>
      <FormError message={error} className="w-full" />
      {waiting && <WaitingForApproval answer={waiting} linkToQueue={canOpenQueue} className="w-full" />}
    </form>
  );
}
