// The views of approval requests that /api/approvals and the Approvals page show: defined once, times as
// ISO strings. Arguments are ids, numbers and flags (each action's schema admits nothing else).
export type ApprovalStatus = "pending" | "approved" | "rejected" | "expired" | "executing" | "executed" | "failed";

export interface ApprovalDecisionView {
  approver: string;
  decision: "approve" | "reject";
  comment: string;
  at: string;
}

export interface ApprovalView {
  id: string;
  action: string;
  /** "Delete a collection", "Evaluation run over many items"… */
  actionLabel: string;
  args: Record<string, unknown>;
  /** sha256 of the action and its exact arguments: what the approval is bound to. */
  argsSha256: string;
  summary: string;
  status: ApprovalStatus;
  quorum: number;
  approvals: number;
  requestedBy: string;
  createdAt: string;
  expiresAt: string;
  decidedAt: string | null;
  executedAt: string | null;
  finishedAt: string | null;
  /** Who carried it out: "job" (right after approval) or the command that ran it. */
  executedBy: string | null;
  result: Record<string, unknown> | null;
  error: string | null;
  decisions: ApprovalDecisionView[];
  /** Whether the caller may decide it now (an admin other than the requester, not yet decided by them, still pending). */
  canDecide: boolean;
  /** Carried out by the app right after approval (true), or by the command that asked for it (false). */
  runsByItself: boolean;
}

/** What a route answers when the action it was asked for now waits for approval (HTTP 202). */
export interface PendingApprovalAnswer {
  status: "waiting_for_approval";
  message: string;
  approval: ApprovalView;
}
