"use client";
import { useEffect, useRef, type ReactNode } from "react";

/** A modal on the native <dialog> element: focus trapping and Escape come with it. */
export function Dialog({
  open,
  title,
  onClose,
  children,
  testId,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      if (typeof dialog.showModal === "function") dialog.showModal();
      else dialog.setAttribute("open", "");
    } else if (!open && dialog.open) {
      if (typeof dialog.close === "function") dialog.close();
      else dialog.removeAttribute("open");
    }
  }, [open]);
  return (
    <dialog
      ref={ref}
      data-testid={testId}
      aria-label={title}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
      className="m-auto w-[min(28rem,calc(100vw-2rem))] rounded-md border border-line bg-panel p-0 text-fg shadow-xl backdrop:bg-black/50"
    >
      {open && (
        <div className="p-4">
          <h2 className="mb-2 text-sm font-semibold">{title}</h2>
          {children}
        </div>
      )}
    </dialog>
  );
}
