import { create } from "zustand";

// The API token is asked for once and kept for this browser tab's session only
// (sessionStorage): never in localStorage, a cookie or the bundle.
const KEY = "alphatransformer.token";

function readToken(): string | null {
  if (typeof window === "undefined") return null;
  try {
    return window.sessionStorage.getItem(KEY);
  } catch {
    return null;
  }
}

export interface AuthState {
  token: string | null;
  /** Set when the server refused a request for want of a (valid) token. */
  needed: boolean;
  /** The token dialog is open. */
  asking: boolean;
  setToken: (token: string) => void;
  forget: () => void;
  ask: () => void;
  cancel: () => void;
  refused: () => void;
}

export const useAuthStore = create<AuthState>((set) => ({
  token: readToken(),
  needed: false,
  asking: false,
  setToken: (token) => {
    const value = token.trim();
    try {
      window.sessionStorage.setItem(KEY, value);
    } catch {
      // storage disabled: the token lives in memory for this page only
    }
    set({ token: value, needed: false, asking: false });
  },
  forget: () => {
    try {
      window.sessionStorage.removeItem(KEY);
    } catch {
      // nothing stored
    }
    set({ token: null });
  },
  ask: () => set({ asking: true }),
  cancel: () => set({ asking: false }),
  refused: () => set({ needed: true, asking: true }),
}));

export function currentToken(): string | null {
  return useAuthStore.getState().token;
}
