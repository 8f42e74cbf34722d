import { route } from "@/lib/http/route";
import { nextQueueItem } from "@/lib/evaluate/annotations";

export const dynamic = "force-dynamic";

/** The next answer the caller may read that waits for their score, or { item: null }. */
export const GET = route({ permission: "score" }, async ({ access }) => ({ item: await nextQueueItem(access) }));
