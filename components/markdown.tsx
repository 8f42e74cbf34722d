// Wiki content rendered as markdown, safely: react-markdown builds React elements from the markdown
// syntax tree and never injects HTML, so raw HTML in a page (<script>, <img onerror>, <iframe>) is
// dropped, and its URL filter turns javascript:, data: and vbscript: links into empty ones. Links go
// out with rel="noopener noreferrer nofollow"; images are shown as links (no tracking pixels, and the
// CSP forbids images from other origins anyway). Works in server and client components.
import Markdown, { defaultUrlTransform, type Components } from "react-markdown";
import remarkGfm from "remark-gfm";

/** Only http(s), mailto, in-page anchors and relative paths survive; everything else becomes "". */
export function safeUrl(url: string): string {
  const cleaned = defaultUrlTransform(url.trim());
  if (!cleaned) return "";
  if (/^(https?:|mailto:|#|\/(?!\/)|\.{0,2}\/)/i.test(cleaned) || !/^[a-z][a-z0-9+.-]*:/i.test(cleaned)) return cleaned;
  return "";
}

const components: Components = {
  a: ({ href, children, node: _node, ...rest }) => {
    const url = href ? safeUrl(href) : "";
    if (!url) return <span {...rest}>{children}</span>;
    const external = /^https?:/i.test(url);
    return (
      <a {...rest} href={url} {...(external ? { target: "_blank", rel: "noopener noreferrer nofollow" } : {})}>
        {children}
      </a>
    );
  },
  img: ({ src, alt }) => {
    const url = typeof src === "string" ? safeUrl(src) : "";
    const label = alt || "image";
    return url ? (
      <a href={url} target="_blank" rel="noopener noreferrer nofollow" className="italic">
        [{label}]
      </a>
    ) : (
      <span className="italic">[{label}]</span>
    );
  },
};

export function MarkdownContent({ children, className }: { children: string; className?: string }) {
  return (
    <div className={className ?? "prose prose-zinc max-w-none dark:prose-invert"} data-markdown="">
      <Markdown remarkPlugins={[remarkGfm]} skipHtml urlTransform={safeUrl} components={components}>
        {children}
      </Markdown>
    </div>
  );
}

export default MarkdownContent;
