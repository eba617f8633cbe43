import { defineConfig, devices } from "@playwright/test";

// The server is started by scripts/e2e, which points AGORA_E2E_BASE_URL at
// it; without it the suite expects a hub at 127.0.0.1:3000 (cargo leptos end-to-end).
const baseURL = process.env.AGORA_E2E_BASE_URL ?? "http://127.0.0.1:3000";

// Debian's Chromium (Playwright's own browser download is not available here).
const chromium = process.env.AGORA_CHROMIUM ?? "/usr/bin/chromium";

const browser = {
  ...devices["Desktop Chrome"],
  launchOptions: {
    executablePath: chromium,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
  },
};

export default defineConfig({
  testDir: "./tests",
  globalSetup: require.resolve("./global-setup"),
  outputDir: "./test-results",
  // Generous: a page's first hydration on a busy 2-core machine takes
  // seconds; tests wait on conditions, so a passing run is as fast as ever.
  timeout: 120_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
  },
  projects: [
    // The new hub's first administrator, before anything else runs.
    { name: "setup", testMatch: /\.setup\.ts$/, use: browser },
    { name: "chromium", dependencies: ["setup"], use: browser },
  ],
});
