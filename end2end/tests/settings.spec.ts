import { execFileSync } from "child_process";
import path from "path";
import { expect, test } from "./fixtures";
import { gotoHydrated, logIn, unique } from "./helpers";
import { verifiedAccount } from "./outbox";

test("preferences follow the account, a new email waits for its link, and deleting the account removes it", async ({ page, request }) => {
  const name = unique("set");
  const password = "settings password";
  await verifiedAccount(request, name, password);
  await logIn(page, name, password);

  await gotoHydrated(page, "/settings");
  // Two quick changes: both must be kept, whatever order the saves land in.
  await page.getByTestId("pref-theme").selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  const soundSaved = page.waitForResponse(
    async (r) => r.url().endsWith("/api/fn/update_profile") && (await r.text()).includes('"upload_sound":false'),
  );
  await page.getByTestId("pref-sound").uncheck();
  await soundSaved;
  await expect(page.getByText("Saving…")).toHaveCount(0);
  await expect(page.getByTestId("preferences-saved")).toBeVisible();
  await gotoHydrated(page, "/settings");
  await expect(page.getByTestId("pref-theme")).toHaveValue("dark");
  await expect(page.getByTestId("pref-sound")).not.toBeChecked();

  const profile = page.getByTestId("profile-form");
  await profile.getByLabel("Email").fill(`${name}@new.example.com`);
  // A new address needs the password: whoever holds the session cannot redirect the mail.
  await profile.getByLabel("Your password, to change the address").fill("not the password");
  await profile.getByTestId("profile-save").click();
  await expect(profile.getByTestId("error-current_password")).toContainText("not your current password");
  await profile.getByLabel("Your password, to change the address").fill(password);
  await profile.getByTestId("profile-save").click();
  await expect(profile.getByTestId("pending-email")).toContainText(`${name}@new.example.com`);

  await page.getByTestId("delete-open").click();
  const form = page.getByTestId("delete-form");
  await form.getByLabel("Your password, to confirm").fill("not the password");
  await form.getByTestId("delete-submit").click();
  await expect(form.getByTestId("error-password")).toContainText("not your current password");
  await form.getByLabel("Your password, to confirm").fill(password);
  await form.getByTestId("delete-submit").click();
  await expect(page).toHaveURL(/\/goodbye\?job=/);
  await expect(page.getByTestId("job-progress")).toHaveAttribute("data-state", "done");
  await expect(page.getByTestId("login-link")).toBeVisible();

  await gotoHydrated(page, "/login");
  await page.getByLabel("Username").fill(name);
  await page.getByLabel("Password").fill(password);
  await page.getByTestId("login-submit").click();
  await expect(page.getByTestId("form-error")).toContainText("wrong username or password");
});

test("an admin made on the command line manages users on the Users page", async ({ page, request }) => {
  const admin = unique("adm");
  const user = unique("usr");
  const agora = path.resolve(__dirname, "../../target/debug/agora");
  const output = execFileSync(agora, ["admin", "create-user", admin, `${admin}@example.com`, "--admin"], {
    input: "admin password here\n",
    env: { ...process.env, RUST_LOG: "error" },
  }).toString();
  expect(output).toContain(`created ${admin}`);
  await verifiedAccount(request, user, "user password here");

  await logIn(page, admin, "admin password here");
  await page.getByTestId("account-menu-button").click();
  await page.getByTestId("admin-link").click();
  const row = page.locator(`[data-testid=user-row][data-username=${user}]`);
  await expect(row.getByTestId("user-status")).toHaveText("active");
  await row.getByTestId("toggle-disabled").click();
  await expect(row.getByTestId("user-status")).toHaveText("disabled");
  await row.getByTestId("toggle-role").click();
  await expect(row.getByTestId("user-role")).toHaveText("admin");

  const refused = await request.post("/api/v1/auth/token", { data: { username: user, password: "user password here" } });
  expect(refused.status()).toBe(403);
});
