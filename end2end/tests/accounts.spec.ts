import { expect, Page, test } from "./fixtures";
import { gotoHydrated, unique } from "./helpers";
import { mailedLink } from "./outbox";

/** Submits the log-in form with Enter (the keyboard path); callers check the outcome. */
async function submitLogIn(page: Page, username: string, password: string) {
  await gotoHydrated(page, "/login");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByLabel("Password").press("Enter");
}

test("register, verify by mail, log in, change password, manage API keys, log out", async ({ page }, testInfo) => {
  const shot = async (name: string) => {
    await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
    await testInfo.attach(name, { path: testInfo.outputPath(`${name}.png`), contentType: "image/png" });
  };
  const name = unique("e2e");
  const email = `${name}@example.com`;
  const password = "a long first password";

  // Register, with the rules checked as you type.
  await gotoHydrated(page, "/login");
  await page.getByTestId("register-link").click();
  await expect(page).toHaveURL(/\/register$/);
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill("short");
  await expect(page.getByTestId("error-password")).toContainText("at least 10");
  await shot("register-inline-error");
  await page.getByLabel("Password").fill(password);
  await expect(page.getByTestId("error-password")).toHaveCount(0);
  await page.getByTestId("register-submit").click();
  await expect(page.getByTestId("registered")).toContainText(email);

  // Not verified yet: a clear message and a way to get the link again.
  await submitLogIn(page, name, password);
  await expect(page.getByTestId("unverified")).toContainText("not verified");
  await page.getByTestId("resend-verification").click();
  await expect(page.getByTestId("notice")).toContainText("on its way");

  // The link from the mail verifies the address.
  const link = await mailedLink(email, "/verify-email");
  await page.goto(new URL(link).pathname + new URL(link).search);
  await expect(page.getByTestId("verify-email")).toContainText("is verified");

  await submitLogIn(page, name, password);
  await expect(page.getByTestId("current-user")).toHaveText(name);
  await expect(page).toHaveURL(/\/$/);

  // Settings: a new password.
  await page.getByTestId("account-menu-button").click();
  await page.getByRole("menuitem", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Password" })).toBeVisible();
  const passwordForm = page.getByTestId("password-form");
  await passwordForm.getByLabel("Current password").fill("not my password");
  await passwordForm.getByLabel("New password").fill("a long second password");
  await passwordForm.getByTestId("password-save").click();
  await expect(passwordForm.getByTestId("error-current_password")).toContainText("not your current password");
  await passwordForm.getByLabel("Current password").fill(password);
  await passwordForm.getByTestId("password-save").click();
  await expect(passwordForm.getByTestId("notice")).toContainText("Password changed");
  await shot("settings");

  // API keys: created, shown once, listed, revoked.
  await page.getByTestId("api-keys-link").click();
  await expect(page.getByText("No keys yet")).toBeVisible();
  await page.getByLabel("Name").fill("training cluster");
  await page.getByTestId("create-key").click();
  await expect(page.getByTestId("new-key-secret")).toHaveText(/^agk_[0-9a-f]{12}_[A-Za-z0-9]{40}$/);
  const row = page.getByTestId("key-row");
  await expect(row).toHaveCount(1);
  await expect(row).toHaveAttribute("data-status", "active");
  await expect(row).toContainText("training cluster");
  await shot("api-keys");
  await row.getByTestId("revoke-key").click();
  await expect(row).toHaveAttribute("data-status", "revoked");

  // Log out: the pages of the account ask to log in again.
  await page.getByTestId("account-menu-button").click();
  await page.getByTestId("logout").click();
  await expect(page.getByTestId("login-link")).toBeVisible();
  await gotoHydrated(page, "/settings");
  await expect(page.getByTestId("login-prompt")).toBeVisible();

  await submitLogIn(page, name, "a long second password");
  await expect(page.getByTestId("current-user")).toHaveText(name);
});

test("a wrong password gets one message that does not reveal the account", async ({ page }) => {
  await submitLogIn(page, unique("e2e"), "whatever whatever");
  await expect(page.getByTestId("form-error")).toContainText("wrong username or password");
});
