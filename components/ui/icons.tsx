// Inline SVG icons (Lucide-style strokes): they render the same on every machine, unlike emoji, which
// show as empty boxes where no emoji font is installed. Decorative by default (aria-hidden): give the
// button or link around them its accessible name.
import type { SVGProps } from "react";

type IconProps = SVGProps<SVGSVGElement> & { size?: number };

function Svg({ size = 16, children, ...props }: IconProps & { children: React.ReactNode }) {
  return (
    <svg
      xmlns="http://www.w3.org/2000/svg"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={2}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden
      focusable="false"
      {...props}
    >
      {children}
    </svg>
  );
}

export const ThumbUpIcon = (p: IconProps) => (
  <Svg data-icon="thumb-up" {...p}>
    <path d="M7 10v12" />
    <path d="M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z" />
  </Svg>
);
export const ThumbDownIcon = (p: IconProps) => (
  <Svg data-icon="thumb-down" {...p}>
    <path d="M17 14V2" />
    <path d="M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z" />
  </Svg>
);
export const StopIcon = (p: IconProps) => (
  <Svg data-icon="stop" {...p}>
    <rect x="6" y="6" width="12" height="12" rx="1" />
  </Svg>
);
export const RefreshIcon = (p: IconProps) => (
  <Svg data-icon="refresh" {...p}>
    <path d="M21 12a9 9 0 1 1-3-6.7L21 8" />
    <path d="M21 3v5h-5" />
  </Svg>
);
export const CopyIcon = (p: IconProps) => (
  <Svg data-icon="copy" {...p}>
    <rect x="9" y="9" width="13" height="13" rx="2" />
    <path d="M5 15H4a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2h9a2 2 0 0 1 2 2v1" />
  </Svg>
);
export const PlusIcon = (p: IconProps) => (
  <Svg data-icon="plus" {...p}>
    <path d="M12 5v14M5 12h14" />
  </Svg>
);
export const SunIcon = (p: IconProps) => (
  <Svg data-icon="sun" {...p}>
    <circle cx="12" cy="12" r="4" />
    <path d="M12 2v2M12 20v2M4.93 4.93l1.41 1.41M17.66 17.66l1.41 1.41M2 12h2M20 12h2M6.34 17.66l-1.41 1.41M19.07 4.93l-1.41 1.41" />
  </Svg>
);
export const MoonIcon = (p: IconProps) => (
  <Svg data-icon="moon" {...p}>
    <path d="M12 3a6 6 0 0 0 9 9 9 9 0 1 1-9-9Z" />
  </Svg>
);
export const ArrowRightIcon = (p: IconProps) => (
  <Svg data-icon="arrow-right" {...p}>
    <path d="M5 12h14M13 6l6 6-6 6" />
  </Svg>
);
export const SortIcon = ({ sortOrder: direction, ...p }: IconProps & { sortOrder: "asc" | "desc" | null }) => (
  <Svg data-icon={`sort-${direction ?? "none"}`} size={12} {...p}>
    {direction !== "desc" && <path d="m7 9 5-5 5 5" opacity={direction === "asc" ? 1 : 0.35} />}
    {direction !== "asc" && <path d="m7 15 5 5 5-5" opacity={direction === "desc" ? 1 : 0.35} />}
  </Svg>
);
