import { expect, Page } from "@playwright/test";

/** Opens a page and waits until the WASM app has hydrated it. */
export async function gotoHydrated(page: Page, path: string) {
  const response = await page.goto(path);
  await expect(page.locator("body[data-hydrated='true']")).toBeAttached();
  return response;
}
