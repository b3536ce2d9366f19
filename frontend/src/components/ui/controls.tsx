import type { ButtonHTMLAttributes, ReactNode } from "react";

type Tone = "neutral" | "primary" | "danger" | "warn";

const TONES: Record<Tone, string> = {
  neutral: "border-line bg-sunken text-fg hover:border-muted",
  primary: "border-accent bg-accent text-white hover:opacity-90",
  danger: "border-down/60 bg-down/10 text-down hover:bg-down/20",
  warn: "border-warn/60 bg-warn/10 text-warn hover:bg-warn/20",
};

export function Button({
  tone = "neutral",
  className = "",
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { tone?: Tone }) {
  return (
    <button
      type="button"
      {...props}
      className={`inline-flex h-7 items-center justify-center rounded border px-2.5 text-xs font-medium whitespace-nowrap transition-colors disabled:cursor-not-allowed disabled:opacity-50 ${TONES[tone]} ${className}`}
    />
  );
}

export function Segmented<T extends string>({
  value,
  options,
  onChange,
  label,
}: {
  value: T;
  options: readonly { value: T; label: ReactNode }[];
  onChange: (value: T) => void;
  label: string;
}) {
  return (
    <div role="radiogroup" aria-label={label} className="inline-flex rounded border border-line bg-sunken p-0.5">
      {options.map((option) => (
        <button
          key={option.value}
          type="button"
          role="radio"
          aria-checked={value === option.value}
          onClick={() => onChange(option.value)}
          className={`h-6 rounded-sm px-2 text-[11px] font-semibold uppercase ${
            value === option.value ? "bg-panel text-fg shadow-sm" : "text-muted hover:text-fg"
          }`}
        >
          {option.label}
        </button>
      ))}
    </div>
  );
}

const BADGE_TONES = {
  up: "bg-up/15 text-up",
  down: "bg-down/15 text-down",
  warn: "bg-warn/15 text-warn",
  accent: "bg-accent/15 text-accent",
  muted: "bg-muted/15 text-muted",
} as const;

export type BadgeTone = keyof typeof BADGE_TONES;

export function Badge({ tone = "muted", children, title }: { tone?: BadgeTone; children: ReactNode; title?: string }) {
  return (
    <span
      title={title}
      className={`inline-flex h-5 items-center rounded px-1.5 text-[10px] font-bold tracking-wide whitespace-nowrap uppercase ${BADGE_TONES[tone]}`}
    >
      {children}
    </span>
  );
}
