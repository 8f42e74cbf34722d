"use client";
// The approval queue: each pending request with what it would do, its exact arguments and their hash, and
// (for an admin other than the requester) a comment and Approve / Reject.
import { useState } from "react";
import { usePageAction } from "@/components/ui/use-page-action";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { controlClass, Field } from "@/components/ui/field";
import { FormError } from "@/components/ui/form-error";
import { StatusBadge } from "@/components/ui/status-badge";
import type { ApprovalView } from "@/lib/approvals/types";
import { fetchJson } from "@/lib/http/client-fetch";

const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace("T", " ") + " UTC" : "—");

export function ApprovalCard({ approval, focused = false }: { approval: ApprovalView; focused?: boolean }) {
  const { run, busy, error } = usePageAction();
  const [comment, setComment] = useState("");
  const [confirming, setConfirming] = useState<"approve" | "reject" | null>(null);
  const decide = (decision: "approve" | "reject") =>
    run(() => fetchJson(`/api/approvals/${approval.id}/decision`, { method: "POST", json: { decision, comment } }));
  return (
    <article
      data-testid="approval"
      data-approval-id={approval.id}
      data-status={approval.status}
      className={`min-w-0 space-y-2 rounded-lg border p-3 ${focused ? "border-sky-500 ring-2 ring-sky-300 dark:ring-sky-800" : "border-zinc-200 dark:border-zinc-800"}`}
    >
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h3 className="font-medium break-words">{approval.actionLabel}</h3>
        <StatusBadge status={approval.status} />
      </div>
      <p className="text-sm break-words">{approval.summary}</p>
      <dl className="grid grid-cols-1 gap-x-3 gap-y-0.5 text-xs text-zinc-600 sm:grid-cols-[max-content_minmax(0,1fr)] dark:text-zinc-400">
        <dt>Asked by</dt>
        <dd className="break-words">
          {approval.requestedBy} · {when(approval.createdAt)}
        </dd>
        <dt>Approvals</dt>
        <dd>
          {approval.approvals} of {approval.quorum}
        </dd>
        <dt>Expires</dt>
        <dd>{when(approval.expiresAt)}</dd>
        <dt>Runs</dt>
        <dd>{approval.runsByItself ? "by itself, right after approval" : "when its command is run with this request's id"}</dd>
        <dt>Arguments</dt>
        <dd className="min-w-0">
          <pre className="overflow-x-auto rounded bg-zinc-50 p-1 dark:bg-zinc-900">{JSON.stringify(approval.args, null, 1)}</pre>
          <span className="font-mono break-all">sha256 {approval.argsSha256}</span>
        </dd>
        {approval.error && (
          <>
            <dt>Error</dt>
            <dd className="break-words text-red-700 dark:text-red-300">{approval.error}</dd>
          </>
        )}
        {approval.result && (
          <>
            <dt>Result</dt>
            <dd className="font-mono break-all">{JSON.stringify(approval.result)}</dd>
          </>
        )}
      </dl>
      {approval.decisions.length > 0 && (
        <ul className="space-y-1 text-sm" aria-label="Decisions">
          {approval.decisions.map((d, i) => (
            <li key={i} className="break-words">
              <StatusBadge status={d.decision === "approve" ? "approved" : "rejected"} label={d.decision === "approve" ? "approved" : "rejected"} /> {d.approver}: {d.comment}
            </li>
          ))}
        </ul>
      )}
      {approval.canDecide ? (
        <div className="space-y-2">
          <Field label="Comment (required)">
            <textarea name="comment" rows={2} value={comment} onChange={(e) => setComment(e.target.value)} className={controlClass} placeholder="Why you approve or reject" />
          </Field>
          <div className="flex flex-wrap gap-2">
            <Button variant="primary" disabled={busy || !comment.trim()} onClick={() => setConfirming("approve")}>
              Approve
            </Button>
            <Button variant="danger" disabled={busy || !comment.trim()} onClick={() => setConfirming("reject")}>
              Reject
            </Button>
          </div>
          <FormError message={error} />
          <ConfirmDialog
            open={confirming !== null}
            title={confirming === "approve" ? "Approve this action?" : "Reject this request?"}
            confirmLabel={confirming === "approve" ? "Approve" : "Reject"}
            danger={confirming === "reject"}
            onCancel={() => setConfirming(null)}
            onConfirm={() => {
              const d = confirming!;
              setConfirming(null);
              void decide(d);
            }}
          >
            {confirming === "approve" && approval.approvals + 1 >= approval.quorum && approval.runsByItself ? "This is the last approval needed: the action runs right away." : approval.summary}
          </ConfirmDialog>
        </div>
      ) : (
        approval.status === "pending" && <p className="text-xs text-zinc-500">Waiting for an admin other than the requester.</p>
      )}
    </article>
  );
}
