"use client";
import { signOut } from "next-auth/react";
import { useEffect, useState } from "react";

export function UserMenu({ label, role }: { label: string; role: string }) {
  const [dark, setDark] = useState(false);
  useEffect(() => setDark(document.documentElement.classList.contains("dark")), []);
  function toggleTheme() {
    const next = !dark;
    document.documentElement.classList.toggle("dark", next);
    localStorage.setItem("sot-theme", next ? "dark" : "light");
    setDark(next);
  }
  return (
    <div className="flex items-center gap-2 text-sm">
      <button
        type="button"
        onClick={toggleTheme}
        className="rounded-md px-2 py-1 text-zinc-600 hover:bg-zinc-100 dark:text-zinc-300 dark:hover:bg-zinc-800"
        aria-label={dark ? "Switch to light mode" : "Switch to dark mode"}
      >
        {dark ? "☀" : "☾"}
      </button>
      <span className="hidden text-zinc-500 sm:inline" data-testid="user-label">
        {label} · {role}
      </span>
      <button
        type="button"
        onClick={() => signOut({ callbackUrl: "/signin" })}
        className="rounded-md border border-zinc-300 px-2 py-1 hover:bg-zinc-100 dark:border-zinc-700 dark:hover:bg-zinc-800"
      >
        Sign out
      </button>
    </div>
  );
}
