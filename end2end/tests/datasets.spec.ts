import { expect, test } from "@playwright/test";
import { gotoHydrated, logIn, unique } from "./helpers";
import { verifiedAccount } from "./outbox";

test("create a dataset, share it read-only with a colleague, delete it", async ({ browser, request }, testInfo) => {
  const owner = unique("own");
  const viewer = unique("view");
  await verifiedAccount(request, owner, "owner password");
  await verifiedAccount(request, viewer, "viewer password");
  const name = `Cats ${unique("")}`;

  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  await gotoHydrated(page, "/datasets");
  await page.getByTestId("new-dataset-open").click();
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Description").fill("pictures of cats");
  await page.getByTestId("create-dataset").click();
  await expect(page.getByTestId("dataset-name")).toHaveText(name);
  await expect(page.getByTestId("dataset-description")).toHaveText("pictures of cats");

  // Upload two files straight to storage, watch them finish, download one.
  const csv = "label,path\ncat,1.jpg\ndog,2.jpg\n";
  await page.getByTestId("upload-input").setInputFiles([
    { name: "labels.csv", mimeType: "text/csv", buffer: Buffer.from(csv) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("a few notes") },
  ]);
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(2);
  await expect(page.getByTestId("overall-progress")).toHaveAttribute("value", String(csv.length + "a few notes".length));
  await expect(page.locator("[data-testid=file-row][data-name='labels.csv']")).toBeVisible();
  const downloaded = page.waitForEvent("download");
  await page.locator("[data-testid=file-row][data-name='labels.csv']").getByTestId("download").click();
  const download = await downloaded;
  expect(download.suggestedFilename()).toBe("labels.csv");
  const { readFile } = await import("fs/promises");
  expect((await readFile(await download.path())).toString()).toBe(csv);

  // Label a file: its S3 tags, with AWS's rules explained when broken.
  const notes = page.locator("[data-testid=file-row][data-name='notes.txt']");
  await notes.getByTestId("edit-labels").click();
  await notes.getByTestId("label-input").fill("aws:secret=1");
  await notes.getByTestId("label-save").click();
  await expect(notes.getByTestId("label-error")).toContainText("aws:");
  await notes.getByTestId("label-input").fill("split=train, reviewed");
  await notes.getByTestId("label-save").click();
  await expect(page.locator("[data-testid=file-row][data-name='notes.txt']").getByTestId("label-chip")).toHaveText(["split=train", "reviewed"]);
  await expect(page.getByTestId("activity-entry").first()).toContainText(`${owner} labelled notes.txt: split=train, reviewed`);
  await expect(page.getByTestId("activity")).toContainText("uploaded labels.csv");

  const share = page.getByTestId("share-form");
  await share.getByLabel("Share with (username)").fill("nobody-by-that-name");
  await share.getByTestId("share-submit").click();
  await expect(share.getByTestId("error-share_username").or(share.getByTestId("form-error"))).toContainText("no account");
  await share.getByLabel("Share with (username)").fill(viewer);
  await share.getByTestId("share-submit").click();
  await expect(page.locator(`[data-testid=member-row][data-username=${viewer}]`).getByTestId("member-role")).toHaveText("viewer");
  await page.screenshot({ path: testInfo.outputPath("dataset.png"), fullPage: true });
  await testInfo.attach("dataset", { path: testInfo.outputPath("dataset.png"), contentType: "image/png" });

  // The colleague sees it, read-only.
  const other = await browser.newPage();
  await logIn(other, viewer, "viewer password");
  await gotoHydrated(other, "/datasets");
  await other.getByRole("link", { name }).click();
  await expect(other.getByTestId("dataset-name")).toHaveText(name);
  await expect(other.getByText("you can view")).toBeVisible();
  await expect(other.getByTestId("dataset-settings")).toHaveCount(0);
  await expect(other.getByTestId("share-form")).toHaveCount(0);
  await expect(other.getByTestId("upload-input")).toHaveCount(0);
  await expect(other.locator("[data-testid=file-row][data-name='notes.txt']")).toBeVisible();

  // The owner deletes it; it is gone for both.
  await page.getByTestId("delete-dataset-open").click();
  await page.getByTestId("delete-dataset").click();
  await expect(page).toHaveURL(/\/datasets\?deleted=/);
  await expect(page.getByTestId("notice")).toContainText("is deleted");
  await expect(page.getByRole("link", { name })).toHaveCount(0);
  await gotoHydrated(other, "/datasets");
  await expect(other.getByRole("link", { name })).toHaveCount(0);
});
