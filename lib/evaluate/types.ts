// What evaluation pages and their API calls show, defined once. Components import these with
// `import type` (erased from the browser bundle).
import type { TargetKind } from "./annotations";

/** A passage an answer was given: a title (a link only for http(s) addresses) and its text. */
export interface PassageView {
  title: string | null;
  url: string | null;
  text: string;
}

/** One question of a dataset, as the editor shows and sends it. */
export interface DatasetItemView {
  question: string;
  referenceAnswer: string | null;
  expectedSources: string[];
}

/** The annotation queue's next answer (GET /api/annotations/next). */
export interface AnnotationItemView {
  targetKind: TargetKind;
  targetId: string;
  question: string;
  answer: string;
  passages: PassageView[];
  referenceAnswer: string | null;
  /** Items still waiting for a human score (including this one), for the "n left" figure. */
  remaining: number;
}

/** Judge-vs-human agreement over the answers the caller may read (GET /api/annotations/agreement). */
export interface AgreementView {
  n: number;
  weightedKappa: number | null;
  exact: number | null;
  withinOne: number | null;
  meanAbsoluteError: number | null;
  mostDisagreeing: Array<{ itemId: string; judge: number; human: number; difference: number; label?: string; link: string | null }>;
}
