"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { useEffect } from "react";
import { useThemeStore } from "@/lib/theme";

const LINKS = [
  { href: "/", label: "Live" },
  { href: "/backtests/", label: "Backtests" },
];

export function AppHeader() {
  const pathname = usePathname();
  const theme = useThemeStore((s) => s.theme);
  const toggle = useThemeStore((s) => s.toggle);
  const sync = useThemeStore((s) => s.sync);
  useEffect(() => sync(), [sync]);
  return (
    <header className="flex h-11 items-center gap-4 border-b border-line bg-panel px-3">
      <Link href="/" className="flex items-center gap-2 font-extrabold tracking-tight">
        <span aria-hidden className="inline-block size-3 rotate-45 bg-accent" />
        <span>
          Alpha<span className="text-accent">Transformer</span>
        </span>
      </Link>
      <nav className="flex gap-1">
        {LINKS.map((link) => {
          const active = link.href === "/" ? pathname === "/" : pathname.startsWith(link.href.replace(/\/$/, ""));
          return (
            <Link
              key={link.href}
              href={link.href}
              aria-current={active ? "page" : undefined}
              className={`rounded px-2 py-1 text-xs font-semibold ${active ? "bg-sunken text-fg" : "text-muted hover:text-fg"}`}
            >
              {link.label}
            </Link>
          );
        })}
      </nav>
      <button
        type="button"
        onClick={toggle}
        aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
        data-testid="theme-toggle"
        className="ml-auto h-7 rounded border border-line px-2 text-xs whitespace-nowrap text-muted hover:text-fg"
      >
        {theme === "dark" ? "☾ Dark" : "☀ Light"}
      </button>
    </header>
  );
}
