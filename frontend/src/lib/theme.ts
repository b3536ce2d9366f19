import { create } from "zustand";

export type Theme = "dark" | "light";
const KEY = "alphatransformer.theme";

/** Runs before the first paint (inlined in <head>) so a reload never flashes the wrong theme. */
export const THEME_SCRIPT = `try{var t=localStorage.getItem("${KEY}");if(t!=="light"&&t!=="dark"){t=matchMedia("(prefers-color-scheme: light)").matches?"light":"dark"}document.documentElement.classList.toggle("dark",t==="dark")}catch(e){document.documentElement.classList.add("dark")}`;

function current(): Theme {
  if (typeof document === "undefined") return "dark";
  return document.documentElement.classList.contains("dark") ? "dark" : "light";
}

export const useThemeStore = create<{ theme: Theme; toggle: () => void; sync: () => void }>((set, get) => ({
  theme: "dark",
  sync: () => set({ theme: current() }),
  toggle: () => {
    const theme: Theme = get().theme === "dark" ? "light" : "dark";
    document.documentElement.classList.toggle("dark", theme === "dark");
    try {
      localStorage.setItem(KEY, theme);
    } catch {
      // not kept: fine
    }
    set({ theme });
  },
}));

/** A CSS colour variable's current value, for canvases (charts) that cannot use classes. */
export function cssColor(name: string, fallback: string): string {
  if (typeof document === "undefined") return fallback;
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}
