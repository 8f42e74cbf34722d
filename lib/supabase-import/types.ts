// The views of a move-in that the UI shows (components import these types only).
import type { ImportJobView } from "../ingest/import-jobs";
import type { Field } from "./shape";

export interface MoveInReport {
  dryRun: boolean;
  format: "sql" | "csv" | "postgres";
  table: string;
  /** Where each field was found: "content", "metadata.title", … (null: not found). */
  shape: Record<Field, string | null>;
  rows: number;
  /** Rows that become chunks of pages (not empty, not a repeat). */
  chunks: number;
  emptyChunks: number;
  /** Rows whose text repeats an earlier row of the same page (skipped). */
  duplicateChunks: number;
  documents: number;
  /** How the documents were grouped: count per rule. */
  groupedBy: Record<"page id" | "url" | "title" | "row", number>;
  embedding: { column: string | null; dimension: number | null; rowsWithOtherDimension: number; modelGuess: string; reused: false; why: string; localModel: string };
  /** `id` null: a collection that does not exist yet (a dry run's). */
  collection: { id: string | null; slug: string; name: string };
  /** The first few documents, as they would be imported. */
  sample: Array<{ title: string | null; url: string | null; chunks: number }>;
  warnings: string[];
  /** Earlier move-ins of this collection that never finished and were closed by this one. */
  superseded?: number;
  job?: ImportJobView;
}
