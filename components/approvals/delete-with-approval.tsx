"use client";
// A delete that waits for approval: asks first, sends DELETE, and shows the request it became (nothing is
// deleted until another admin approves).
import { useState } from "react";
import { Button } from "@/components/ui/button";
import { asPendingApproval, WaitingForApproval } from "@/components/ui/approval-notice";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { FormError } from "@/components/ui/form-error";
import type { PendingApprovalAnswer } from "@/lib/approvals/types";
import { errorMessage, fetchJson } from "@/lib/http/client-fetch";

export function DeleteWithApproval({ url, what, testId }: { url: string; /** "collection Handbook" */ what: string; testId?: string }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<PendingApprovalAnswer | null>(null);
  async function ask() {
    setOpen(false);
    setBusy(true);
    setError(null);
    try {
      setWaiting(asPendingApproval(await fetchJson(url, { method: "DELETE" })));
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="space-y-2" data-testid={testId}>
      <Button size="sm" variant="danger" disabled={busy || waiting !== null} onClick={() => setOpen(true)}>
        {waiting ? "Deletion requested" : `Delete ${what.split(" ")[0]}…`}
      </Button>
      <ConfirmDialog open={open} title={`Delete ${what}?`} confirmLabel="Ask for approval" onCancel={() => setOpen(false)} onConfirm={() => void ask()}>
        Everything in it goes with it. Another admin must approve before anything is deleted.
      </ConfirmDialog>
      <FormError message={error} />
      {waiting && <WaitingForApproval answer={waiting} linkToQueue />}
    </div>
  );
}
