// The API is the page's own origin (the dashboard is served by the API server). For `next dev`,
// NEXT_PUBLIC_API_BASE points at a running server instead (a URL, never a secret).
export function apiBase(): string {
  return process.env.NEXT_PUBLIC_API_BASE ?? "";
}

export function wsUrl(path: string, params: Record<string, string | null | undefined> = {}): string {
  const base = apiBase() || (typeof window !== "undefined" ? window.location.origin : "");
  const url = new URL(path, base || "http://127.0.0.1:8000");
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  for (const [key, value] of Object.entries(params)) {
    if (value) url.searchParams.set(key, value);
  }
  return url.toString();
}
