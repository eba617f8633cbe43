import { expect, Page } from "@playwright/test";

/**
 * Waits until the WASM app has hydrated the page. Compiling the debug WASM
 * (~20 MB) takes seconds on a busy 2-core machine (16 s was seen with builds
 * running beside the suite); the wait ends as soon as the page hydrates, so
 * a long deadline costs nothing.
 */
export async function expectHydrated(page: Page) {
  await expect(page.locator("body[data-hydrated='true']")).toBeAttached({ timeout: 60_000 });
}

/** Opens a page and waits until the WASM app has hydrated it. */
export async function gotoHydrated(page: Page, path: string) {
  const response = await page.goto(path);
  await expectHydrated(page);
  return response;
}

/** A name no other test run uses. */
export const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Logs in through the form and waits until the header names the user. */
export async function logIn(page: Page, username: string, password: string) {
  await gotoHydrated(page, "/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("current-user")).toHaveText(username);
}

/** Creates a dataset through the form and waits for its page. */
export async function createDataset(page: Page, name: string, description = "") {
  await gotoHydrated(page, "/datasets");
  await page.getByTestId("new-dataset-open").click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Description").fill(description);
  await page.getByTestId("create-dataset").click();
  await expect(page.getByTestId("dataset-name")).toHaveText(name);
}
