// Security headers for every answer (applied by next.config.ts headers()). The CSP allows inline
// scripts because Next.js streams its hydration data as inline <script> tags and app/layout.tsx sets
// the theme before first paint with one; a nonce-based policy would need every page rendered per
// request with the nonce threaded through. What the CSP still guarantees: no script, style, image or
// connection from another origin, no plugins, no <base> hijack, no framing, forms post only here.
// Wiki HTML never reaches the page as HTML (components/markdown.tsx), which is the XSS defence.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'unsafe-inline'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

export const SECURITY_HEADERS: Array<{ key: string; value: string }> = [
  { key: "Content-Security-Policy", value: CONTENT_SECURITY_POLICY },
  { key: "X-Content-Type-Options", value: "nosniff" },
  { key: "Referrer-Policy", value: "same-origin" },
  { key: "X-Frame-Options", value: "DENY" },
  { key: "Cross-Origin-Opener-Policy", value: "same-origin" },
  { key: "Permissions-Policy", value: "camera=(), microphone=(), geolocation=(), payment=(), usb=()" },
];
