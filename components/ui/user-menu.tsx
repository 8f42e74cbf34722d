"use client";
import { signOut } from "next-auth/react";
import { useEffect, useState } from "react";
import { Button } from "./button";
import { MoonIcon, SunIcon } from "./icons";

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
      <Button variant="ghost" size="sm" onClick={toggleTheme} aria-label={dark ? "Switch to light mode" : "Switch to dark mode"}>
        {dark ? <SunIcon /> : <MoonIcon />}
      </Button>
      <span className="hidden max-w-48 truncate text-zinc-500 sm:inline" data-testid="user-label">
        {label} · {role}
      </span>
      <Button size="sm" onClick={() => signOut({ callbackUrl: "/signin" })}>
        Sign out
      </Button>
    </div>
  );
}
