import { execFileSync, spawn } from "child_process";
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import path from "path";
import { expect, test } from "./fixtures";
import { expectHydrated, gotoHydrated, logIn, unique } from "./helpers";

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
  // Administrators see where sources may be fetched from (the suite lists loopback).
  const policy = page.getByTestId("destination-policy");
  await policy.locator("summary").click();
  await expect(policy.getByTestId("policy-allowed")).toContainText("127.0.0.0/8");
  await expect(policy).toContainText("cloud metadata");
  await page.getByRole("link", { name: "Agora (this hub)" }).click();
  // Records are written every few seconds: reload until /readyz is listed.
  await expect(async () => {
    await page.reload();
    await expect(page.locator("[data-testid=endpoint-row]", { hasText: "GET /readyz" })).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await expectHydrated(page);
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

/**
 * Starts the Flask peer with flask-monitoring-dashboard 5.1.0 (installed by scripts/install-test-tools).
 * It picks its own port and prints `agora-peer-port PORT` once it listens.
 */
async function startPeer(): Promise<{ url: string; stop: () => void }> {
  const root = path.resolve(__dirname, "../..");
  const db = path.join(mkdtempSync(path.join(tmpdir(), "fmd-")), "fmd.db");
  const child = spawn(path.join(root, ".tools/fmd5/bin/python"), [path.join(root, "testkit/peers/peer_app.py"), db], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    if (stderr.length < 16_384) stderr += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Flask peer printed no port within 60 s:\n${stderr}`)), 60_000);
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const announced = /^agora-peer-port (\d+)$/m.exec(out);
      if (announced) {
        clearTimeout(timer);
        resolve(Number(announced[1]));
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the Flask peer exited (${code}) before it listened:\n${stderr}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

test("a person adds a flask-monitoring-dashboard service, sees its endpoints, slices and box plots, and adds an alert rule", async ({ page }) => {
  const peer = await startPeer();
  try {
    const user = unique("ops");
    execFileSync(path.resolve(__dirname, "../../target/debug/agora"), ["admin", "create-user", user, `${user}@example.com`], {
      input: "ops password here\n",
      env: { ...process.env, RUST_LOG: "error" },
    });
    await logIn(page, user, "ops password here");
    await gotoHydrated(page, "/monitoring");
    await expect(page.getByText("No monitored services yet")).toBeVisible();
    await page.getByTestId("add-source-open").click();
    await page.getByLabel("Name").fill("Shop API");
    await page.getByLabel("Dashboard address").fill(`${peer.url}/dashboard`);
    await page.getByLabel("Dashboard user").fill("admin");
    await page.getByLabel("Password").fill("wrong password");
    await page.getByTestId("add-source-submit").click();
    // Checked before saving: the field at fault says why.
    await expect(page.getByTestId("error-password")).toContainText("refused");
    await page.getByLabel("Password").fill("peer-pass");
    await page.getByTestId("add-source-submit").click();
    await expect(page.getByTestId("source-name")).toHaveText("Shop API");

    for (let n = 0; n < 4; n++) await fetch(`${peer.url}/hello`);
    for (let n = 0; n < 2; n++) await fetch(`${peer.url}/slow`);
    // Fetched every 2 s here (AGORA_MONITOR_FETCH_SECS), a few seconds behind.
    await expect(async () => {
      await page.reload();
      await expect(page.locator("[data-testid=endpoint-row]", { hasText: "slow" })).toBeVisible({ timeout: 1000 });
    }).toPass({ timeout: 40_000 });
    await expectHydrated(page);
    await expect(page.getByTestId("source-health")).toHaveText("fetching");
    await expect(page.locator("[data-testid=endpoint-row]", { hasText: "hello" })).toContainText("4");
    await expect(page.getByTestId("box-plots").locator("svg.main-svg").first()).toBeVisible();
    await expect(page.getByTestId("box-plots").locator(".xtick text")).toHaveText(["hello", "slow"]);

    const series = page.getByTestId("series-plot");
    await page.getByTestId("timeslice").selectOption("day");
    await expect(series.locator(".xtick text").first()).toHaveText(/^\d{4}-\d{2}-\d{2}$/);
    await page.getByTestId("timeslice").selectOption("month");
    await expect(series.locator(".xtick text").first()).toHaveText(/^\d{4}-\d{2}$/);

    // Switching an endpoint off takes it out of the box plots.
    await page.getByRole("checkbox", { name: "Show hello in charts" }).uncheck();
    await expect(page.getByTestId("box-plots").locator(".xtick text")).toHaveText(["slow"]);

    // An alert rule, checked inline first.
    await expect(page.getByTestId("no-rules")).toBeVisible();
    await page.getByLabel("of endpoint").fill("slow");
    await page.getByLabel("is above (ms, or % for error rate)").fill("5");
    await page.getByTestId("add-rule").click();
    await expect(page.getByTestId("rule")).toContainText("p99 of slow over 5 min above 5 ms");
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("rule")).toContainText("firing", { timeout: 1000 });
    }).toPass({ timeout: 20_000 });

    await gotoHydrated(page, "/monitoring");
    await expect(page.getByTestId("source-card")).toContainText("6 requests in the last 24 hours");
  } finally {
    peer.stop();
  }
});
