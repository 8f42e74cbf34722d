import Link from "next/link";
import { requirePageAccess } from "@/app/_server/access";
import { AnnotationQueue } from "@/components/evaluations/annotation-queue";

export const dynamic = "force-dynamic";

export default async function AnnotationQueuePage() {
  await requirePageAccess("score");
  return (
    <div className="mx-auto max-w-3xl space-y-4">
      <div className="flex items-center justify-between">
        <h1 className="text-2xl font-semibold">Annotation queue</h1>
        <Link href="/evaluations" className="text-sm underline">
          ← Evaluations
        </Link>
      </div>
      <AnnotationQueue />
    </div>
  );
}
