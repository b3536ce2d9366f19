"use client";
import { useState } from "react";
import { Button } from "@/components/ui/controls";
import { Dialog } from "@/components/ui/dialog";
import { useAuthStore } from "@/lib/auth";

/** Asks for the API token once; it is kept in sessionStorage for this tab only. */
export function TokenDialog() {
  const asking = useAuthStore((s) => s.asking);
  const needed = useAuthStore((s) => s.needed);
  const setToken = useAuthStore((s) => s.setToken);
  const cancel = useAuthStore((s) => s.cancel);
  const [value, setValue] = useState("");
  return (
    <Dialog open={asking} title="API token" onClose={cancel} testId="token-dialog">
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim()) {
            setToken(value);
            setValue("");
          }
        }}
      >
        <p className="mb-3 text-muted">
          {needed ? "The server refused the request without a valid token. " : ""}
          Enter the API token (<code>api.token</code>, or the one <code>alphatransformer run</code> printed at start). It
          is kept for this browser tab only.
        </p>
        <input
          type="password"
          autoComplete="off"
          autoFocus
          aria-label="API token"
          data-testid="token-input"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          className="mb-4 h-8 w-full rounded border border-line bg-sunken px-2 font-mono text-fg"
        />
        <div className="flex justify-end gap-2">
          <Button onClick={cancel}>Cancel</Button>
          <button
            type="submit"
            data-testid="token-save"
            className="inline-flex h-7 items-center rounded border border-accent bg-accent px-2.5 text-xs font-medium text-white"
          >
            Save for this session
          </button>
        </div>
      </form>
    </Dialog>
  );
}
