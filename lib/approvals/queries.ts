// The approvals' SQL. Every status change is a compare-and-set (`… WHERE status = <expected>`): when two
// processes (or two clicks) try the same step, PostgreSQL's row lock makes the second re-check the
// condition after the first committed, find it false, and change nothing.
import type { SqlRunner } from "../db/sql-runner";

export interface ApprovalRow {
  id: string;
  action: string;
  args: Record<string, unknown>;
  args_sha256: string;
  status: string;
  quorum: number;
  requested_by_user_id: string | null;
  requested_by_api_key_id: string | null;
  requester_ref: unknown;
  expires_at: Date;
  expired: boolean;
}

const COLUMNS = `id::text, action, args, args_sha256, status, quorum, requested_by_user_id::text, requested_by_api_key_id::text,
  requester_ref, expires_at, expires_at <= now() AS expired`;

/** The request, locked until the transaction ends (decisions on one request are taken one at a time). */
export async function lockApproval(tx: SqlRunner, id: string): Promise<ApprovalRow | null> {
  const rows = await tx.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE id = $1::uuid FOR UPDATE`, [id]);
  return rows[0] ?? null;
}

export async function readApproval(sql: SqlRunner, id: string): Promise<ApprovalRow | null> {
  const rows = await sql.query<ApprovalRow>(`SELECT ${COLUMNS} FROM approvals WHERE id = $1::uuid`, [id]);
  return rows[0] ?? null;
}

/** One decision per approver: false when this approver had decided already. */
export async function insertDecision(
  tx: SqlRunner,
  d: { approvalId: string; userId: string; label: string; decision: "approve" | "reject"; comment: string },
): Promise<boolean> {
  const rows = await tx<{ id: string }>`
    INSERT INTO approval_decisions (approval_id, approver_user_id, approver_label, decision, comment)
    VALUES (${d.approvalId}::uuid, ${d.userId}::uuid, ${d.label}, ${d.decision}, ${d.comment})
    ON CONFLICT (approval_id, approver_user_id) DO NOTHING
    RETURNING id::text`;
  return rows.length === 1;
}

export async function approvalCount(tx: SqlRunner, approvalId: string): Promise<number> {
  const [row] = await tx<{ n: number }>`
    SELECT count(*)::int AS n FROM approval_decisions WHERE approval_id = ${approvalId}::uuid AND decision = 'approve'`;
  return row.n;
}

/** pending → approved | rejected, once. */
export async function closePending(tx: SqlRunner, id: string, to: "approved" | "rejected"): Promise<boolean> {
  const rows = await tx<{ id: string }>`
    UPDATE approvals SET status = ${to}, decided_at = now(), finished_at = CASE WHEN ${to} = 'rejected' THEN now() END
    WHERE id = ${id}::uuid AND status = 'pending' AND expires_at > now()
    RETURNING id::text`;
  return rows.length === 1;
}

/**
 * approved → executing, once, and only for the very arguments that were approved and before the request
 * expires: the one compare-and-set every way of carrying out an approved action goes through.
 */
export async function claimForExecution(sql: SqlRunner, id: string, argsSha256: string, executedBy: string): Promise<boolean> {
  const rows = await sql<{ id: string }>`
    UPDATE approvals SET status = 'executing', executed_at = now(), executed_by = ${executedBy}
    WHERE id = ${id}::uuid AND status = 'approved' AND args_sha256 = ${argsSha256} AND expires_at > now()
    RETURNING id::text`;
  return rows.length === 1;
}

/** executing → executed | failed, once. */
export async function finishExecution(sql: SqlRunner, id: string, outcome: { status: "executed" | "failed"; result?: unknown; error?: string }): Promise<boolean> {
  const rows = await sql<{ id: string }>`
    UPDATE approvals SET status = ${outcome.status}, finished_at = now(),
      result = ${outcome.result === undefined ? null : JSON.stringify(outcome.result)}::jsonb, error = ${outcome.error ?? null}
    WHERE id = ${id}::uuid AND status = 'executing'
    RETURNING id::text`;
  return rows.length === 1;
}

/**
 * Requests past their expiry that were still waiting (for decisions, or approved for a command that never
 * ran it) become "expired" — each exactly once, however many scheduler processes sweep at the same time —
 * and the audit entry is written by the same statement, so no crash can separate the two.
 */
export function expireDue(sql: SqlRunner, limit = 500): Promise<Array<{ id: string; action: string }>> {
  return sql<{ id: string; action: string }>`
    WITH expired AS (
      UPDATE approvals SET status = 'expired', finished_at = now()
      WHERE id IN (
        SELECT id FROM approvals WHERE status IN ('pending', 'approved') AND expires_at <= now()
        ORDER BY expires_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      AND status IN ('pending', 'approved') AND expires_at <= now()
      RETURNING id, action),
    audited AS (
      INSERT INTO audit_log (actor_label, action, target, details)
      SELECT 'system', 'approval.expire', 'approval:' || e.id::text, jsonb_build_object('action', e.action) FROM expired e)
    SELECT id::text, action FROM expired`;
}

/** Approved requests still waiting to be carried out `olderThanSeconds` after approval (their job was lost). */
export function approvedNotCarriedOut(sql: SqlRunner, actions: string[], olderThanSeconds: number): Promise<Array<{ id: string }>> {
  return sql<{ id: string }>`
    SELECT id::text FROM approvals
    WHERE status = 'approved' AND action = ANY(${actions}::text[]) AND expires_at > now()
      AND decided_at < now() - ${olderThanSeconds}::int * interval '1 second'
    ORDER BY decided_at LIMIT 20`;
}
