import { execFileSync } from "child_process";
import path from "path";
import { expect, test } from "@playwright/test";
import { gotoHydrated, logIn, unique } from "./helpers";

test("an administrator sees Agora's own endpoints, switches time slices and sees box plots", async ({ page, request }) => {
  const admin = unique("mon");
  const agora = path.resolve(__dirname, "../../target/debug/agora");
  execFileSync(agora, ["admin", "create-user", admin, `${admin}@example.com`, "--admin"], {
    input: "admin password here\n",
    env: { ...process.env, RUST_LOG: "error" },
  });
  for (let n = 0; n < 5; n++) {
    expect((await request.get("/readyz")).ok()).toBe(true);
  }
  await logIn(page, admin, "admin password here");
  await gotoHydrated(page, "/monitoring");
  await page.getByRole("link", { name: "Agora (this hub)" }).click();
  // Records are written every few seconds: reload until /readyz is listed.
  await expect(async () => {
    await page.reload();
    await expect(page.locator("[data-testid=endpoint-row]", { hasText: "GET /readyz" })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expect(page.locator("body[data-hydrated='true']")).toBeAttached();
  await expect(page.getByTestId("box-plots").locator("svg.main-svg").first()).toBeVisible();
  await expect(page.getByTestId("heatmap").locator("svg.main-svg").first()).toBeVisible();

  const series = page.getByTestId("series-plot");
  await expect(series.locator("svg.main-svg").first()).toBeVisible();
  await page.getByTestId("timeslice").selectOption("day");
  await expect(series.locator(".xtick text").first()).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
  await page.getByTestId("timeslice").selectOption("week");
  await expect(series.locator(".xtick text").first()).toHaveText(/^\d{4}-W\d{2}$/);
  await page.getByTestId("statistic").selectOption("visits_per_ip");
  await expect(page.getByTestId("visits-per-ip")).toContainText("127.0.0.1");
});
