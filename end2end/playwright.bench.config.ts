import base from "./playwright.config";
import { defineConfig } from "@playwright/test";

// Browser benchmarks (scripts/bench-browser): one at a time, nothing else
// running, long timeouts; the figures go to the console.
const chromium = base.projects?.find((p) => p.name === "chromium")?.use ?? {};

export default defineConfig({
  ...base,
  testDir: "./bench",
  testMatch: /\.bench\.ts$/,
  fullyParallel: false,
  workers: 1,
  timeout: 40 * 60_000,
  reporter: [["list"]],
  projects: [{ name: "chromium", use: chromium }],
});
