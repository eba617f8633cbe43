import type { FullConfig } from "@playwright/test";

// The server may still be starting (cargo leptos end-to-end starts both at once):
// wait until Agora reports ready before the first test runs.
export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0].use.baseURL ?? "http://127.0.0.1:3000";
  const deadline = Date.now() + 120_000;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(new URL("/readyz", baseURL));
      if (response.ok) return;
      last = `HTTP ${response.status}: ${await response.text()}`;
    } catch (error) {
      last = String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`Agora at ${baseURL} did not become ready within 120 s (last: ${last})`);
}
