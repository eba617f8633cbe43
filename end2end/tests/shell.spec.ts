import { expect, test } from "./fixtures";
import { expectHydrated, gotoHydrated } from "./helpers";

test("home page explains Agora and shows the hub status", async ({ page }, testInfo) => {
  const response = await gotoHydrated(page, "/");
  expect(response?.status()).toBe(200);
  await expect(page).toHaveTitle("Agora");
  await expect(page.getByRole("heading", { level: 1 })).toContainText("training data and dashboards");
  await expect(page.getByRole("heading", { name: "What to do first" })).toBeVisible();

  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of ["Datasets", "Dashboards", "Monitoring"]) {
    await expect(nav.getByRole("link", { name })).toBeVisible();
  }
  await expect(page.getByTestId("version")).toHaveText(/^\d+\.\d+\.\d+/);

  const status = page.getByTestId("hub-status");
  await expect(status.getByText("All systems working")).toBeVisible();
  await expect(status.getByText("data_dir")).toBeVisible();

  await page.screenshot({ path: testInfo.outputPath("home.png"), fullPage: true });
  await testInfo.attach("home", { path: testInfo.outputPath("home.png"), contentType: "image/png" });
});

test("the theme toggle works after hydration and persists across reloads", async ({ page }) => {
  // A light system preference, and no colour transitions to wait out.
  await page.emulateMedia({ colorScheme: "light", reducedMotion: "reduce" });
  await gotoHydrated(page, "/");
  const html = page.locator("html");
  const toggle = page.getByTestId("theme-toggle");
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  await expect(html).toHaveAttribute("data-theme", "system");
  const systemLight = await background();

  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "light");
  await expect.poll(background).toBe(systemLight);

  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "dark");
  await expect.poll(background).not.toBe(systemLight);
  const dark = await background();

  // The server renders the remembered theme on the first byte.
  await page.reload();
  await expect(html).toHaveAttribute("data-theme", "dark");
  expect(await background()).toBe(dark);
  await expectHydrated(page);

  // Back to following the system, which a dark preference now turns dark.
  await toggle.click();
  await expect(html).toHaveAttribute("data-theme", "system");
  await expect.poll(background).toBe(systemLight);
  await page.emulateMedia({ colorScheme: "dark" });
  await expect.poll(background).toBe(dark);
});

test("navigation moves between pages client-side and marks the current one", async ({ page }) => {
  await gotoHydrated(page, "/");
  const nav = page.getByRole("navigation", { name: "Main" });

  await nav.getByRole("link", { name: "Datasets" }).click();
  await expect(page).toHaveURL(/\/datasets$/);
  await expect(page.getByRole("heading", { level: 1, name: "Datasets" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Datasets" })).toHaveAttribute("aria-current", "page");
  await expect(page).toHaveTitle("Datasets · Agora");

  await nav.getByRole("link", { name: "Monitoring" }).click();
  await expect(page).toHaveURL(/\/monitoring$/);
  await expect(page.getByRole("heading", { level: 1, name: "Monitoring" })).toBeVisible();

  await page.getByRole("link", { name: "Agora home" }).click();
  await expect(page).toHaveURL(/\/$/);
});

test("the header search box submits with the keyboard", async ({ page }) => {
  await gotoHydrated(page, "/");
  const search = page.getByTestId("header-search");
  await search.fill("split=train");
  await search.press("Enter");
  await expect(page).toHaveURL(/\/search\?q=split%3Dtrain$/);
  await expect(page.getByTestId("search-query")).toContainText("split=train");
});

test("an unknown page gets a 404 status and a way back", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByTestId("not-found")).toContainText("Page not found");
  await expect(page.getByTestId("not-found")).toContainText("/no/such/page");
  await expectHydrated(page);
  await page.getByRole("link", { name: "Go to the start page" }).click();
  await expect(page).toHaveURL(/\/$/);
});

test("the first Tab reaches the skip link", async ({ page }) => {
  await gotoHydrated(page, "/");
  await page.keyboard.press("Tab");
  const skip = page.getByRole("link", { name: "Skip to content" });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
});

test("the layout fits a phone screen", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 375, height: 740 });
  await gotoHydrated(page, "/");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await expect(page.getByTestId("header-search")).toBeVisible();
  await expect(page.getByTestId("theme-toggle")).toBeVisible();
  // Icon-only links keep their names for screen readers and keyboard users.
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const name of ["Datasets", "Dashboards", "Monitoring"]) {
    await expect(nav.getByRole("link", { name })).toBeVisible();
  }
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
  await page.screenshot({ path: testInfo.outputPath("home-phone.png"), fullPage: true });
  await testInfo.attach("home-phone", { path: testInfo.outputPath("home-phone.png"), contentType: "image/png" });
});
