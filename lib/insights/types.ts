// The figures the Insights page and /api/insights show (and the digest sends as counts): defined once,
// times as ISO strings.
export interface InsightFigures {
  from: string;
  to: string;
  days: number;
  questions: number;
  /** Answers that said "the wiki does not cover this". */
  notCovered: number;
  notCoveredShare: number | null;
  thumbsDown: number;
  thumbsUp: number;
  /** One entry per UTC day of the range. */
  daily: Array<{ day: string; questions: number; notCovered: number; thumbsDown: number }>;
  /** The most frequent uncovered questions; null when question text is not logged (LOG_QUERY_TEXT=false). */
  uncoveredTopics: Array<{ question: string; count: number; lastAt: string }> | null;
  /** Whose questions the topics come from: an admin sees everyone's, anyone else their own. */
  topicsScope: "everyone" | "yours";
  runs: Array<{ id: string; at: string; avgHallucination: number | null; itemCount: number; dataset: string }>;
  avgHallucination: number | null;
  /** EVAL_ALERT_THRESHOLD. */
  target: number;
  imports: { succeeded: number; failed: number; running: number };
  /** Admins only (backups concern the whole instance). */
  backups: { succeeded: number; failed: number } | null;
  /** Null until the usage ledger records GPU time. */
  gpuSeconds: number | null;
}
