// lib/evaluate: the LLM judge, the scoring rule, datasets, evaluation runs and human annotation.
export { computeMetrics, type JudgedClaim, type Metrics, type ReferenceClaim, type Verdict } from "./scoring-rule";
export { computeAgreement, weightedKappa, type Agreement, type ScorePair } from "./agreement";
export { JUDGE_PROMPT_VERSION, type JudgeInput, type Passage } from "./judge-prompt";
export { runJudge, scoreOutput, storeJudgeScore, JudgeOutputError, type JudgeResult, type ScoreRequest, type ScoreResponse } from "./judge";
export { startEvaluationRun, resumeEvaluationRun, getEvaluationRun, evaluationRunStatus, processEvaluationRun, evaluateJobs, evaluationRunJob, type EvaluationRunView } from "./runs";
