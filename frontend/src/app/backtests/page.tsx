import { Backtests } from "@/features/backtests/Backtests";
import { TokenDialog } from "@/features/control/TokenDialog";

export const metadata = { title: "Backtests · AlphaTransformer" };

export default function Page() {
  return (
    <main className="mx-auto max-w-[1600px] p-2 sm:p-3">
      <Backtests />
      <TokenDialog />
    </main>
  );
}
