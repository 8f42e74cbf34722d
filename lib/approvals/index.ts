// Approvals for risky actions: see service.ts (requests, decisions, runApproved, expiry), actions.ts
// (what takes approval) and gates.ts (where the app's own risky actions ask for it).
export { APPROVAL_ACTIONS, getApprovalAction } from "./actions";
export { requestCollectionDeletion, requestSourceDeletion, startEvaluationRunOrAskApproval } from "./gates";
export {
  approvalJobs,
  decideApproval,
  executeApproval,
  expireApprovals,
  getApproval,
  listApprovals,
  requestApproval,
  requestCommandApproval,
  resumeApprovedActions,
  runApproved,
  waitingForApproval,
  type ApprovalView,
  type PendingApprovalAnswer,
} from "./service";
