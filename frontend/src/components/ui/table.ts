// Shared table classes: dense rows, numbers right-aligned in tabular figures.
export const tableWrap = "scroll-thin overflow-x-auto";
export const table = "w-full border-collapse text-left";
export const th =
  "h-8 border-b border-line px-2 text-[10px] font-semibold tracking-wider whitespace-nowrap text-muted uppercase first:pl-3 last:pr-3";
export const td = "h-8 border-b border-line/60 px-2 whitespace-nowrap first:pl-3 last:pr-3";
export const tdNum = `${td} num text-right`;
export const thNum = `${th} text-right`;
