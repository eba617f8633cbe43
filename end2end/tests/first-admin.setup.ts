import * as fs from "fs";
import * as path from "path";
import { expect, test as setup } from "./fixtures";
import { gotoHydrated } from "./helpers";

// Runs before every other test (the chromium project depends on it), on the
// suite's new hub: nobody is its administrator until the setup code is given.
setup("a new hub's first administrator registers with the setup code it printed", async ({ page }) => {
  const dataDir = process.env.AGORA_DATA_DIR;
  expect(dataDir, "the suite knows the server's data directory (AGORA_DATA_DIR)").toBeTruthy();
  const code = fs.readFileSync(path.join(dataDir!, "setup-code"), "utf8").trim();

  await gotoHydrated(page, "/register");
  await expect(page.getByTestId("setup-code")).toContainText("no administrator yet");
  await page.getByLabel("Username").fill("founder");
  await page.getByLabel("Email").fill("founder@example.com");
  await page.getByLabel("Password", { exact: true }).fill("the founder's password");
  await page.getByLabel("Setup code").fill("WRONG-WRONG-WRONG-WRONG");
  await page.getByLabel("Setup code").press("Enter");
  await expect(page.getByTestId("error-setup_code")).toContainText("not the setup code");
  await page.getByLabel("Setup code").fill(code.toLowerCase());
  await page.getByLabel("Setup code").press("Enter");
  await expect(page.getByTestId("registered-admin")).toContainText("administrator");

  // Used once: the form no longer offers it.
  await gotoHydrated(page, "/register");
  await expect(page.getByTestId("register-form")).toBeVisible();
  await expect(page.getByTestId("setup-code")).toHaveCount(0);
});
