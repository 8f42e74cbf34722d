"use client";
import { useEffect } from "react";

/** Scrolls the cited chunk (the section marked data-cited="true") into view once the page is shown. */
export function ScrollToCited({ targetId }: { targetId: string | null }) {
  useEffect(() => {
    if (!targetId) return;
    const el = document.getElementById(targetId);
    if (!el) return;
    el.scrollIntoView({ block: "center" });
    el.focus({ preventScroll: true });
  }, [targetId]);
  return null;
}
