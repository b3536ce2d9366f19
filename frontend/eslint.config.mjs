import nextVitals from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

const config = [
  ...nextVitals,
  ...nextTs,
  {
    ignores: [".next/**", "out/**", "node_modules/**", "src/api/schema.d.ts", "test-results/**",
      "playwright-report/**", "e2e-artifacts/**", "next-env.d.ts"],
  },
];

export default config;
