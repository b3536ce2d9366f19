import type { NextConfig } from "next";

// A static export served by the FastAPI server itself (same origin: no CORS, no second server).
// Nothing here may need the network at build time: no Google fonts, no remote images.
const config: NextConfig = {
  output: "export",
  trailingSlash: true,
  images: { unoptimized: true },
  reactStrictMode: true,
  poweredByHeader: false,
};

export default config;
