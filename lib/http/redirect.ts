// Where the app may send a browser after sign-in (callbackUrl), after single sign-on (next-auth's
// redirect callback) and from pages: a path on this site, nothing else. A value from a query string
// is hostile until proved otherwise, and browsers are generous readers of URLs: "/\evil.example",
// "/%5Cevil.example" (decoded once by the page), "/\t/evil.example" (tabs and newlines are dropped)
// and "//evil.example" all lead off-site. So the rule is strict and simple: after decoding as often
// as a chain of redirects might, the value is a path starting with one "/", with no backslash, no
// control character, no encoded slash or backslash; anything else becomes the fallback ("/").

const BASE = "http://sot.invalid";
const MAX_LENGTH = 2048;
const MAX_DECODES = 4;

/** Why a decoded form of a redirect target is refused, or null when it is a plain same-site path. */
function refusal(form: string): string | null {
  if (!form.startsWith("/")) return "not a path";
  if (form[1] === "/" || form[1] === "\\") return "protocol-relative";
  if (form.includes("\\")) return "backslash";
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(form)) return "control character";
  if (/%(2f|5c)/i.test(form)) return "encoded slash or backslash";
  return null;
}

/**
 * `target` when it is a same-site path (e.g. "/evaluations?tab=runs#x"), else `fallback`. Every
 * decoded form of the value must pass, so no later decoding step can turn it into another site.
 */
export function safeRedirectPath(target: unknown, fallback = "/"): string {
  if (typeof target !== "string" || target.length === 0 || target.length > MAX_LENGTH) return fallback;
  let form = target;
  for (let i = 0; i <= MAX_DECODES; i++) {
    if (refusal(form)) return fallback;
    let decoded: string;
    try {
      decoded = decodeURIComponent(form);
    } catch {
      return fallback; // a malformed escape: no browser agrees on what it means
    }
    if (decoded === form) break;
    if (i === MAX_DECODES) return fallback;
    form = decoded;
  }
  // The URL parser is the final judge: the path must stay on the base origin.
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    return fallback;
  }
  if (url.origin !== BASE) return fallback;
  // Dot segments resolve away: "/..//evil.example" is the path "//evil.example", which any later
  // reader that takes the path alone (a page redirecting to its own pathname) sends off-site.
  if (refusal(url.pathname)) return fallback;
  return target;
}

/**
 * next-auth's redirect callback: `url` is a path (relative to `baseUrl`) or an absolute URL, accepted
 * only on `baseUrl`'s origin. Returns an absolute URL whose path passed `safeRedirectPath`, else `baseUrl`.
 */
export function sameOriginRedirect(url: string, baseUrl: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  if (url.startsWith("/")) {
    const safe = safeRedirectPath(url, "");
    return safe ? `${base}${safe}` : base;
  }
  let parsed: URL;
  let origin: string;
  try {
    parsed = new URL(url);
    origin = new URL(base).origin;
  } catch {
    return base;
  }
  if (parsed.origin !== origin) return base;
  const safe = safeRedirectPath(parsed.pathname + parsed.search + parsed.hash, "");
  return safe ? `${origin}${safe}` : base;
}
