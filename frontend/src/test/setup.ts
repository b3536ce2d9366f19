import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, beforeEach } from "vitest";
import { resetStores } from "./reset";

beforeEach(() => resetStores());

afterEach(() => {
  cleanup();
  window.sessionStorage.clear();
});

afterEach(() => {
  vi.unstubAllGlobals();
});
