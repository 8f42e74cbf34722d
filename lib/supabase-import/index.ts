// Moving in from Supabase / Lovable: the old chunk table and the old evaluation scores.
export { moveIn, OLD_VECTORS_NOT_REUSED, type MoveInInput, type MoveInOptions, type MoveInReport } from "./move-in";
export { importScores, IMPORTED_JUDGE, type ScoresReport } from "./scores";
export { redactUrl, type ExportInput } from "./reader";
export { moveInFromUpload, type MoveInUpload } from "./upload";
