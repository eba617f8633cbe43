import { expect, test } from "./fixtures";
import { createDataset, gotoHydrated, logIn, unique } from "./helpers";
import { verifiedAccount } from "./outbox";

test("create a dataset, share it read-only with a colleague, delete it", async ({ browser, request }, testInfo) => {
  const owner = unique("own");
  const viewer = unique("view");
  await verifiedAccount(request, owner, "owner password");
  await verifiedAccount(request, viewer, "viewer password");
  const name = `Cats ${unique("")}`;

  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  await createDataset(page, name, "pictures of cats");
  await expect(page.getByTestId("dataset-description")).toHaveText("pictures of cats");

  // Upload two files straight to storage, watch them finish, download one.
  const csv = "label,path\ncat,1.jpg\ndog,2.jpg\n";
  await page.getByTestId("upload-input").setInputFiles([
    { name: "labels.csv", mimeType: "text/csv", buffer: Buffer.from(csv) },
    { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("a few notes") },
  ]);
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(2);
  // A finished upload tells its size, time, rate and what checksums took.
  await expect(page.locator("[data-testid=upload-row][data-name='labels.csv']")).toContainText(/done · \d+ B in [\d.]+ s \(.*\/s; checksums [\d.]+ s\)/);
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

  // Bulk-label two files, then filter by that label through its facet.
  await page.locator("[data-testid=file-row][data-name='labels.csv']").getByTestId("select-file").check();
  await page.locator("[data-testid=file-row][data-name='notes.txt']").getByTestId("select-file").check();
  await page.getByTestId("bulk-label-input").fill("reviewed=yes");
  await page.getByTestId("bulk-add-selected").click();
  await expect(page.getByTestId("bulk-report")).toContainText("2 changed");
  await page.locator("[data-testid=facet][data-label='split=train']").click();
  await expect(page.getByTestId("active-filter")).toHaveText(["split=train ×"]);
  await expect(page.getByTestId("file-row")).toHaveCount(1);
  await expect(page.getByTestId("file-row").getByTestId("label-chip")).toHaveText(["split=train", "reviewed=yes"]);
  await page.getByTestId("clear-filters").click();
  await expect(page.getByTestId("file-row")).toHaveCount(2);

  // Preview the CSV as a table, read with one ranged GET from storage.
  const ranged = page.waitForRequest((r) => r.method() === "GET" && (r.headers()["range"] ?? "").startsWith("bytes=0-"));
  await page.locator("[data-testid=file-row][data-name='labels.csv']").getByTestId("preview-open").click();
  await ranged;
  const table = page.getByTestId("preview-table");
  await expect(table.locator("th")).toHaveText(["label", "path"]);
  await expect(table.locator("tbody tr")).toHaveCount(2);
  await expect(table.locator("tbody tr").first().locator("td")).toHaveText(["cat", "1.jpg"]);
  await page.getByTestId("preview-close").click();
  await expect(page.getByTestId("preview")).toHaveCount(0);

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

  // While the colleague watches, the owner uploads and labels: it shows up live.
  await page.getByTestId("upload-input").setInputFiles([{ name: "live.txt", mimeType: "text/plain", buffer: Buffer.from("now") }]);
  await expect(other.locator("[data-testid=file-row][data-name='live.txt']")).toBeVisible();
  await expect(other.getByTestId("activity-entry").first()).toContainText(`${owner} uploaded live.txt`);
  const live = page.locator("[data-testid=file-row][data-name='live.txt']");
  await live.getByTestId("delete-file").click();
  await live.getByTestId("delete-file-confirm").click();
  await expect(other.locator("[data-testid=file-row][data-name='live.txt']")).toHaveCount(0);
  await expect(other.getByTestId("activity-entry").first()).toContainText(`${owner} deleted live.txt`);

  // The owner deletes it; it is gone for both.
  await page.getByTestId("delete-dataset-open").click();
  await page.getByTestId("delete-dataset").click();
  await expect(page).toHaveURL(/\/datasets\?deleted=/);
  await expect(page.getByTestId("notice")).toContainText("is deleted");
  await expect(page.getByRole("link", { name })).toHaveCount(0);
  await gotoHydrated(other, "/datasets");
  await expect(other.getByRole("link", { name })).toHaveCount(0);
});

// The end-to-end suite runs with AGORA_MULTIPART_THRESHOLD=4 MiB (scripts/test-all).
test("a large file goes up in parts, survives a reload, and resumes where it stopped", async ({ browser, request }) => {
  const owner = unique("big");
  await verifiedAccount(request, owner, "owner password");
  const context = await browser.newContext();
  const page = await context.newPage();
  await logIn(page, owner, "owner password");
  await createDataset(page, `Models ${unique("")}`);

  // 20 MiB: parts of 8, 8 and 4 MiB. Storage "stalls" on parts 2 and 3.
  const big = Buffer.alloc(20 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
  const file = { name: "model.bin", mimeType: "application/octet-stream", buffer: big };
  const stalled = (url: URL) => ["2", "3"].includes(url.searchParams.get("partNumber") ?? "");
  await page.route(stalled, () => {});
  const firstPart = page.waitForResponse((r) => r.url().includes("partNumber=1") && r.request().method() === "PUT");
  await page.getByTestId("upload-input").setInputFiles([file]);
  await expect(page.locator("[data-testid=upload-row][data-state=running]")).toHaveCount(1);
  expect((await firstPart).ok()).toBe(true);

  // A reload mid-upload: the page lists the upload with what storage holds.
  // (The stall stays until then: the reload drops the stalled requests.)
  const url = page.url();
  await gotoHydrated(page, url);
  const unfinished = page.locator("[data-testid=unfinished-row][data-name='model.bin']");
  await expect(unfinished).toContainText("8.0 MiB of 20.0 MiB stored");
  await page.unroute(stalled);
  const resumed = page.waitForRequest((r) => r.url().includes("partNumber=") && r.method() === "PUT");
  await unfinished.getByTestId("resume-input").setInputFiles([file]);
  expect(new URL((await resumed).url()).searchParams.get("partNumber")).not.toBe("1");
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(1);
  await expect(page.getByTestId("unfinished-uploads")).toHaveCount(0);
  const row = page.locator("[data-testid=file-row][data-name='model.bin']");
  await expect(row).toContainText("20.0 MiB");

  const downloaded = page.waitForEvent("download");
  await row.getByTestId("download").click();
  const { readFile } = await import("fs/promises");
  expect((await readFile(await (await downloaded).path())).equals(big)).toBe(true);

  // The same name again: asked to replace or keep both.
  await page.getByTestId("upload-input").setInputFiles([{ name: "model.bin", mimeType: "text/plain", buffer: Buffer.from("v2") }]);
  const conflict = page.locator("[data-testid=upload-row][data-state=failed]");
  await expect(conflict).toContainText("exists already");
  await conflict.getByTestId("upload-keep-both").click();
  await expect(page.locator("[data-testid=file-row][data-name='model (1).bin']")).toBeVisible();

  // Cancelling a running upload discards what was sent.
  await page.route(stalled, () => {});
  await page.getByTestId("upload-input").setInputFiles([{ ...file, name: "other.bin" }]);
  const running = page.locator("[data-testid=upload-row][data-name='other.bin']");
  await expect(running).toHaveAttribute("data-state", "running");
  const cancelled = page.waitForResponse((r) => r.url().includes("/api/fn/cancel_upload"));
  await running.getByTestId("upload-cancel").click();
  await expect(running).toHaveAttribute("data-state", "cancelled");
  expect((await cancelled).ok()).toBe(true);
  const fresh = await context.newPage();
  await gotoHydrated(fresh, url);
  await expect(fresh.getByTestId("files-table")).toBeVisible();
  await expect(fresh.locator("[data-testid=file-row][data-name='other.bin']")).toHaveCount(0);
  await expect(fresh.getByTestId("unfinished-uploads")).toHaveCount(0);
});

// Each part's MD5 is declared and signed into its URL: bytes changed on
// the way are refused by storage, and the page sends that part again.
test("a part changed in flight is refused by storage and sent again", async ({ browser, request }) => {
  const owner = unique("tamper");
  await verifiedAccount(request, owner, "owner password");
  const page = await (await browser.newContext()).newPage();
  await logIn(page, owner, "owner password");
  await createDataset(page, `Checked ${unique("")}`);

  // 12 MiB: parts of 8 and 4 MiB.
  const big = Buffer.alloc(12 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i ^ 0x5a5a5a5a, i);
  const partTwo = (url: URL) => url.searchParams.get("partNumber") === "2";
  let sent = 0;
  await page.route(partTwo, async (route) => {
    if (route.request().method() !== "PUT") return route.continue();
    sent += 1;
    if (sent > 1) return route.continue();
    // Part 2's bytes with one changed: the size its URL signs, other bytes.
    const tampered = Buffer.from(big.subarray(8 * 1024 * 1024));
    tampered[100] ^= 0xff;
    await route.continue({ postData: tampered });
  });
  const refused = page.waitForResponse((r) => partTwo(new URL(r.url())) && r.request().method() === "PUT");
  await page.getByTestId("upload-input").setInputFiles([{ name: "weights.bin", mimeType: "application/octet-stream", buffer: big }]);
  const first = await refused;
  expect(first.status()).toBe(400);
  expect(await first.text()).toContain("BadDigest");
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(1);
  expect(sent).toBe(2);

  const row = page.locator("[data-testid=file-row][data-name='weights.bin']");
  await expect(row).toContainText("12.0 MiB");
  const downloaded = page.waitForEvent("download");
  await row.getByTestId("download").click();
  const { readFile } = await import("fs/promises");
  expect((await readFile(await (await downloaded).path())).equals(big)).toBe(true);
});

test("a label typed in the header search finds the file, which opens in its dataset", async ({ browser, request }) => {
  const owner = unique("find");
  await verifiedAccount(request, owner, "owner password");
  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  const name = `Zebras ${unique("")}`;
  await createDataset(page, name);
  await page.getByTestId("upload-input").setInputFiles([{ name: "stripes.csv", mimeType: "text/csv", buffer: Buffer.from("a,b\n") }]);
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(1);
  const row = page.locator("[data-testid=file-row][data-name='stripes.csv']");
  await row.getByTestId("edit-labels").click();
  const label = `herd=${unique("h")}`;
  await row.getByTestId("label-input").fill(label);
  await row.getByTestId("label-save").click();
  await expect(row.getByTestId("label-chip")).toHaveText([label]);

  // An image gets a thumbnail in the background, shown in the grid view.
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAQAAAADCAIAAAA7ljmRAAAAEElEQVR4nGP4z8AARww4OQD1MQv1NXv7ggAAAABJRU5ErkJggg==", "base64");
  await page.getByTestId("upload-input").setInputFiles([{ name: "zebra.png", mimeType: "image/png", buffer: png }]);
  await expect(page.locator("[data-testid=upload-row][data-state=done]")).toHaveCount(2);
  await page.getByTestId("view-toggle").click();
  const thumb = page.locator("[data-testid=grid-card][data-name='zebra.png']").getByTestId("thumbnail");
  await expect(thumb).toBeVisible();
  await expect.poll(async () => {
    await page.getByTestId("view-toggle").click();
    await page.getByTestId("view-toggle").click();
    return thumb.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth);
  }).toBe(4);
  await page.getByTestId("view-toggle").click();

  // Instant results while typing, grouped; the file opens in its folder.
  await page.getByTestId("header-search").fill(`label:${label}`);
  const hit = page.getByTestId("instant-results").getByTestId("instant-hit");
  await expect(hit).toHaveCount(1);
  await expect(hit).toContainText("stripes.csv");
  await hit.click();
  await expect(page.getByTestId("dataset-name")).toHaveText(name);
  await expect(page.locator("[data-testid=file-row][data-name='stripes.csv']")).toBeVisible();

  // The full page: tabs with counts, highlighted words, a helpful empty state.
  await page.getByTestId("header-search").fill("stripes");
  await page.getByTestId("header-search").press("Enter");
  await expect(page.getByTestId("search-hit").first().locator("mark")).toHaveText("stripes");
  await expect(page.getByTestId("tab-files")).toContainText("1");
  await page.getByTestId("search-input").fill("stirpes");
  await page.getByTestId("search-submit").click();
  await expect(page.getByTestId("search-hit")).toHaveCount(1);
  await page.getByTestId("search-input").fill("nothing-like-this-anywhere");
  await page.getByTestId("search-submit").click();
  await expect(page.getByTestId("empty-state")).toContainText("Nothing found");
});

test("a dataset changes hands only when the recipient accepts the offer", async ({ browser, request }) => {
  const owner = unique("giver");
  const taker = unique("taker");
  await verifiedAccount(request, owner, "owner password");
  await verifiedAccount(request, taker, "taker password");
  const name = `Handover ${unique("")}`;

  const page = await browser.newPage();
  await logIn(page, owner, "owner password");
  await createDataset(page, name);
  const transfer = page.getByTestId("transfer");
  // Keyboard path: type the name and press Enter.
  await transfer.getByLabel("New owner (username)").fill("nobody-is-called-this");
  await transfer.getByLabel("New owner (username)").press("Enter");
  await expect(page.getByTestId("error-transfer_username")).toContainText("no account");
  await transfer.getByLabel("New owner (username)").fill(taker);
  await transfer.getByLabel("New owner (username)").press("Enter");
  await expect(page.getByTestId("offered-to")).toContainText(taker);
  await expect(page.getByTestId("member-row").first()).toHaveAttribute("data-username", owner);

  const other = await browser.newPage();
  await logIn(other, taker, "taker password");
  await gotoHydrated(other, "/datasets");
  const offer = other.getByTestId("transfer-offer");
  await expect(offer).toContainText(name);
  await expect(offer).toContainText(owner);
  await offer.getByTestId("accept-offer").click();
  await expect(other.getByTestId("dataset-name")).toHaveText(name);
  await expect(other.getByTestId("member-row").first()).toHaveAttribute("data-username", taker);
  await expect(other.locator(`[data-testid=member-row][data-username="${owner}"] [data-testid=member-role]`)).toContainText("editor");

  // The former owner sees the change, and no offer remains anywhere.
  await page.reload();
  await expect(page.getByTestId("transfer")).toHaveCount(0);
  await gotoHydrated(other, "/datasets");
  await expect(other.getByTestId("transfer-offers")).toHaveCount(0);
});
