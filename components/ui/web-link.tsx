// A stored address (a wiki source's or a passage's URL) shown as a link only when it is an http(s) web
// page (webUrl, components/ask/source-link.ts); otherwise the label is shown as plain text.
import { webUrl } from "@/components/ask/source-link";

export function WebLink({ url, children, className }: { url: string | null | undefined; children: React.ReactNode; className?: string }) {
  const href = webUrl(url);
  if (!href) return <span className={className}>{children}</span>;
  return (
    <a href={href} target="_blank" rel="noopener noreferrer nofollow" className={className}>
      {children}
    </a>
  );
}
