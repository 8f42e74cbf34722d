// The Ask pipeline and its parts. `ask()` is the one entry point (POST /api/evaluate, evaluation runs).
export { ask, noModelAnswer, NO_MODEL_PREFIX, type AskOptions } from "./ask";
export { CitationParser } from "./citations";
export { NOT_COVERED_TEXT, PROMPT_VERSION, SYSTEM_PROMPT } from "./prompt";
export { askInputSchema, type AskCitation, type AskEvent, type AskInput, type AskResult, type AskSource, type AskStatus } from "./types";
export * from "./conversations";
export * from "./feedback";
export { askHttp, sseFrame } from "./http";
export { readSse } from "./sse";
