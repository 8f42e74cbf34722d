import Link from "next/link";

export const metadata = { title: "Not allowed" };

export default async function ForbiddenPage({ searchParams }: { searchParams: Promise<{ need?: string }> }) {
  const { need } = await searchParams;
  return (
    <main className="mx-auto mt-24 max-w-md px-4">
      <h1 className="mb-2 text-2xl font-semibold">Not allowed</h1>
      <p className="text-sm text-zinc-500">
        This page needs the {need ? <strong>{need}</strong> : "right"} permission, which your account does not have. Ask an administrator.
      </p>
      <Link href="/" className="mt-4 inline-block text-sm underline">
        Back to Ask
      </Link>
    </main>
  );
}
