"use client";
import { useId, type ReactNode } from "react";

export interface TabSpec<T extends string> {
  id: T;
  label: ReactNode;
}

export function Tabs<T extends string>({
  tabs,
  active,
  onChange,
  children,
  actions,
}: {
  tabs: readonly TabSpec<T>[];
  active: T;
  onChange: (id: T) => void;
  children: ReactNode;
  actions?: ReactNode;
}) {
  const base = useId();
  return (
    <section className="min-w-0 rounded-md border border-line bg-panel">
      <div className="flex flex-wrap items-center justify-between gap-2 border-b border-line px-1">
        <div role="tablist" className="scroll-thin flex min-w-0 overflow-x-auto">
          {tabs.map((tab) => (
            <button
              key={tab.id}
              id={`${base}-${tab.id}`}
              role="tab"
              type="button"
              aria-selected={active === tab.id}
              aria-controls={`${base}-panel`}
              onClick={() => onChange(tab.id)}
              className={`-mb-px h-9 border-b-2 px-3 text-[11px] font-semibold tracking-wider whitespace-nowrap uppercase ${
                active === tab.id ? "border-accent text-fg" : "border-transparent text-muted hover:text-fg"
              }`}
            >
              {tab.label}
            </button>
          ))}
        </div>
        {actions && <div className="flex items-center gap-1.5 px-2 py-1">{actions}</div>}
      </div>
      <div id={`${base}-panel`} role="tabpanel" aria-labelledby={`${base}-${active}`}>
        {children}
      </div>
    </section>
  );
}
