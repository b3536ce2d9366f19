"use client";
import { useEffect } from "react";
import { startLive } from "./connections";

/** Mount once per page: REST history, then one reconnecting client per stream. */
export function LiveConnections() {
  useEffect(() => startLive(), []);
  return null;
}
