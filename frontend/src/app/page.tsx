import { Dashboard } from "@/features/live/Dashboard";

export default function Page() {
  return <Dashboard />;
}
