// "Waiting for approval": what every form shows when the action it started became an approval request
// (HTTP 202 with `status: "waiting_for_approval"`), so nobody mistakes a held action for a done one.
import Link from "next/link";
import type { PendingApprovalAnswer } from "@/lib/approvals/types";
import { StatusBadge } from "./status-badge";

/** The answer of a route whose action now waits for approval, or null for any other answer. */
export function asPendingApproval(value: unknown): PendingApprovalAnswer | null {
  return value && typeof value === "object" && (value as { status?: unknown }).status === "waiting_for_approval" ? (value as PendingApprovalAnswer) : null;
}

export function WaitingForApproval({ answer, linkToQueue = false, className = "" }: { answer: PendingApprovalAnswer; linkToQueue?: boolean; className?: string }) {
  const a = answer.approval;
  return (
    <div
      role="status"
      data-testid="waiting-for-approval"
      className={`space-y-1 rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm break-words text-amber-900 dark:border-amber-800 dark:bg-amber-950 dark:text-amber-100 ${className}`}
    >
      <p className="flex flex-wrap items-center gap-2 font-medium">
        <StatusBadge status="waiting_for_approval" /> Nothing has run yet.
      </p>
      <p>{answer.message}</p>
      <p className="text-xs">
        Request {a.id.slice(0, 8)} · {a.approvals} of {a.quorum} approvals · expires {a.expiresAt.slice(0, 16).replace("T", " ")} UTC
        {linkToQueue && (
          <>
            {" · "}
            <Link className="underline" href={`/admin/approvals?id=${a.id}`}>
              open the request
            </Link>
          </>
        )}
      </p>
    </div>
  );
}
