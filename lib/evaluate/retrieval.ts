// Passages for `retrieve: true` scoring: the wiki's own retrieval, limited to what the caller may read.
import { UnavailableError } from "../errors";
import type { Principal } from "../auth/roles";
import type { Passage } from "./judge";

export async function retrievePassages(_question: string, _principal: Principal, _collectionIds?: string[]): Promise<Passage[]> {
  // Wired to lib/retrieve once the ask/retrieval area lands it (see the report).
  throw new UnavailableError("Retrieval is not available yet; send the passages with the request.");
}
